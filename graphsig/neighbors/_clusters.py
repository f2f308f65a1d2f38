"""Approximate L1 nearest neighbours by searching the nearest clusters exactly.

The data are split into about ``sqrt(n)`` clusters (centres drawn from the
data, refined by two rounds of assigning each row to its nearest centre by L1
and moving each centre to its members' mean). A query is compared exactly
(:func:`l1_kneighbors`) with the members of its ``n_probes`` nearest
clusters only. Dense and CSR data alike, no dependency beyond the exact
kernels.
"""

import numpy as np
import scipy.sparse as sp

from ._knn import l1_kneighbors

_REFINE_ROUNDS = 2


class ClusterIndex:
    """Cluster-pruned exact search (an inverted-file index) over embeddings.

    Parameters
    ----------
    data : {ndarray, csr_matrix} of shape (n_samples, n_features)
    n_clusters : int
    n_probes : int
        Clusters searched per query.
    random_state : numpy.random.RandomState
    n_jobs : int or None
    """

    def __init__(self, data, n_clusters, n_probes, random_state, n_jobs=None):
        n = data.shape[0]
        self.n_clusters = int(min(max(1, n_clusters), n))
        self.n_probes = int(min(max(1, n_probes), self.n_clusters))
        self.n_jobs = n_jobs
        self.data = data
        start = np.sort(random_state.choice(n, self.n_clusters, replace=False))
        centres = data[start]
        # sparse data keep sparse centres: a dense centre of a wide compressed
        # embedding (millions of columns) would cost gigabytes per cluster set
        centres = sp.csr_matrix(centres) if sp.issparse(centres) else np.array(centres)
        for _ in range(_REFINE_ROUNDS):
            labels = self._nearest_centre(data, centres)
            centres = _means(data, labels, centres)
        self.centres = centres
        labels = self._nearest_centre(data, centres)
        self.order = np.argsort(labels, kind="stable")
        self.offsets = np.searchsorted(labels[self.order], np.arange(self.n_clusters + 1))

    def _nearest_centre(self, X, centres):
        X = X.toarray() if sp.issparse(X) and X.shape[1] <= 4096 else X
        centres = centres.astype(_dtype(X), copy=False)
        return l1_kneighbors(X, centres, 1, n_jobs=self.n_jobs)[1][:, 0]

    def query(self, queries, k, exclude_self=False):
        """``k`` approximate nearest rows of the data, sorted by (distance, index)."""
        n_q = queries.shape[0]
        extra = 1 if exclude_self else 0
        dense_q = queries.toarray() if sp.issparse(queries) and queries.shape[1] <= 4096 \
            else queries
        _, probes = l1_kneighbors(
            dense_q, self.centres.astype(_dtype(dense_q), copy=False), self.n_probes,
            n_jobs=self.n_jobs,
        )
        width = self.n_probes * (k + extra)
        cand_d = np.full((n_q, width), np.inf)
        cand_i = np.full((n_q, width), -1, dtype=np.int64)
        flat = probes.ravel()
        by_cluster = np.argsort(flat, kind="stable")
        bounds = np.searchsorted(flat[by_cluster], np.arange(self.n_clusters + 1))
        for c in range(self.n_clusters):
            entries = by_cluster[bounds[c]:bounds[c + 1]]
            members = self.order[self.offsets[c]:self.offsets[c + 1]]
            if entries.size == 0 or members.size == 0:
                continue
            rows, slots = np.divmod(entries, self.n_probes)
            kk = min(k + extra, members.size)
            dist, ind = l1_kneighbors(queries[rows], self.data[members], kk, n_jobs=self.n_jobs)
            cols = slots[:, None] * (k + extra) + np.arange(kk)[None, :]
            cand_d[rows[:, None], cols] = dist
            cand_i[rows[:, None], cols] = members[ind]
        if exclude_self:
            cand_d[cand_i == np.arange(n_q)[:, None]] = np.inf
        cand_i_key = np.where(np.isfinite(cand_d), cand_i, np.iinfo(np.int64).max)
        order = np.lexsort((cand_i_key, cand_d))[:, :k]
        rows = np.arange(n_q)[:, None]
        dist, ind = cand_d[rows, order], cand_i[rows, order]
        short = np.flatnonzero(~np.isfinite(dist[:, -1]))
        if short.size:
            # too few rows in the probed clusters: search those queries exactly
            d_exact, i_exact = self._exact(queries, short, k, exclude_self)
            dist[short], ind[short] = d_exact, i_exact
        return dist, ind

    def _exact(self, queries, rows, k, exclude_self):
        kk = min(k + 1, self.data.shape[0])
        dist, ind = l1_kneighbors(queries[rows], self.data, kk, n_jobs=self.n_jobs)
        if exclude_self:
            own = ind == rows[:, None]
            drop = np.where(own.any(axis=1), own.argmax(axis=1), k)
            keep = np.ones(ind.shape, dtype=bool)
            keep[np.arange(len(rows)), drop] = False
            return dist[keep].reshape(-1, k), ind[keep].reshape(-1, k)
        return dist[:, :k], ind[:, :k]


def _dtype(X):
    return X.dtype if X.dtype in (np.float32, np.float64) else np.float64


def _means(data, labels, previous):
    """Mean of each cluster's rows (a cluster left empty keeps its centre)."""
    n_clusters = previous.shape[0]
    counts = np.bincount(labels, minlength=n_clusters)
    member = sp.csr_matrix(
        (np.ones(len(labels)), (labels, np.arange(len(labels)))),
        shape=(n_clusters, len(labels)),
    )
    sums = member @ data
    filled = counts > 0
    if sp.issparse(sums):
        scale = np.where(filled, 1.0 / np.maximum(counts, 1), 0.0)
        centres = sp.diags(scale) @ sp.csr_matrix(sums, dtype=np.float64)
        centres = centres + sp.diags((~filled).astype(np.float64)) @ sp.csr_matrix(previous)
        centres = sp.csr_matrix(centres, dtype=previous.dtype)
        centres.sort_indices()
        return centres
    sums = np.asarray(sums)
    centres = previous.astype(np.float64)
    centres[filled] = sums[filled] / counts[filled, None]
    return centres.astype(previous.dtype)
