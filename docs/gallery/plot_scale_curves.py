"""
Scale: time against graph size and number of signals
=====================================================

The results of ``benchmarks/scale.py`` and ``benchmarks/speed.py``, read from
the JSON files in ``benchmarks/results/`` (the benchmarks themselves are not
run here). Sparse signals on grids and on ontology-like polyhierarchies are
embedded with :class:`graphsig.DiffusionEMD` and their exact 10-NN graph built
with :class:`graphsig.EMDNeighbors`, all with default parameters, on 2 CPUs.
"""

import json
from pathlib import Path

import matplotlib.pyplot as plt


def _results_dir():
    here = Path(globals().get("__file__", "plot_scale_curves.py")).resolve().parent
    for base in (here, *here.parents, Path.cwd(), *Path.cwd().parents):
        candidate = base / "benchmarks" / "results"
        if (candidate / "scale.json").exists():
            return candidate
    raise FileNotFoundError("benchmarks/results/scale.json")


results = _results_dir()
scale = json.loads((results / "scale.json").read_text())
rows = scale["results"]
for r in rows:
    print(f"{r['kind']:5s} {r['n_nodes']:>9,} nodes {r['n_signals']:>7,} signals: "
          f"fit {r['fit_s']:.1f} s, embed {r['embed_s']:.1f} s, 10-NN {r['knn_s']:.1f} s, "
          f"P@10 {r['p_at_10']:.2f}")

# %%
# Total time (fit, embedding, exact 10-NN graph) against the number of
# signals, one line per graph.
fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(11, 4.2))
for kind, marker in (("grid", "o"), ("poly", "s")):
    for n_nodes in sorted({r["n_nodes"] for r in rows if r["kind"] == kind}):
        pts = sorted((r["n_signals"], r["total_s"], r["embed_s"]) for r in rows
                     if r["kind"] == kind and r["n_nodes"] == n_nodes)
        label = f"{kind}, {n_nodes:,} nodes"
        ax0.plot([p[0] for p in pts], [p[1] for p in pts], marker=marker, label=label)
        ax1.plot([p[0] for p in pts], [p[2] for p in pts], marker=marker, label=label)
for ax, what in ((ax0, "total (fit + embed + 10-NN)"), (ax1, "embedding")):
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("signals")
    ax.set_ylabel("seconds")
    ax.set_title(what)
    ax.grid(True, which="both", alpha=0.3)
ax0.legend(fontsize=8)
fig.tight_layout()
plt.show()

# %%
# Speed on the PBMC genes
# -----------------------
# Embedding plus all-pairs L1 distances against exact EMD of all pairs
# (extrapolated from a sample), and the one-off compilation of the kernels.
speed_path = results / "speed.json"
if speed_path.exists():
    speed = json.loads(speed_path.read_text())
    pairs, compile_ = speed["all_pairs"], speed["compile"]
    labels = ["embedding +\nall-pairs L1", "exact EMD,\nall pairs", "first call,\ncold cache",
              "first call,\nwarm cache"]
    values = [pairs["embedding_plus_all_pairs_l1_s"], pairs["exact_all_pairs_extrapolated_s"],
              compile_["cold_cache_first_call_s"], compile_["warm_cache_first_call_s"]]
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.bar(labels, values, color=["tab:blue", "tab:red", "tab:gray", "tab:gray"])
    ax.set_yscale("log")
    ax.set_ylabel("seconds")
    ax.set_title(f"765 genes, {pairs['n_pairs']:,} pairs: exact EMD takes "
                 f"{pairs['ratio_exact_over_embedding']:.0f}x the embedding")
    fig.tight_layout()
    plt.show()
