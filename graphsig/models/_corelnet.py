"""CoRelNet: a classifier that sees its objects only through their similarities."""

import numbers

import numpy as np
from sklearn.base import clone
from sklearn.utils._param_validation import StrOptions

from ._base import (
    TRAINING_PARAMETER_CONSTRAINTS,
    BaseNeuralEstimator,
    NeuralClassifierMixin,
    NumberInterval,
    check_finite_network_output,
)
from ._activations import sigmoid as _sigmoid
from ._layers import Module, make_mlp
from ._losses import softmax
from ._sets import input_ndim, validate_sets

__all__ = ["CoRelNetClassifier", "CoRelNetNetwork", "ContextNorm"]


class ContextNorm(Module):
    """Standardise each feature across the objects of a sample (or of a segment).

    ``z~_t = gamma * (z_t - mean_t z) / sqrt(var_t z + floor * s + eps) + beta``,
    the mean and variance taken over the objects ``t`` of one sample, and
    ``s = mean_{t, f} z_{tf}^2`` the mean square of all encodings of that
    sample. With ``segments``, each group of objects is standardised on its
    own (with shared ``gamma`` and ``beta``). Input and output shape:
    ``(n_samples, n_objects, n_features)``.

    With ``floor=0`` this is the context norm of the paper. Its output is
    then blind to scale: over two objects every feature maps to ``+-gamma``
    however small the difference, so "nearly identical" cannot be told from
    "different". The floor measures differences against the size of the
    encodings themselves: a feature whose spread across the objects is small
    relative to ``s`` is shrunk towards ``beta``, one whose spread is large is
    standardised as before. The output stays invariant to a common rescaling
    of the encodings.
    """

    def __init__(self, n_features, *, segments=None, floor=0.0, eps=1e-8, dtype=np.float64):
        super().__init__()
        self.n_features = int(n_features)
        self.segments = None if segments is None else [np.asarray(s, dtype=np.intp)
                                                       for s in segments]
        self.floor = float(floor)
        self.eps = float(eps)
        self.add_param("gamma", np.ones(self.n_features, dtype=dtype), decay=False)
        self.add_param("beta", np.zeros(self.n_features, dtype=dtype), decay=False)
        self._cache = None

    def _groups(self, n_objects):
        return [np.arange(n_objects)] if self.segments is None else self.segments

    def forward(self, z):
        xhat = np.empty_like(z)
        inv = np.empty_like(z)
        for seg in self._groups(z.shape[1]):
            zs = z[:, seg]
            zc = zs - zs.mean(axis=1, keepdims=True)
            var = (zc * zc).mean(axis=1, keepdims=True) + self.eps
            if self.floor:
                var = var + self.floor * (zs * zs).mean(axis=(1, 2), keepdims=True)
            iv = 1.0 / np.sqrt(var)
            xhat[:, seg] = zc * iv
            inv[:, seg] = iv
        self._cache = (z, xhat, inv)
        return xhat * self.gamma + self.beta

    def backward(self, grad_out):
        z, xhat, inv = self._cache
        self._grads["gamma"] += (grad_out * xhat).sum(axis=(0, 1))
        self._grads["beta"] += grad_out.sum(axis=(0, 1))
        g = grad_out * self.gamma
        grad_in = np.empty_like(g)
        for seg in self._groups(g.shape[1]):
            gs, xs, iv = g[:, seg], xhat[:, seg], inv[:, seg]
            m1 = gs.mean(axis=1, keepdims=True)
            # d/dvar of sum g * xhat, per feature: -sum_t g xhat / (2 var)
            gx = (gs * xs).mean(axis=1, keepdims=True)
            grad_in[:, seg] = iv * (gs - m1 - xs * gx)
            if self.floor:
                zs = z[:, seg]
                n_t, n_f = zs.shape[1], zs.shape[2]
                # s = mean z^2 enters every feature's variance: dL/ds, then ds/dz = 2 z / (T F)
                dl_ds = -0.5 * self.floor * (iv[:, 0] ** 2 * gx[:, 0]).sum(axis=-1) * n_t
                grad_in[:, seg] += (2.0 / (n_t * n_f)) * dl_ds[:, None, None] * zs
        return grad_in


