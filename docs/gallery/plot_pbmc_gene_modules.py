"""
Gene neighbourhoods and modules of PBMC cells
==============================================

Each of the 765 genes of the bundled PBMC data is a signal on the 700-cell kNN
graph. :func:`graphsig.sc.emd_neighbors` links each gene to its nearest genes
under the earth mover's distance on the cell graph, the kNN graph of the genes
gives a diffusion map (:func:`graphsig.sc.gene_diffusion_map`), its clusters
are gene modules (:func:`graphsig.sc.gene_modules`), and each module's
activity on the cells (:func:`graphsig.sc.module_activity`) shows where the
programme runs.
"""

import anndata as ad
import matplotlib.pyplot as plt
import pandas as pd
from sklearn.manifold import spectral_embedding

import graphsig.sc
from graphsig.datasets import load_pbmc68k

data = load_pbmc68k()
adata = ad.AnnData(
    X=data.signals.T.tocsr(),  # cells x genes, log-normalised
    obs=pd.DataFrame({"cell_type": pd.Categorical(data.cell_labels)}, index=data.cell_names),
    var=pd.DataFrame(index=data.gene_names),
)
adata.obsp["connectivities"] = data.graph  # the cell kNN graph
adata

# %%
# Nearest genes, diffusion map and modules
# ----------------------------------------
graphsig.sc.emd_neighbors(adata)  # genes x genes EMD kNN graph in adata.varp
graphsig.sc.gene_diffusion_map(adata, n_components=10)
graphsig.sc.gene_modules(adata)  # the number of modules from the eigengap
graphsig.sc.module_activity(adata)
print(f"{adata.uns['graphsig_module']['n_modules']} gene modules")
print(adata.var["graphsig_module"].value_counts().sort_index().to_string())

# %%
# The genes in the diffusion map, coloured by module, with a few markers
# named: CD79A (B cells), NKG7 (NK cells), LYZ (monocytes), CD3D (T cells).
ax = graphsig.sc.pl.gene_embedding(adata, genes=["CD79A", "NKG7", "LYZ", "CD3D"])
plt.show()

# %%
# Module activity on the cells
# ----------------------------
# A 2-D layout of the cells from their graph; each panel is one module.
adata.obsm["X_spectral"] = spectral_embedding(
    adata.obsp["connectivities"], n_components=2, random_state=0, drop_first=True)
fig = graphsig.sc.pl.module_activity(adata, basis="spectral", ncols=4, panel_size=2.5)
plt.show()

# %%
# The cell type where each module is most active.
activity = pd.DataFrame(adata.obsm["graphsig_module_activity"],
                        index=adata.obs["cell_type"].to_numpy())
modules = adata.uns["graphsig_module_activity"]["modules"]
by_type = activity.groupby(level=0).mean()
for j, module in enumerate(modules):
    print(f"module {module}: most active in {by_type[j].idxmax()}")
