"""Gene modules of the PBMC data from the earth mover's distance between genes on the cell graph.

Each of the 765 genes is a signal on the 700-cell kNN graph. Genes expressed on the same
cells are near by EMD; their kNN graph gives a diffusion map of the genes, whose clusters
are gene modules, and each module's activity on the cells shows where the programme runs.
Prints the modules with their most representative genes and the cell type where each is
most active, and saves a figure if matplotlib is installed. Run::

    python examples/pbmc_gene_modules.py [figure.png]
"""

import os
import sys
import tempfile
import time

import anndata as ad
import numpy as np
import pandas as pd

import graphsig.sc
from graphsig.datasets import load_pbmc68k

start = time.perf_counter()
data = load_pbmc68k()
adata = ad.AnnData(
    X=data.signals.T.tocsr(),                          # cells x genes, log-normalised
    obs=pd.DataFrame({"cell_type": pd.Categorical(data.cell_labels)}, index=data.cell_names),
    var=pd.DataFrame(index=data.gene_names),
)
adata.obsp["connectivities"] = data.graph           # the cell kNN graph

graphsig.sc.emd_neighbors(adata)                    # genes x genes EMD kNN graph
graphsig.sc.gene_diffusion_map(adata, n_components=10)
graphsig.sc.gene_modules(adata)                     # number of modules from the eigengap
graphsig.sc.module_activity(adata)
print(f"{adata.n_vars} genes on {adata.n_obs} cells: "
      f"{adata.uns['graphsig_module']['n_modules']} modules in {time.perf_counter() - start:.1f} s")

# the genes whose expression follows their module's activity most closely
expression = adata.X.toarray()
activity = adata.obsm["graphsig_module_activity"]
modules = adata.var["graphsig_module"].to_numpy()
by_type = pd.DataFrame(activity, index=adata.obs["cell_type"].to_numpy()).groupby(level=0).mean()
rows = []
for j, module in enumerate(adata.uns["graphsig_module_activity"]["modules"]):
    genes = np.flatnonzero(modules == module)
    centred = expression[:, genes] - expression[:, genes].mean(axis=0)
    target = activity[:, j] - activity[:, j].mean()
    correlation = centred.T @ target / (
        np.linalg.norm(centred, axis=0) * np.linalg.norm(target) + 1e-12)
    top = adata.var_names[genes[np.argsort(-correlation, kind="stable")[:6]]]
    rows.append((module, len(genes), ", ".join(top), by_type[j].idxmax()))

print("\n| module | genes | top genes | most active in |\n|---|---|---|---|")
for module, n_genes, top, cell_type in rows:
    print(f"| {module} | {n_genes} | {top} | {cell_type} |")

try:
    import matplotlib

    matplotlib.use("Agg")
except ImportError:
    print("\nmatplotlib is not installed: no figure")
else:
    from sklearn.manifold import spectral_embedding

    # a 2-D layout of the cells from their graph, for the activity panels
    adata.obsm["X_spectral"] = spectral_embedding(
        adata.obsp["connectivities"], n_components=2, random_state=0, drop_first=True)
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        tempfile.mkdtemp(), "pbmc_gene_modules.png")
    graphsig.sc.pl.gene_embedding(adata, genes=["CD79A", "NKG7", "LYZ", "CD3D"]).figure.savefig(
        path.replace(".png", "_genes.png"), dpi=120)
    graphsig.sc.pl.module_activity(adata, basis="spectral").savefig(path, dpi=120)
    print(f"\nfigures: {path} and {path.replace('.png', '_genes.png')}")