class CoRelNetNetwork(Module):
    """Encoder, context norm, similarity matrix, head.

    Input ``(n_samples, n_objects, n_features)``, output class logits.

    Parameters
    ----------
    n_objects, n_features, n_outputs : int
    encoder_layer_sizes : sequence of int
        Widths of the encoder layers; the last is the embedding width.
    head_hidden_layer_sizes : sequence of int
    activation : str
    context_norm : {'sample', 'none'} or list of index arrays
    context_norm_floor : float
        ``floor`` of :class:`ContextNorm`.
    similarity : {'softmax', 'sigmoid', 'none'}
    mask : {'causal', 'none'}
        'causal' keeps ``j <= i`` in row ``i`` and feeds the lower triangle
        (diagonal included) to the head; 'none' feeds the whole matrix.
    """

    def __init__(self, n_objects, n_features, n_outputs, *, encoder_layer_sizes=(256, 128),
                 head_hidden_layer_sizes=(256,), activation="relu", context_norm="sample",
                 context_norm_floor=0.0, similarity="softmax", mask="causal", random_state=None,
                 dtype=np.float64):
        super().__init__()
        self.n_objects = int(n_objects)
        self.similarity = similarity
        self._head_offset = 0.5 if similarity == "sigmoid" else 0.0
        self.mask = mask
        enc = [int(n_features), *encoder_layer_sizes]
        self.add_module("encoder", make_mlp(enc, activation=activation,
                                            output_activation=activation,
                                            random_state=random_state, dtype=dtype))
        width = enc[-1]
        if isinstance(context_norm, str):
            self.norm = None if context_norm == "none" else ContextNorm(
                width, floor=context_norm_floor, dtype=dtype)
        else:
            self.norm = ContextNorm(width, segments=context_norm, floor=context_norm_floor,
                                    dtype=dtype)
        if self.norm is not None:
            self.add_module("context_norm", self.norm)
        T = self.n_objects
        if mask == "causal":
            self._rows, self._cols = np.tril_indices(T)
        else:
            self._rows, self._cols = np.indices((T, T)).reshape(2, -1)
        self._blocked = np.triu(np.ones((T, T), dtype=bool), k=1) if mask == "causal" else None
        n_rel = len(self._rows)
        self.add_module("head", make_mlp([n_rel, *head_hidden_layer_sizes, int(n_outputs)],
                                         activation=activation, random_state=random_state,
                                         dtype=dtype))
        self._cache = None

    def relations(self, X):
        """The (masked, activated) similarity matrices, shape (n_samples, n_objects, n_objects)."""
        z = self.encoder.forward(X)
        if self.norm is not None:
            z = self.norm.forward(z)
        r = z @ np.swapaxes(z, 1, 2)
        if self.similarity == "softmax":
            if self._blocked is not None:
                r = np.where(self._blocked, -np.inf, r)
            p = softmax(r, axis=-1)
        elif self.similarity == "sigmoid":
            p = _sigmoid(r)
        else:
            p = r
        if self._blocked is not None and self.similarity != "softmax":
            p = np.where(self._blocked, 0.0, p).astype(r.dtype, copy=False)
        self._cache = (z, p)
        return p

    def forward(self, X):
        p = self.relations(X)
        # sigmoid relations lie in (0, 1) around 0.5: centred, they give the head's
        # first layer no common-mode input. (Uncentred, an optimiser step that moves
        # its thousands of weights alike shifts every unit at once, which can leave
        # all of its ReLUs dead within a few steps.) The head's bias absorbs the shift,
        # so the functions the network can represent do not change.
        return self.head.forward(p[:, self._rows, self._cols] - self._head_offset)

    def backward(self, grad_out):
        z, p = self._cache
        g_feat = self.head.backward(grad_out)
        dp = np.zeros_like(p)
        dp[:, self._rows, self._cols] = g_feat
        if self.similarity == "softmax":
            dr = p * (dp - (dp * p).sum(axis=-1, keepdims=True))
        elif self.similarity == "sigmoid":
            dr = dp * p * (1 - p)
            if self._blocked is not None:
                dr[:, self._blocked] = 0
        else:
            dr = dp
        dz = (dr + np.swapaxes(dr, 1, 2)) @ z
        if self.norm is not None:
            dz = self.norm.backward(dz)
        return self.encoder.backward(dz)


