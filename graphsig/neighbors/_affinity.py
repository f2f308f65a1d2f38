"""Adaptive-bandwidth kernels over k-nearest-neighbour distance graphs."""

import numbers

import numpy as np
import scipy.sparse as sp

from .._validation import check_sparse_structure

__all__ = ["knn_affinity"]

_SYMMETRIZE = ("mean", "max", "min")


def knn_affinity(knn_graph, *, n_neighbors=None, decay=2.0, symmetrize="mean"):
    r"""Sparse symmetric affinity between samples from their k-nearest-neighbour distances.

    Each sample :math:`i` gets its own bandwidth :math:`\sigma_i`, the
    distance to its ``n_neighbors``-th nearest neighbour (itself not
    counted), and

    .. math::

        K_{ij} = \exp\left(-\left(d_{ij} / \sigma_i\right)^{\mathrm{decay}}\right)

    for every stored entry :math:`d_{ij}` of the graph. The bandwidth adapts
    to the local density (dense regions get a narrow kernel, sparse ones a
    wide one), and ``decay`` sets how fast the affinity falls beyond
    :math:`\sigma_i`: it is :math:`e^{-1}` at the k-th neighbour for any
    decay; 2 gives a Gaussian profile, larger values a sharper cut-off
    (near-neighbours keep an affinity near 1, farther ones drop quickly to
    0), smaller values (1: a Laplacian kernel) heavier tails. This is the
    adaptive "alpha-decay" kernel of PHATE (Moon et al. 2019). The kernel is
    then symmetrised, since :math:`K_{ij} \neq K_{ji}` in general, and its
    diagonal is set to 1.

    Duplicated samples can give :math:`\sigma_i = 0`; such a sample takes
    the smallest positive bandwidth of all samples instead (1 if every
    distance is 0), so duplicates have affinity 1 and nothing is NaN or inf.

    Parameters
    ----------
    knn_graph : sparse matrix of shape (n_samples, n_samples)
        A k-nearest-neighbour distance graph over one set of samples, such
        as ``EMDNeighbors(mode="distance").fit_transform(X)`` or
        :meth:`sklearn.neighbors.NearestNeighbors.kneighbors_graph` with
        ``mode="distance"``. Stored entries are distances (explicit zeros
        included); diagonal entries are ignored.
    n_neighbors : int, optional
        Which neighbour sets the bandwidth; defaults to the smallest number
        of off-diagonal entries in a row.
    decay : float > 0, default=2.0
        Exponent of the kernel.
    symmetrize : {"mean", "max", "min"}, default="mean"
        :math:`(K + K^T)/2`, :math:`\max(K, K^T)` (an edge is kept if either
        end has it) or :math:`\min(K, K^T)` (only mutual neighbours),
        taken over the union of the stored entries (a missing entry counts
        as 0).

    Returns
    -------
    affinity : scipy.sparse.csr_matrix of shape (n_samples, n_samples)
        Symmetric, entries in (0, 1], diagonal 1; float32 for a float32
        graph, float64 otherwise. It is the ``affinity="precomputed"`` input
        of :class:`~sklearn.cluster.SpectralClustering`, and its row-normalised
        form is the Markov matrix of a diffusion map.

    References
    ----------
    K. R. Moon, D. van Dijk, Z. Wang, et al. Visualizing structure and
    transitions in high-dimensional biological data. Nature Biotechnology
    37, 2019.

    Examples
    --------
    >>> import numpy as np
    >>> from graphsig.neighbors import EMDNeighbors, knn_affinity
    >>> X = np.array([[0.0], [1.0], [2.0], [10.0], [11.0]])
    >>> G = EMDNeighbors(embedding="precomputed", n_neighbors=1).fit_transform(X)
    >>> K = knn_affinity(G)
    >>> bool((K != K.T).nnz == 0), K.diagonal().tolist()
    (True, [1.0, 1.0, 1.0, 1.0, 1.0])
    >>> round(float(K[0, 1]), 4)                  # exp(-(1/1)^2)
    0.3679
    """
    if not sp.issparse(knn_graph):
        raise TypeError(
            "knn_graph must be a scipy.sparse k-nearest-neighbour distance graph, got "
            f"{type(knn_graph).__name__}"
        )
    check_sparse_structure(knn_graph, "knn_graph")
    if knn_graph.dtype.kind not in "biuf":
        raise TypeError(f"knn_graph must hold real distances, got dtype {knn_graph.dtype}")
    G = sp.csr_matrix(knn_graph)
    n = G.shape[0]
    if G.shape[0] != G.shape[1]:
        raise ValueError(
            f"knn_graph must be square (the neighbours of a set among itself), got shape {G.shape}"
        )
    if isinstance(decay, bool) or not isinstance(decay, numbers.Real) or not decay > 0:
        raise ValueError(f"decay must be a positive number, got {decay!r}")
    if symmetrize not in _SYMMETRIZE:
        raise ValueError(f"symmetrize must be one of {', '.join(_SYMMETRIZE)}, got {symmetrize!r}")
    dtype = np.float32 if G.dtype == np.float32 else np.float64
    G = G.astype(dtype)
    if G.nnz and (not np.isfinite(G.data).all() or G.data.min() < 0):
        raise ValueError("knn_graph must hold finite nonnegative distances")
    G.sum_duplicates()
    G.sort_indices()

    # off-diagonal entries, row by row
    rows = np.repeat(np.arange(n), np.diff(G.indptr))
    off = G.indices != rows
    counts = np.bincount(rows[off], minlength=n)
    if n_neighbors is None:
        n_neighbors = int(counts.min()) if n else 1
        if n_neighbors < 1:
            raise ValueError("knn_graph has a row without neighbours (off-diagonal entries)")
    elif isinstance(n_neighbors, bool) or not isinstance(n_neighbors, numbers.Integral):
        raise TypeError(f"n_neighbors must be an int, got {type(n_neighbors).__name__}")
    elif n_neighbors < 1 or (n and n_neighbors > counts.min()):
        raise ValueError(
            f"n_neighbors={n_neighbors} must be between 1 and the smallest number of "
            f"neighbours stored in a row of knn_graph ({int(counts.min()) if n else 0})"
        )
    sigma = _kth_smallest(rows[off], G.data[off], n, n_neighbors)
    positive = sigma[sigma > 0]
    fallback = positive.min() if positive.size else 1.0
    sigma = np.where(sigma > 0, sigma, fallback).astype(np.float64)

    values = np.exp(-((G.data[off] / sigma[rows[off]]) ** float(decay))).astype(dtype)
    K = sp.csr_matrix((values, (rows[off], G.indices[off])), shape=(n, n))
    if symmetrize == "mean":
        K = (K + K.T) * dtype(0.5)
    elif symmetrize == "max":
        K = K.maximum(K.T)
    else:
        K = K.minimum(K.T)
    # the diagonal is empty here; entries whose kernel underflowed to 0 are dropped
    K = sp.csr_matrix(K + sp.identity(n, dtype=dtype, format="csr"))
    K.eliminate_zeros()
    K.sort_indices()
    return K


def _kth_smallest(rows, values, n, k):
    """k-th smallest value of each row (rows given per entry, sorted)."""
    order = np.lexsort((values, rows))
    starts = np.searchsorted(rows[order], np.arange(n))
    return values[order][starts + k - 1]
