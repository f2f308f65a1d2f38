"""Embeddings and nearest neighbours on a Dask cluster.

The transform of a fitted :class:`~graphsig.DiffusionEMD` (or
:class:`~graphsig.UnbalancedDiffusionEMD`) is row-wise: each signal's
embedding depends only on that signal and the fitted state. :func:`embed`
therefore sends the fitted estimator, with its diffusion operator, once to
every worker and transforms the row chunks of the signals there;
:func:`kneighbors` runs the exact L1 nearest-neighbour search block by block
over row chunks of an embedding too large for one process. Both give
exactly (bitwise) the results of the serial functions.

Needs Dask: ``pip install graphsig[dask]``. This module is not imported by
``import graphsig``.

Examples
--------
Without a cluster, Dask's local scheduler runs the tasks in threads:

>>> import numpy as np
>>> from graphsig import DiffusionEMD
>>> from graphsig.graphs import grid_graph
>>> from graphsig.parallel import embed, kneighbors
>>> X = np.random.default_rng(0).uniform(size=(100, 64))
>>> est = DiffusionEMD(grid_graph(8, 8)).fit(X)
>>> emb = embed(est, X, chunk_size=25)
>>> bool((emb.compute() == est.transform(X)).all())
True
>>> dist, ind = kneighbors(emb, n_neighbors=3, exclude_self=True)
>>> ind.shape
(100, 3)

On a cluster, connect a client first (it becomes the default one):

>>> from distributed import Client
>>> client = Client("tcp://scheduler:8786")  # doctest: +SKIP
>>> emb = embed(est, X).compute()  # doctest: +SKIP
"""

from ._dask import connect, embed, kneighbors

__all__ = ["connect", "embed", "kneighbors"]