class CoRelNetClassifier(NeuralClassifierMixin, BaseNeuralEstimator):
    """CoRelNet: classify a set of objects from their pairwise similarities.

    Each of the ``n_objects`` objects of a sample is encoded by one shared MLP,
    the encodings are standardised across the objects of the sample (context
    norm), compared by the similarity matrix ``R = Z Z^T`` with a row softmax
    (a sigmoid for a table of features), and the (lower-triangular) matrix goes
    through an MLP head. Only relations
    between objects reach the head, so rules such as same/different transfer
    to objects never seen in training.

    With ``graph``, each object is a nonnegative signal on the nodes of a graph
    and the encoder starts from its diffusion EMD embedding
    (:class:`graphsig.DiffusionEMD`), so that L1 distances between encoder
    inputs follow optimal transport on the graph.

    Parameters
    ----------
    n_objects : int, default=None
        Number of objects per sample when ``X`` is 2-D of shape
        ``(n_samples, n_objects * n_object_features)``; objects are consecutive
        blocks of columns. When None, a 2-D ``X`` is a table of features: each
        column is one object, given to the encoder in its own input slot (the
        object of column ``j`` is ``x_j e_j``), so that the encoder knows which
        feature a value belongs to, as the columns of a table each have their
        own meaning. Ignored (but checked, if given) for 3-D ``X``.
    encoder_layer_sizes : tuple of int, default=(256, 128)
        Widths of the encoder's layers; the last is the embedding width.
    head_hidden_layer_sizes : tuple of int, default=(256,)
        Hidden widths of the head.
    activation : {'relu', 'tanh', 'logistic', 'softplus', 'gelu', 'leaky_relu'}, default='relu'
    context_norm : {'auto', 'sample', 'none'} or list of lists of int, default='auto'
        'auto' is 'sample' for objects (3-D ``X``, or 2-D with ``n_objects``)
        and 'none' for a table of features (2-D ``X`` without ``n_objects``):
        standardising the features of a row across its columns would erase
        the values the classes depend on (on scikit-learn's blobs, two features,
        it leaves 0.33 training accuracy).
        'sample' standardises across all objects of a sample; a list of
        segments (object indices) standardises each segment on its own (the
        paper's task-segmented context norm); 'none' skips it.
    context_norm_floor : float, default=0.1
        Floor of the context-norm variance, as a fraction of the mean square
        of the encodings being normalised:
        ``z~ = gamma (z - mean_t z) / sqrt(var_t z + floor * mean(z^2)) + beta``.
        With 0 (the paper's context norm) two objects that differ by a tiny
        amount, such as two noisy views of one object, are mapped as far apart
        as two different objects, and same/different cannot be learned from
        inputs that are not bit-identical. Since the floor is relative, the
        default holds whatever the scale of the inputs; see the model page for
        the measurements over noise levels and object sizes.
    similarity : {'auto', 'softmax', 'sigmoid', 'none'}, default='auto'
        Applied to ``R`` (row-wise for softmax). 'auto' is 'softmax' for
        objects, as in the paper, and 'sigmoid' for a table of features: the
        row softmax keeps only how each column's similarities compare with one
        another, while on a table the size of a similarity carries the values
        themselves, and the causal row softmax leaves row 0 the constant 1.
        Scaled digits, 3 seeds: 0.972 with the sigmoid against 0.932 with the
        softmax over the full matrix and 0.916 with the causal softmax
        (``benchmarks/models_tabular_settings.py``).
    mask : {'causal', 'none'}, default='causal'
        'causal' lets row ``i`` see objects ``j <= i`` and feeds the lower
        triangle to the head, as in the paper's code; 'none' uses the full
        matrix. With the sigmoid similarity ``R`` is symmetric and its lower
        triangle (diagonal included) holds all of it.
    graph : array-like, sparse matrix or DiffusionEMD, default=None
        Adjacency of shape (n_nodes, n_nodes) of the graph the objects live on
        (anything :func:`graphsig.as_adjacency` reads), or a configured
        :class:`graphsig.DiffusionEMD` (cloned); turns on graph input: each
        object is then a nonnegative signal of length n_nodes.
    graph_embedding_params : dict, default=None
        Keyword arguments of :class:`graphsig.DiffusionEMD` (graph input only).
    alpha, batch_size, solver, learning_rate_init, momentum, max_grad_norm, max_iter, \
shuffle, random_state, tol, warm_start, early_stopping, validation_fraction, n_iter_no_change
        Training parameters, as in :class:`sklearn.neural_network.MLPClassifier`
        (``max_iter`` counts epochs).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    n_objects_ : int
    n_object_features_ : int
        Features per object as given (before any graph embedding).
    n_features_in_ : int
        ``n_objects_ * n_object_features_``.
    graph_embedding_ : DiffusionEMD or None
        The fitted embedding of graph input.
    network_ : CoRelNetNetwork
    loss_curve_, n_iter_, t_, best_loss_, validation_scores_, best_validation_score_
        As in :class:`sklearn.neural_network.MLPClassifier`.

    References
    ----------
    Kerg, Mittal, Rolnick, Bengio, Richards, Lajoie. On neural architecture
    inductive biases for relational tasks. arXiv:2206.05056, 2022.

    Examples
    --------
    >>> from graphsig.datasets import make_random_objects, make_relational_task
    >>> from graphsig.models import CoRelNetClassifier
    >>> objects = make_random_objects(20, 8, random_state=0)
    >>> X, y = make_relational_task("same_different", 400, objects, random_state=0)
    >>> X.shape
    (400, 2, 8)
    >>> clf = CoRelNetClassifier(encoder_layer_sizes=(32,), head_hidden_layer_sizes=(16,),
    ...                          max_iter=20, random_state=0).fit(X, y)
    >>> X_new, y_new = make_relational_task("same_different", 200, objects, random_state=1)
    >>> clf.score(X_new, y_new) > 0.9
    True
    """

    _parameter_constraints = {
        **TRAINING_PARAMETER_CONSTRAINTS,
        "n_objects": [None, NumberInterval(numbers.Integral, 2, None, closed="left")],
        "encoder_layer_sizes": ["array-like"],
        "head_hidden_layer_sizes": ["array-like"],
        "activation": [StrOptions({"relu", "tanh", "logistic", "softplus", "gelu",
                                   "leaky_relu"})],
        "context_norm": [StrOptions({"auto", "sample", "none"}), list, tuple],
        "context_norm_floor": [NumberInterval(numbers.Real, 0, None, closed="left")],
        "similarity": [StrOptions({"auto", "softmax", "sigmoid", "none"})],
        "mask": [StrOptions({"causal", "none"})],
        "graph": [None, "array-like", "sparse matrix", object],
        "graph_embedding_params": [None, dict],
    }

    def __init__(self, n_objects=None, *, encoder_layer_sizes=(256, 128),
                 head_hidden_layer_sizes=(256,), activation="relu", context_norm="auto",
                 context_norm_floor=0.1, similarity="auto", mask="causal", graph=None,
                 graph_embedding_params=None,
                 alpha=0.0, batch_size=32, solver="adam", learning_rate_init=5e-4,
                 momentum=0.9, max_grad_norm=None, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, warm_start=False, early_stopping=False,
                 validation_fraction=0.1, n_iter_no_change=10):
        self.n_objects = n_objects
        self.encoder_layer_sizes = encoder_layer_sizes
        self.head_hidden_layer_sizes = head_hidden_layer_sizes
        self.activation = activation
        self.context_norm = context_norm
        self.context_norm_floor = context_norm_floor
        self.similarity = similarity
        self.mask = mask
        self.graph = graph
        self.graph_embedding_params = graph_embedding_params
        self.alpha = alpha
        self.batch_size = batch_size
        self.solver = solver
        self.learning_rate_init = learning_rate_init
        self.momentum = momentum
        self.max_grad_norm = max_grad_norm
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.warm_start = warm_start
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change

    # -- input ---------------------------------------------------------------
    def _to_objects(self, X, *, reset):
        """Validate X; return an array of shape (n_samples, n_objects, n_object_features)."""
        X = validate_sets(self, X, reset=reset, n_items=self.n_objects, item="object",
                          min_items=2)
        if self.graph is not None and np.any(X < 0):
            raise ValueError("graph input must be nonnegative signals (masses on the nodes)")
        return X

    def _prepare_X(self, X, *, reset):
        if reset:  # a table of features, or objects? (decided in fit, kept for predict)
            self._table_input = (self.n_objects is None and self.graph is None
                                 and input_ndim(X) == 2)
        table = getattr(self, "_table_input", False)
        X = self._to_objects(X, reset=reset)
        if table:
            # a table of features: column j is the object x_j e_j
            X = X * np.eye(X.shape[1], dtype=X.dtype)
        if self.graph is None:
            if reset:
                self.graph_embedding_ = None
            return X
        n, T, F = X.shape
        # relational data repeat a few object identities: embed each distinct signal once
        unique, inverse = np.unique(X.reshape(n * T, F), axis=0, return_inverse=True)
        if reset:
            self.graph_embedding_ = self._make_graph_embedding()
            emb = self.graph_embedding_.fit_transform(unique)
        else:
            emb = self.graph_embedding_.transform(unique)
        emb = np.asarray(emb, dtype=X.dtype)[inverse.ravel()]
        return emb.reshape(n, T, -1)

    def _make_graph_embedding(self):
        from graphsig.emd import DiffusionEMD

        params = dict(self.graph_embedding_params or {})
        if isinstance(self.graph, DiffusionEMD):
            emb = clone(self.graph)
            if params:
                emb.set_params(**params)
            return emb
        return DiffusionEMD(self.graph, **params)

    def _similarity(self):
        if self.similarity == "auto":
            return "sigmoid" if getattr(self, "_table_input", False) else "softmax"
        return self.similarity

    def _segments(self, n_objects):
        cn = self.context_norm
        if isinstance(cn, str) and cn == "auto":
            return "none" if getattr(self, "_table_input", False) else "sample"
        if isinstance(cn, str):
            return cn
        segments = []
        for seg in cn:
            seg = np.asarray(seg)
            if seg.ndim != 1 or seg.size < 2 or not np.issubdtype(seg.dtype, np.integer):
                raise ValueError(
                    "each context_norm segment must be a list of at least 2 object indices"
                )
            if seg.min() < 0 or seg.max() >= n_objects:
                raise ValueError(
                    f"context_norm segment {seg.tolist()} has indices outside "
                    f"[0, {n_objects})"
                )
            segments.append(seg)
        covered = np.concatenate(segments)
        if len(np.unique(covered)) != len(covered) or len(covered) != n_objects:
            raise ValueError(
                "context_norm segments must partition the objects: each index in "
                f"[0, {n_objects}) exactly once"
            )
        return segments

    def _build_network(self, X, y, random_state, dtype):
        enc = [int(s) for s in np.atleast_1d(self.encoder_layer_sizes)]
        head = [int(s) for s in np.atleast_1d(self.head_hidden_layer_sizes)]
        if not enc or min(enc) < 1 or (head and min(head) < 1):
            raise ValueError("layer sizes must be positive integers and the encoder non-empty")
        return CoRelNetNetwork(
            X.shape[1], X.shape[2], len(self.classes_), encoder_layer_sizes=enc,
            head_hidden_layer_sizes=head, activation=self.activation,
            context_norm=self._segments(X.shape[1]),
            context_norm_floor=float(self.context_norm_floor), similarity=self._similarity(),
            mask=self.mask, random_state=random_state, dtype=dtype,
        )

    def relation_matrices(self, X):
        """Similarity matrices the head sees, shape (n_samples, n_objects, n_objects)."""
        X = self._check_fitted_and_prepare(X)
        out = self.network_.relations(X)
        self.network_.clear_cache()
        return check_finite_network_output(out, X, "the relation matrices",
                                           network=self.network_)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.input_tags.positive_only = self.graph is not None
        return tags
