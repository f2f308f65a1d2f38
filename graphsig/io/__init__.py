"""Graphs and signals on disk: read, checked, embedded in batches, written safely.

:func:`open_signals` opens a signal matrix (one signal per row) stored as a
dense ``.npy`` (memory-mapped), a CSR matrix saved by
:func:`scipy.sparse.save_npz`, a dense array in a ``.npz`` archive, an
``.h5ad`` (or HDF5) file, or any array supporting row slices, and reads it
batch by batch. :func:`transform_file` embeds such signals with a fitted
:class:`~graphsig.DiffusionEMD` one batch at a time, with a progress bar.
:func:`read_graph` and :func:`read_signals` read a whole graph or signal
matrix (also Matrix Market ``.mtx`` and AnnData ``.h5ad``), as the
``graphsig embed`` command does.

Every reader checks what it reads: a corrupted or truncated file, or a
sparse matrix with out-of-range indices, raises a ValueError naming the file
and the problem. Outputs (:func:`transform_file` with ``output``,
:func:`save_embedding`) are written under a temporary name and renamed into
place once complete, and an output that is one of the input files is
refused (:func:`check_output`).

Examples
--------
>>> import numpy as np, scipy.sparse as sp, tempfile, os
>>> from graphsig import DiffusionEMD
>>> from graphsig.graphs import grid_graph
>>> from graphsig.io import open_signals, transform_file
>>> dense = np.random.default_rng(0).uniform(size=(30, 16))
>>> dense[dense < 0.7] = 0.0
>>> dense[:, 0] += 1.0                   # every signal has mass
>>> X = sp.csr_matrix(dense)
>>> path = os.path.join(tempfile.mkdtemp(), "signals.npz")
>>> sp.save_npz(path, X)
>>> est = DiffusionEMD(grid_graph(4, 4)).fit(X)
>>> emb = transform_file(est, path, batch_size=8, progress=False)
>>> emb.shape == (30, est.n_features_out_)
True
>>> sp.issparse(emb), (emb != est.transform(X)).nnz   # sparse signals, sparse embedding
(True, 0)
"""

from ._readers import SignalReader, open_signals, read_graph, read_signals
from ._stream import transform_file
from ._writers import check_output, save_embedding

__all__ = [
    "SignalReader", "check_output", "open_signals", "read_graph", "read_signals",
    "save_embedding", "transform_file",
]
