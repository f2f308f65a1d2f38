"""Compressed embeddings: size against P@10, on PBMC and pygsp's Minnesota.

For each ``compression`` setting, the embedding's number of coordinates as a
fraction of the dense embedding's (``compression=0``), and Spearman / P@10
against exact EMD under the protocol of ``accuracy.py`` (40 seeded queries,
all other signals; exact distances cached in ``results/cache``).

    python benchmarks/compression.py

Writes ``results/compression.md`` and ``results/compression.json``.
"""

import sys

import scipy.sparse as sp

from _common import (
    cached_exact,
    command_line,
    load_average,
    machine_info,
    markdown_table,
    query_indices,
    query_scores,
    write_results,
)
from accuracy import load_dataset

SETTINGS = [1.0, 4.0, 8.0, 16.0, 32.0, 64.0]
N_QUERIES = 40


def main():
    from graphsig import DiffusionEMD
    from graphsig.neighbors import l1_distances

    rows, payload = [], {}
    for name in ("pbmc", "minnesota"):
        data = load_dataset(name)
        graph, signals = data["graph"], data["signals"]
        queries = query_indices(signals.shape[0], N_QUERIES)
        exact, _ = cached_exact(f"{name}_balanced_q{N_QUERIES}", graph, signals, queries)
        dense_width = None
        payload[name] = []
        for setting in SETTINGS:
            est = DiffusionEMD(graph, compression=setting).fit(signals)
            emb = est.transform(signals)
            stored = emb.nnz if sp.issparse(emb) else emb.size
            emb = emb.toarray() if sp.issparse(emb) else emb
            dense_width = dense_width or est.n_features_out_
            spearman, precision = query_scores(l1_distances(emb[queries], emb), exact, queries)
            entry = {
                "compression": setting,
                "width": int(est.n_features_out_),
                "size_ratio": est.n_features_out_ / dense_width,
                "stored_ratio": stored / (signals.shape[0] * dense_width),
                "block_levels": est.block_levels_.tolist(),
                "spearman": float(spearman.mean()),
                "p_at_10": float(precision.mean()),
            }
            payload[name].append(entry)
            print(name, entry, flush=True)
            rows.append([name, setting, entry["width"], f"{entry['size_ratio']:.3f}",
                         f"{entry['stored_ratio']:.3f}",
                         f"{entry['spearman']:.3f}", f"{entry['p_at_10']:.3f}"])
    md = "\n".join([
        "# Compressed embeddings: size against accuracy",
        "",
        f"Command: `{command_line()}`; load average {load_average()}.",
        "Size: coordinates of the embedding / those of the uncompressed one (`compression=1`); "
        "the default is `compression=16`. Stored values: nonzeros of the (sparse, for sparse "
        "signals) embedding over the uncompressed dense array's values. Spearman and P@10 "
        "against exact EMD, 40 queries.",
        "",
        markdown_table(["data", "compression", "coordinates", "size ratio",
                        "stored values ratio (CSR nnz)", "Spearman", "P@10"],
                       rows),
        "",
    ])
    write_results("compression", md, {"machine": machine_info(), "load_average": load_average(),
                                      "results": payload})
    print(md)


if __name__ == "__main__":
    sys.exit(main())
