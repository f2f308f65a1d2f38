"""Nearest genes on the PBMC cell graph by diffusion EMD, checked against exact EMD.

Each of the 765 genes is a signal on the 700-cell graph (its expression over the cells).
Genes whose expression sits on the same cells are near in EMD. Run::

    python examples/pbmc_nearest_genes.py
"""

import time

import numpy as np

import graphsig
from graphsig.datasets import load_pbmc68k
from graphsig.neighbors import l1_distances

data = load_pbmc68k()
names = list(data.gene_names)

start = time.perf_counter()
emd = graphsig.DiffusionEMD(data.graph).fit(data.signals)
embedding = emd.transform(data.signals)
distances = l1_distances(embedding)
print(f"embedded {embedding.shape[0]} genes into {embedding.shape[1]} coordinates and "
      f"computed all pairs in {time.perf_counter() - start:.2f} s")

for gene in ["CD79A", "NKG7", "LYZ"]:
    i = names.index(gene)
    order = [j for j in np.argsort(distances[i], kind="stable") if j != i][:5]
    exact = graphsig.exact_emd(data.graph, data.signals[[i]], data.signals[order])[0]
    print(f"{gene}: " + ", ".join(
        f"{names[j]} ({distances[i, j]:.2f} / exact {e:.2f} hops)" for j, e in zip(order, exact)))
