"""Single-cell data: graph EMD between genes (or cells) of an AnnData, and gene programmes.

Functions follow scanpy's conventions: they take an :class:`anndata.AnnData`
(cells x genes), write their results into it (or into a copy, returned, with
``copy=True``) and record their parameters in ``adata.uns``.

- :func:`emd_neighbors`: each gene a signal on the cell graph; the kNN graph
  of the genes under the earth mover's distance, in scanpy's neighbors layout.
- :func:`gene_diffusion_map`, :func:`gene_modules`, :func:`module_activity`:
  gene programmes from that graph, and their activity on the cells.
- :mod:`graphsig.sc.pl`: plots (matplotlib).

Needs ``pip install 'graphsig[sc]'`` (anndata; matplotlib for the plots).
Importing this module loads neither.
"""

from .._lazy import attach

_LAZY = {
    "emd_neighbors": "graphsig.sc._neighbors",
    "gene_diffusion_map": "graphsig.sc._modules",
    "gene_modules": "graphsig.sc._modules",
    "module_activity": "graphsig.sc._modules",
}

__getattr__, __dir__, __all__ = attach(__name__, _LAZY, {"pl"})
