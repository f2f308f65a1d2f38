"""Rebuild ``pbmc68k_reduced.npz`` from the AnnData file ``pbmc68k_reduced.h5ad``.

Usage::

    python data/make_pbmc68k.py path/to/pbmc68k_reduced.h5ad

Only numpy, scipy and h5py are needed (no anndata). The output keeps what
graphsig uses: the cell kNN graph (UMAP connectivities), the log-normalised
expression ``raw.X`` (cells x genes, nonnegative), gene names and the cell
type labels.
"""

import sys
from pathlib import Path

import numpy as np
import scipy.sparse as sp


def _csr(group, shape):
    return sp.csr_matrix(
        (group["data"][()], group["indices"][()], group["indptr"][()]), shape=shape
    )


def main(path):
    import h5py

    with h5py.File(path, "r") as f:
        n_cells = f["obs"].shape[0]
        n_genes = f["raw.var"].shape[0]
        graph = _csr(f["uns/neighbors/connectivities"], (n_cells, n_cells))
        expression = _csr(f["raw.X"], (n_cells, n_genes))
        gene_names = np.array([g.decode() for g in f["raw.var"]["index"]])
        categories = np.array([c.decode() for c in f["uns/bulk_labels_categories"][()]])
        labels = categories[f["obs"]["bulk_labels"].astype(np.int64)]
        cell_names = np.array([c.decode() for c in f["obs"]["index"]])
    graph.sum_duplicates()
    expression.sum_duplicates()
    out = Path(__file__).with_name("pbmc68k_reduced.npz")
    np.savez_compressed(
        out,
        graph_data=graph.data,
        graph_indices=graph.indices,
        graph_indptr=graph.indptr,
        expr_data=expression.data,
        expr_indices=expression.indices,
        expr_indptr=expression.indptr,
        shape=np.array([n_cells, n_genes]),
        gene_names=gene_names,
        cell_names=cell_names,
        cell_labels=labels,
    )
    print(f"wrote {out}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/pbmc68k_reduced.h5ad")
