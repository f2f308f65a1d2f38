"""EMDNeighbors: the k-nearest-neighbour graph of graph signals under the embedded EMD."""

import numbers

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from .._clone import clone_sharing_graph
from .._signals import check_raw_signals
from .._validation import validate_params
from ._knn import l1_kneighbors

__all__ = ["EMDNeighbors"]

# "auto" searches exactly up to this many fitted samples, approximately above
AUTO_EXACT_MAX_SAMPLES = 20_000


class EMDNeighbors(TransformerMixin, BaseEstimator):
    r"""k-nearest-neighbour graph of graph signals under the (embedded) earth mover's distance.

    Signals are embedded by :class:`graphsig.DiffusionEMD` (or another
    embedding) so that L1 distances between embeddings approximate their
    EMD on the graph; the neighbours are then searched by L1, exactly
    (:func:`graphsig.neighbors.l1_kneighbors`) or approximately (a cluster
    index). Dense and sparse (CSR) embeddings are both supported.

    The estimator follows the contract of scikit-learn's
    :class:`~sklearn.neighbors.KNeighborsTransformer`: ``transform`` returns
    a sparse graph that estimators accepting ``metric="precomputed"``
    (:class:`~sklearn.manifold.Isomap`,
    :class:`~sklearn.neighbors.KNeighborsClassifier`,
    :class:`~sklearn.cluster.DBSCAN`,
    :class:`~sklearn.cluster.SpectralClustering` with
    ``affinity="precomputed_nearest_neighbors"``, UMAP, ...) take as input,
    in a :class:`~sklearn.pipeline.Pipeline` or directly.

    Parameters
    ----------
    graph : graph-like or callable, optional
        The graph the signals live on (see :class:`graphsig.DiffusionEMD`),
        used by the default embedding, or set on a given embedding when not
        None.
    n_neighbors : int, default=5
        Neighbours per sample in the transformed graph. In ``"distance"``
        mode each row holds ``n_neighbors + 1`` entries: for the training
        signals, each sample is its own first neighbour (an explicit 0,
        stored). In ``"connectivity"`` mode, ``n_neighbors`` entries of 1.
    mode : {"distance", "connectivity"}, default="distance"
        Entries of the transformed graph: L1 distances between embeddings,
        or ones.
    embedding : None, "precomputed" or transformer, default=None
        None embeds with ``DiffusionEMD(graph=graph, random_state=random_state,
        n_jobs=n_jobs)``; a configured transformer (such as
        :class:`graphsig.UnbalancedDiffusionEMD`) is cloned and fitted on the
        signals; ``"precomputed"`` means ``X`` already holds embeddings,
        dense or sparse.
    algorithm : {"auto", "exact", "approximate"}, default="auto"
        ``"exact"``: the exact L1 search. ``"approximate"``: at fit time the
        embeddings are split into about :math:`\sqrt{n}` clusters by L1
        (centres drawn with ``random_state``, refined twice by means), and a
        query is compared exactly with the members of its ``n_probes``
        nearest clusters only, about ``n_probes / sqrt(n)`` of the work of
        the exact search. ``"auto"``: exact up to 20 000 fitted samples,
        approximate above.
    n_probes : int, default=8
        Clusters searched per query by the approximate search; more is
        slower and recalls more of the exact neighbours. Ignored by the
        exact search.
    refine : None or "exact", default=None
        None ranks by the embedding alone. ``"exact"`` returns the exact
        ``n_neighbors`` nearest signals under the graph EMD (the unbalanced
        W1 for an :class:`~graphsig.UnbalancedDiffusionEMD` embedding), as
        :func:`graphsig.exact_emd` defines it, ties ordered by index: the
        embedding only orders the candidates (its ``n_candidates`` nearest
        are solved first), and the Kantorovich potential of every exact
        solve bounds all the other candidates' distances from below, so that
        candidates that cannot be among the nearest are never solved
        (:func:`graphsig.emd.exact_kneighbors`). Distances are then exact,
        in float64. Needs signals, not ``embedding="precomputed"``.
    n_candidates : int, default=32
        With ``refine="exact"``: embedding neighbours solved first per query
        (at least ``n_neighbors``); the answer does not depend on it.
    n_jobs : int, optional
        Threads of the search and of the default embedding (default:
        numba's setting).
    random_state : int, RandomState instance or None, default=None
        Seed of the default embedding's calibration and of the approximate
        index.

    Attributes
    ----------
    embedder_ : transformer or None
        The fitted embedding (None for ``embedding="precomputed"``).
    fit_embedding_ : {ndarray, scipy.sparse.csr_matrix} of shape (``n_samples_fit_``, n_features)
        Embeddings of the training signals.
    algorithm_ : {"exact", "approximate"}
        The search in use.
    n_samples_fit_ : int
    n_features_in_ : int
        Width of ``X`` (nodes of the graph, or embedding features).
    n_exact_solves_ : ndarray of int64 of shape (n_queries,)
        With ``refine="exact"``: exact EMD problems solved per query by the
        latest search (``kneighbors``, ``kneighbors_graph``, ``transform``
        or ``fit_transform``); brute force would solve ``n_samples_fit_``.

    See Also
    --------
    l1_kneighbors : the exact search, as a function.
    knn_affinity : an adaptive kernel over the graph this returns.

    Notes
    -----
    The approximate search ranks ties (such as duplicate signals) by index
    like the exact one, but which neighbours it finds may depend on
    ``random_state``. Its recall of the exact 10 nearest neighbours on the
    embeddings of ``benchmarks/knn.py`` is reported in
    ``benchmarks/results/knn.md``.

    UMAP accepts a sparse precomputed matrix only if it is symmetric: pass
    ``G.maximum(G.T)``, the union of the neighbour relations, which keeps
    every neighbour distance (``umap.UMAP(metric="precomputed")``; tested).

    Examples
    --------
    >>> import numpy as np
    >>> from graphsig.graphs import path_graph
    >>> from graphsig.neighbors import EMDNeighbors
    >>> X = np.eye(6)[[0, 1, 2, 5, 5]]        # unit masses on a path of 6 nodes
    >>> knn = EMDNeighbors(graph=path_graph(6), n_neighbors=2, random_state=0)
    >>> G = knn.fit_transform(X)
    >>> G.shape, G.nnz
    ((5, 5), 15)
    >>> G[0].indices.tolist()                  # itself, then nodes 1 and 2
    [0, 1, 2]
    >>> knn.kneighbors(n_neighbors=1, return_distance=False).ravel().tolist()
    [1, 0, 1, 4, 3]
    """

    _parameter_constraints = {
        "graph": "no_validation",
        "n_neighbors": [Interval(numbers.Integral, 1, None, closed="left")],
        "mode": [StrOptions({"distance", "connectivity"})],
        "embedding": [None, StrOptions({"precomputed"}), HasMethods(["fit", "transform"])],
        "algorithm": [StrOptions({"auto", "exact", "approximate"})],
        "n_probes": [Interval(numbers.Integral, 1, None, closed="left")],
        "refine": [None, StrOptions({"exact"})],
        "n_candidates": [Interval(numbers.Integral, 1, None, closed="left")],
        "n_jobs": [None, numbers.Integral],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        *,
        graph=None,
        n_neighbors=5,
        mode="distance",
        embedding=None,
        algorithm="auto",
        n_probes=8,
        refine=None,
        n_candidates=32,
        n_jobs=None,
        random_state=None,
    ):
        self.graph = graph
        self.n_neighbors = n_neighbors
        self.mode = mode
        self.embedding = embedding
        self.algorithm = algorithm
        self.n_probes = n_probes
        self.refine = refine
        self.n_candidates = n_candidates
        self.n_jobs = n_jobs
        self.random_state = random_state

    def __sklearn_clone__(self):
        return clone_sharing_graph(self)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.input_tags.positive_only = not self._precomputed()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        tags.requires_fit = True
        return tags

    def _precomputed(self):
        return isinstance(self.embedding, str) and self.embedding == "precomputed"

    # -- fitting ----------------------------------------------------------
    def fit(self, X, y=None):
        """Embed the training signals and prepare the search.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_nodes)
            Nonnegative signals on the graph's nodes, or embeddings of shape
            (n_samples, n_features) with ``embedding="precomputed"``.
        y : None
            Ignored.

        Returns
        -------
        self
        """
        validate_params(self)
        if self.refine == "exact" and self._precomputed():
            raise ValueError(
                'refine="exact" needs the signals to solve exact EMD problems, but '
                'embedding="precomputed" gives only embeddings; pass the signals and an '
                "embedding (None or a transformer)"
            )
        if self._precomputed():
            self.embedder_ = None
        else:
            if self.embedding is None:
                from ..emd import DiffusionEMD

                embedder = DiffusionEMD(
                    graph=self.graph, random_state=self.random_state, n_jobs=self.n_jobs
                )
            else:
                embedder = clone(self.embedding)
                if self.graph is not None:
                    embedder.set_params(graph=self.graph)
            self.embedder_ = embedder
        emb = self._embed(X, reset=True)
        if emb.shape[0] == 0:
            raise ValueError("EMDNeighbors.fit got 0 samples; at least 1 is required")
        self.fit_embedding_ = emb
        self.n_samples_fit_ = emb.shape[0]
        self.algorithm_ = self._resolve_algorithm(self.n_samples_fit_)
        self._index = None
        if self.algorithm_ == "approximate":
            self._index = _build_index(emb, self.n_probes, self.random_state, self.n_jobs)
        self._certified = None
        if self.refine == "exact":
            self._certified = self._certified_index(X)
        return self

    def _certified_index(self, X):
        """The exact search over the training signals (``refine="exact"``)."""
        from ..emd._certified import CertifiedIndex, validated_signals

        embedder = self.embedder_
        penalty = getattr(embedder, "mass_penalty", None)
        operator = getattr(embedder, "operator_", None)
        if operator is None:
            raise TypeError(
                'refine="exact" needs a graphsig DiffusionEMD or UnbalancedDiffusionEMD '
                f"embedding (with a fitted operator_), got {type(embedder).__name__}"
            )
        signals = validated_signals(X, "X", penalty)
        return CertifiedIndex(operator.adjacency, signals, penalty, 16, 0)

    def _resolve_algorithm(self, n_samples):
        if self.algorithm != "auto":
            return self.algorithm
        return "exact" if n_samples <= AUTO_EXACT_MAX_SAMPLES else "approximate"

    def _embed(self, X, reset):
        """Validated embeddings of ``X`` (fitting the embedder if ``reset``)."""
        check_raw_signals(X, "X")
        if self._precomputed():
            emb = validate_data(
                self, X, reset=reset, accept_sparse="csr", dtype=[np.float64, np.float32],
                ensure_min_samples=1 if reset else 0,
            )
        else:
            X = validate_data(
                self, X, reset=reset, accept_sparse=("csr", "csc", "coo"),
                dtype=[np.float64, np.float32], ensure_min_samples=1 if reset else 0,
            )
            if X.shape[0] == 0:
                raise ValueError(
                    f"Found array with 0 sample(s) (shape={X.shape}) while a minimum of 1 "
                    "is required by EMDNeighbors."
                )
            if reset:
                self.embedder_.fit(X)
            emb = self.embedder_.transform(X)
        if X is not None and emb.shape[0] == 0:
            raise ValueError(
                f"Found array with 0 sample(s) (shape={emb.shape}) while a minimum of 1 "
                "is required by EMDNeighbors."
            )
        if sp.issparse(emb):
            emb = sp.csr_matrix(emb)
            if not emb.has_sorted_indices:
                emb = emb.sorted_indices()
        return emb

    # -- search -------------------------------------------------------------
    def kneighbors(self, X=None, n_neighbors=None, return_distance=True):
        """Nearest training samples of each query.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_queries, n_nodes), optional
            Query signals (or embeddings, if precomputed). None queries the
            training samples, each without itself.
        n_neighbors : int, optional
            Defaults to the ``n_neighbors`` parameter.
        return_distance : bool, default=True

        Returns
        -------
        distances : ndarray of shape (n_queries, n_neighbors)
            L1 distances between embeddings, increasing along each row;
            returned only with ``return_distance=True``.
        indices : ndarray of int64, shape (n_queries, n_neighbors)
            Training samples; equal distances are ordered by index.
        """
        check_is_fitted(self, "fit_embedding_")
        if n_neighbors is None:
            n_neighbors = self.n_neighbors
        if isinstance(n_neighbors, bool) or not isinstance(n_neighbors, numbers.Integral):
            raise TypeError(f"n_neighbors must be an int, got {type(n_neighbors).__name__}")
        if n_neighbors < 1:
            raise ValueError(f"Expected n_neighbors > 0, got {n_neighbors}")
        n_neighbors = int(n_neighbors)
        query_is_train = X is None
        available = self.n_samples_fit_ - (1 if query_is_train else 0)
        if n_neighbors > available:
            raise ValueError(
                f"Expected n_neighbors <= n_samples_fit{' - 1' if query_is_train else ''}, "
                f"but n_neighbors = {n_neighbors}, n_samples_fit = {self.n_samples_fit_}"
                + (" (each training sample is left out of its own neighbours)"
                   if query_is_train else "")
            )
        queries = self.fit_embedding_ if query_is_train else self._embed(X, reset=False)
        signals = None
        if self._certified is not None:
            from ..emd._certified import validated_signals

            signals = self._certified.signals if query_is_train else validated_signals(
                X, "X", self._certified.penalty
            )
        distances, indices = self._search(queries, n_neighbors, query_is_train, signals)
        return (distances, indices) if return_distance else indices

    def _search(self, queries, n_neighbors, exclude_self, signals=None):
        if self._certified is not None:
            return self._exact_search(queries, n_neighbors, exclude_self, signals)
        distances, indices = self._embedding_search(queries, n_neighbors, exclude_self)
        dtype = _dtype_of(self.fit_embedding_)
        return distances.astype(dtype, copy=False), indices

    def _embedding_search(self, queries, n_neighbors, exclude_self):
        """Nearest training embeddings by L1, exact or approximate."""
        if self.algorithm_ == "exact":
            return l1_kneighbors(
                queries, self.fit_embedding_, n_neighbors, n_jobs=self.n_jobs,
                exclude_self=exclude_self,
            )
        return self._index.query(queries, n_neighbors, exclude_self)

    def _exact_search(self, queries, n_neighbors, exclude_self, signals):
        """Exact EMD neighbours, candidates ordered by the embedding search."""
        from ..emd._certified import search
        from ..emd._exact import _check_n_jobs

        n_first = min(max(self.n_candidates, n_neighbors),
                      self.n_samples_fit_ - (1 if exclude_self else 0))
        _, order = self._embedding_search(queries, n_first, exclude_self)
        n_jobs = 1 if self.n_jobs is None else _check_n_jobs(self.n_jobs)
        distances, indices, n_solves = search(
            self._certified, signals, n_neighbors, order, exclude_self, n_jobs
        )
        self.n_exact_solves_ = n_solves
        return distances, indices

    def kneighbors_graph(self, X=None, n_neighbors=None, mode="connectivity"):
        """Sparse graph of the nearest training samples of each query.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_queries, n_nodes), optional
            As in :meth:`kneighbors`; None queries the training samples,
            each without itself.
        n_neighbors : int, optional
        mode : {"connectivity", "distance"}, default="connectivity"

        Returns
        -------
        graph : scipy.sparse.csr_matrix of shape (n_queries, ``n_samples_fit_``)
            ``n_neighbors`` entries per row, sorted by distance (distance
            mode: zeros stored explicitly).
        """
        if mode not in ("connectivity", "distance"):
            raise ValueError(
                f'mode must be "connectivity" or "distance", got {mode!r}'
            )
        distances, indices = self.kneighbors(X, n_neighbors, return_distance=True)
        n_queries, k = indices.shape
        if mode == "connectivity":
            values = np.ones(n_queries * k, dtype=distances.dtype)
        else:
            values = distances.ravel()
        indptr = np.arange(0, n_queries * k + 1, k, dtype=np.int64)
        return sp.csr_matrix(
            (values, indices.ravel(), indptr), shape=(n_queries, self.n_samples_fit_)
        )

    def transform(self, X):
        """k-nearest-neighbour graph from the signals ``X`` to the training signals.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_queries, n_nodes)
            Signals (or embeddings, if precomputed).

        Returns
        -------
        graph : scipy.sparse.csr_matrix of shape (n_queries, ``n_samples_fit_``)
            In ``"distance"`` mode ``n_neighbors + 1`` entries per row (a
            training signal is its own first neighbour, at distance 0), in
            ``"connectivity"`` mode ``n_neighbors`` ones.
        """
        check_is_fitted(self, "fit_embedding_")
        add_one = self.mode == "distance"
        return self.kneighbors_graph(X, mode=self.mode, n_neighbors=self.n_neighbors + add_one)

    def fit_transform(self, X, y=None):
        """Fit, then transform the training signals (without embedding them twice).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_nodes)
        y : None
            Ignored.

        Returns
        -------
        graph : scipy.sparse.csr_matrix of shape (n_samples, n_samples)
        """
        self.fit(X)
        add_one = self.mode == "distance"
        n_neighbors = self.n_neighbors + add_one
        if n_neighbors > self.n_samples_fit_:
            raise ValueError(
                f"Expected n_neighbors <= n_samples_fit, but n_neighbors = {n_neighbors}, "
                f"n_samples_fit = {self.n_samples_fit_}"
            )
        signals = None if self._certified is None else self._certified.signals
        distances, indices = self._search(self.fit_embedding_, n_neighbors, False, signals)
        n_queries = indices.shape[0]
        values = distances.ravel() if add_one else np.ones(indices.size, dtype=distances.dtype)
        indptr = np.arange(0, indices.size + 1, n_neighbors, dtype=np.int64)
        return sp.csr_matrix(
            (values, indices.ravel(), indptr), shape=(n_queries, self.n_samples_fit_)
        )


def _dtype_of(X):
    return X.dtype if X.dtype in (np.float32, np.float64) else np.float64


def _build_index(emb, n_probes, random_state, n_jobs):
    """A cluster index of the embeddings: about sqrt(n) clusters."""
    from sklearn.utils import check_random_state

    from ._clusters import ClusterIndex

    n_clusters = int(np.ceil(np.sqrt(emb.shape[0])))
    return ClusterIndex(emb, n_clusters, n_probes, check_random_state(random_state), n_jobs)
