"""Loader for the bundled PBMC single-cell data set."""

from importlib import resources

import numpy as np
import scipy.sparse as sp
from sklearn.utils import Bunch


def load_pbmc68k():
    """Load 700 PBMC cells x 765 genes: genes as signals on the cell graph.

    A real single-cell RNA-seq sample (a subsample of 10x Genomics' "Fresh 68k
    PBMCs", as shipped by scanpy, BSD-3-Clause). Each gene is a nonnegative
    signal (log-normalised expression) on the 700-node cell kNN graph.

    Returns
    -------
    data : sklearn.utils.Bunch
        With fields

        graph : scipy.sparse.csr_matrix of shape (700, 700)
            Symmetric weighted cell kNN graph (UMAP connectivities).
        signals : scipy.sparse.csr_matrix of shape (765, 700)
            Gene signals, one row per gene (genes x cells), float32.

        gene_names : ndarray of str, shape (765,)

        cell_labels : ndarray of str, shape (700,)
            Cell type of each cell (10 types).

        cell_names : ndarray of str, shape (700,)

    Examples
    --------
    >>> from graphsig.datasets import load_pbmc68k
    >>> data = load_pbmc68k()
    >>> data.graph.shape, data.signals.shape
    ((700, 700), (765, 700))
    >>> data.gene_names[:3].tolist()
    ['HES4', 'TNFRSF4', 'SSU72']
    """
    path = resources.files("graphsig.data").joinpath("pbmc68k_reduced.npz")
    with resources.as_file(path) as p, np.load(p) as f:
        n_cells, n_genes = (int(v) for v in f["shape"])
        graph = sp.csr_matrix(
            (f["graph_data"], f["graph_indices"], f["graph_indptr"]),
            shape=(n_cells, n_cells),
        )
        expression = sp.csr_matrix(
            (f["expr_data"], f["expr_indices"], f["expr_indptr"]),
            shape=(n_cells, n_genes),
        )
        gene_names = f["gene_names"].astype(str)
        cell_labels = f["cell_labels"].astype(str)
        cell_names = f["cell_names"].astype(str)
    return Bunch(
        graph=graph,
        signals=expression.T.tocsr().astype(np.float32),
        gene_names=gene_names,
        cell_labels=cell_labels,
        cell_names=cell_names,
    )
