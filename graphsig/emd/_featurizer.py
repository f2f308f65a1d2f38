"""Graph signals as features for any estimator: a diffusion EMD embedding in sensible units."""

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from .._clone import clone_sharing_graph

__all__ = ["GraphSignalFeaturizer"]


class GraphSignalFeaturizer(TransformerMixin, BaseEstimator):
    """Embed graph signals by diffusion EMD and rescale them for a downstream model.

    Each nonnegative signal on the nodes of a graph is embedded with
    :class:`~graphsig.emd.DiffusionEMD` (or
    :class:`~graphsig.emd.UnbalancedDiffusionEMD`), whose L1 distances
    approximate the earth mover's distance in hops. Those coordinates are
    tiny (a median standard deviation of about ``1e-3`` on 8x8 digits) and a
    neural network or a regularised linear model trained on them directly
    barely moves away from its initialisation. The featurizer centres the
    embedding and brings it to unit scale, so that it can go in front of any
    estimator in a :class:`~sklearn.pipeline.Pipeline`.

    Input may be one signal per sample, ``X`` of shape
    ``(n_samples, n_nodes)``, or a set or sequence of signals per sample,
    ``X`` of shape ``(n_samples, n_objects, n_nodes)``, for the models that
    take objects or tokens (:class:`~graphsig.models.CoRelNetClassifier`, the
    attention models, :class:`~graphsig.models.NonNormalRNNClassifier`):
    every object is then embedded on its own and the output has shape
    ``(n_samples, n_objects, n_features)``, or ``(n_samples, n_objects *
    n_features)`` with ``flatten=True`` for a model of flat input.

    Parameters
    ----------
    graph : graph-like, callable, DiffusionEMD or UnbalancedDiffusionEMD, default=None
        The graph the signals live on: anything :func:`graphsig.as_adjacency`
        reads, a function of the number of nodes returning one (such as
        :func:`graphsig.graphs.path_graph`), or a configured embedding
        estimator, which is cloned and fitted.
    embedding_params : dict, default=None
        Keyword arguments of :class:`~graphsig.emd.DiffusionEMD` (or set on
        the given embedding estimator).
    scaling : {'global', 'feature', 'none'}, default='global'
        'global' subtracts the training mean of each coordinate and divides
        every coordinate by one number, the root mean variance of the
        coordinates on the training signals: the features have unit variance
        on average and L1 distances stay proportional to the EMD. 'feature'
        standardises each coordinate on its own (as
        :class:`~sklearn.preprocessing.StandardScaler`; coordinates constant
        in training are only centred), which weighs every diffusion scale
        equally and no longer follows the EMD. 'none' returns the raw
        embedding.
    flatten : bool, default=False
        For 3-D input, concatenate the objects' features into one row per
        sample. Ignored for 2-D input.

    Attributes
    ----------
    embedding_ : DiffusionEMD or UnbalancedDiffusionEMD
        The fitted embedding.
    mean_ : ndarray of shape (n_embedding_features,)
        Training mean of each coordinate (zeros with ``scaling='none'``).
    scale_ : ndarray of shape (n_embedding_features,)
        Divisor of each coordinate (ones with ``scaling='none'``; one value
        repeated with ``scaling='global'``).
    n_features_in_ : int
        Number of nodes (signal length).
    n_embedding_features_ : int
        Features per signal.

    See Also
    --------
    graphsig.emd.DiffusionEMD : the embedding itself.

    Notes
    -----
    Identical signals are embedded once: relational data repeat a few object
    identities many times.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.pipeline import make_pipeline
    >>> from graphsig.emd import GraphSignalFeaturizer
    >>> from graphsig.graphs import grid_graph
    >>> X, y = load_digits(return_X_y=True)
    >>> featurizer = GraphSignalFeaturizer(grid_graph(8, 8))
    >>> F = featurizer.fit_transform(X[:300])
    >>> round(float(F.var(axis=0).mean()), 6)
    1.0
    >>> def accuracy(scaling):
    ...     model = make_pipeline(GraphSignalFeaturizer(grid_graph(8, 8), scaling=scaling),
    ...                           LogisticRegression(max_iter=500)).fit(X[:300], y[:300])
    ...     return model.score(X[300:], y[300:])
    >>> accuracy("global") > 0.8, accuracy("none") < 0.3
    (True, True)

    Sets of signals (here 2 images per sample) are embedded object by object:

    >>> pairs = X[:40].reshape(20, 2, 64)
    >>> featurizer.transform(pairs).shape == (20, 2, featurizer.n_embedding_features_)
    True
    """

    _parameter_constraints = {
        "graph": "no_validation",
        "embedding_params": [None, dict],
        "scaling": [StrOptions({"global", "feature", "none"})],
        "flatten": ["boolean"],
    }

    def __init__(self, graph=None, *, embedding_params=None, scaling="global", flatten=False):
        self.graph = graph
        self.embedding_params = embedding_params
        self.scaling = scaling
        self.flatten = flatten

    def __sklearn_clone__(self):
        return clone_sharing_graph(self)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.input_tags.three_d_array = True
        tags.input_tags.positive_only = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        tags.requires_fit = True
        return tags

    # -- input -------------------------------------------------------------
    def _validate(self, X, reset):
        """Validated signals as rows, and the leading shape to restore (or None)."""
        ndim = 2 if sp.issparse(X) else getattr(X, "ndim", None)
        if ndim is None:
            ndim = np.asarray(X).ndim
        if ndim == 3:
            X = check_array(X, allow_nd=True, dtype=[np.float64, np.float32])
            n_samples, n_objects, n_nodes = X.shape
            if n_objects < 1:
                raise ValueError("X has 0 objects per sample; expected at least 1")
            if reset:
                self.n_features_in_ = n_nodes
                self.__dict__.pop("feature_names_in_", None)
            elif n_nodes != self.n_features_in_:
                raise ValueError(
                    f"X has {n_nodes} nodes per object, but {type(self).__name__} is "
                    f"expecting {self.n_features_in_} nodes as input"
                )
            return X.reshape(n_samples * n_objects, n_nodes), (n_samples, n_objects)
        if ndim > 3:
            raise ValueError(
                f"X must be 2-D (n_samples, n_nodes) or 3-D (n_samples, n_objects, n_nodes); "
                f"got {ndim} dimensions"
            )
        X = validate_data(self, X, reset=reset, accept_sparse=("csr", "csc", "coo"),
                          dtype=[np.float64, np.float32])
        return X, None

    def _make_embedding(self):
        from ._diffusion_emd import DiffusionEMD, _BaseDiffusionEMD

        params = dict(self.embedding_params or {})
        if isinstance(self.graph, _BaseDiffusionEMD):
            emb = clone(self.graph)
            if params:
                emb.set_params(**params)
            return emb
        return DiffusionEMD(self.graph, **params)

    def _embed(self, rows, fit):
        """Embedding of each row, embedding each distinct dense row once."""
        if sp.issparse(rows) or len(rows) < 2:
            unique, inverse = rows, None
        else:
            unique, inverse = np.unique(rows, axis=0, return_inverse=True)
            if len(unique) == len(rows):
                unique, inverse = rows, None
        if fit:
            self.embedding_ = self._make_embedding().fit(unique)
        emb = self.embedding_.transform(unique)
        emb = np.asarray(emb.toarray() if sp.issparse(emb) else emb)
        return emb if inverse is None else emb[inverse.ravel()]

    # -- estimator -----------------------------------------------------------
    def fit(self, X, y=None):
        """Fit the embedding and the scaling on training signals.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_nodes) or \
array-like of shape (n_samples, n_objects, n_nodes)
            Nonnegative signals on the graph's nodes.
        y : None
            Ignored.

        Returns
        -------
        self
        """
        self.fit_transform(X)
        return self

    def fit_transform(self, X, y=None):
        """Fit, then return the features of ``X`` (see :meth:`transform`)."""
        self._validate_params()
        rows, lead = self._validate(X, reset=True)
        emb = self._embed(rows, fit=True)
        self.n_embedding_features_ = emb.shape[1]
        emb64 = emb.astype(np.float64, copy=False)
        if self.scaling == "none":
            self.mean_ = np.zeros(emb.shape[1])
            self.scale_ = np.ones(emb.shape[1])
        else:
            self.mean_ = emb64.mean(axis=0)
            var = emb64.var(axis=0)
            if self.scaling == "global":
                total = float(np.sqrt(var.mean()))
                self.scale_ = np.full(emb.shape[1], total if total > 0 else 1.0)
            else:
                self.scale_ = np.where(var > 0, np.sqrt(var), 1.0)
        return self._finish(emb, lead)

    def transform(self, X):
        """Embedded, centred and scaled signals.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_nodes) or \
array-like of shape (n_samples, n_objects, n_nodes)

        Returns
        -------
        F : ndarray of shape (n_samples, n_embedding_features), \
(n_samples, n_objects, n_embedding_features), or, with ``flatten``, \
(n_samples, n_objects * n_embedding_features)
            Same floating dtype as ``X`` (float64 for integer input).
        """
        check_is_fitted(self, "embedding_")
        rows, lead = self._validate(X, reset=False)
        return self._finish(self._embed(rows, fit=False), lead)

    def _finish(self, emb, lead):
        dtype = emb.dtype
        out = ((emb - self.mean_.astype(dtype)) / self.scale_.astype(dtype)).astype(
            dtype, copy=False)
        if lead is None:
            return out
        out = out.reshape(*lead, -1)
        return out.reshape(lead[0], -1) if self.flatten else out

    def get_feature_names_out(self, input_features=None):
        """Names ``graphsignalfeaturizer0``, ... of the output columns (2-D output)."""
        check_is_fitted(self, "embedding_")
        prefix = type(self).__name__.lower()
        return np.asarray([f"{prefix}{i}" for i in range(self.n_embedding_features_)],
                          dtype=object)
