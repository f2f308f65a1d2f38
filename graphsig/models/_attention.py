"""Compositional attention and multi-head attention, as layers and as estimators.

Compositional attention (Mittal et al., 2022) separates *what to look for*
from *what to take*. With input tokens ``X`` (``n_tokens x d``):

- ``S`` searches: ``Search_i = softmax(Q_i K_i^T / sqrt(d_h))`` with
  ``Q_i = X W^q_i`` and ``K_i = X W^k_i``;
- ``R`` retrievals: values ``V_j = X W^v_j`` shared by all searches, giving
  candidates ``O_ij = Search_i V_j``;
- a soft competition, per token, of the retrievals of each search:
  ``c_ij = softmax_j(q_i . k_ij / sqrt(d_h))`` with ``q_i = X Wbar^q_i`` and
  ``k_ij = O_ij Wbar^k`` (``Wbar^k`` shared);
- ``Out_i = sum_j c_ij O_ij`` and ``Y = [Out_1 ... Out_S] W^o``.

Multi-head attention is the special case ``R = S`` in which search ``i`` is
paired with value ``i`` once and for all.
"""

import numbers

import numpy as np
from sklearn.metrics import accuracy_score, r2_score
from sklearn.utils._param_validation import StrOptions

from ._base import (
    TRAINING_PARAMETER_CONSTRAINTS,
    BaseNeuralEstimator,
    NeuralClassifierMixin,
    NeuralRegressorMixin,
    NumberInterval,
    check_finite_network_output,
    encode_labels,
)
from ._layers import Dense, Module, Normalization, make_mlp
from ._losses import softmax
from ._sets import input_ndim, validate_sets

__all__ = [
    "MultiHeadAttention",
    "CompositionalAttention",
    "AttentionNetwork",
    "CompositionalAttentionRegressor",
    "CompositionalAttentionClassifier",
]


def _attention_mask(n, exclude_self, causal):
    """Boolean (n, n) array of blocked query-key pairs, or None."""
    if not exclude_self and not causal:
        return None
    blocked = np.zeros((n, n), dtype=bool)
    if exclude_self:
        blocked |= np.eye(n, dtype=bool)
    if causal:
        blocked |= np.triu(np.ones((n, n), dtype=bool), k=1)
    return blocked


def _masked_softmax(scores, blocked):
    """Softmax over the last axis with blocked entries at 0 (rows fully blocked give 0)."""
    if blocked is None:
        return softmax(scores, axis=-1)
    s = np.where(blocked, -np.inf, scores)
    m = s.max(axis=-1, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    e = np.exp(s - m)
    total = e.sum(axis=-1, keepdims=True)
    return e / np.where(total > 0, total, 1.0)


def _softmax_backward(p, dp):
    return p * (dp - (dp * p).sum(axis=-1, keepdims=True))


def _head_dims(search_dim, value_dim, n_searches, n_values):
    if search_dim % n_searches:
        raise ValueError(
            f"search_dim={search_dim} must be a multiple of the number of searches {n_searches}"
        )
    if value_dim % n_values:
        raise ValueError(
            f"value_dim={value_dim} must be a multiple of the number of values {n_values}"
        )
    return search_dim // n_searches, value_dim // n_values


class MultiHeadAttention(Module):
    """Multi-head self-attention over ``(n_samples, n_tokens, d_model)``.

    Parameters
    ----------
    d_model : int
        Width of the input and output tokens.
    n_heads : int
    search_dim, value_dim : int, default=d_model
        Total query/key and value widths, split evenly over the heads.
    exclude_self : bool, default=False
        A token does not attend to itself.
    causal : bool, default=False
        Token ``i`` attends only to tokens ``j <= i``.
    random_state, dtype
    """

    def __init__(self, d_model, n_heads, *, search_dim=None, value_dim=None, exclude_self=False,
                 causal=False, random_state=None, dtype=np.float64):
        super().__init__()
        self.d_model, self.n_heads = int(d_model), int(n_heads)
        search_dim = self.d_model if search_dim is None else int(search_dim)
        value_dim = self.d_model if value_dim is None else int(value_dim)
        self.head_dim, self.head_value_dim = _head_dims(search_dim, value_dim, self.n_heads,
                                                        self.n_heads)
        self.exclude_self, self.causal = bool(exclude_self), bool(causal)
        kw = dict(random_state=random_state, dtype=dtype)
        self.add_module("query", Dense(self.d_model, search_dim, **kw))
        self.add_module("key", Dense(self.d_model, search_dim, **kw))
        self.add_module("value", Dense(self.d_model, value_dim, **kw))
        self.add_module("out", Dense(value_dim, self.d_model, **kw))
        self._cache = None
        self.attention_ = None

    def _split(self, t, width):
        B, N, _ = t.shape
        return t.reshape(B, N, -1, width).transpose(0, 2, 1, 3)  # (B, H, N, width)

    def forward(self, x):
        B, N, _ = x.shape
        scale = self.head_dim ** -0.5
        q = self._split(self.query.forward(x), self.head_dim) * scale
        k = self._split(self.key.forward(x), self.head_dim)
        v = self._split(self.value.forward(x), self.head_value_dim)
        blocked = _attention_mask(N, self.exclude_self, self.causal)
        p = _masked_softmax(q @ np.swapaxes(k, -1, -2), blocked)  # (B, H, N, N)
        o = p @ v  # (B, H, N, dv)
        self._cache = (q, k, v, p)
        return self.out.forward(o.transpose(0, 2, 1, 3).reshape(B, N, -1))

    def backward(self, grad_out):
        q, k, v, p = self._cache
        B, H, N, dv = v.shape
        do = self.out.backward(grad_out).reshape(B, N, H, dv).transpose(0, 2, 1, 3)
        dp = do @ np.swapaxes(v, -1, -2)
        dv_ = np.swapaxes(p, -1, -2) @ do
        da = _softmax_backward(p, dp)
        dq = (da @ k) * self.head_dim ** -0.5
        dk = np.swapaxes(da, -1, -2) @ q

        def merge(t):
            return t.transpose(0, 2, 1, 3).reshape(B, N, -1)

        return (self.query.backward(merge(dq)) + self.key.backward(merge(dk))
                + self.value.backward(merge(dv_)))

    def attention_weights(self, x):
        """Attention of each head, shape (n_samples, n_heads, n_tokens, n_tokens)."""
        self.forward(x)
        return self._cache[3]


class CompositionalAttention(Module):
    """Compositional attention over ``(n_samples, n_tokens, d_model)``.

    Parameters
    ----------
    d_model : int
    n_searches : int
        Number of searches ``S`` (query-key attention patterns).
    n_retrievals : int
        Number of retrievals ``R`` (value projections shared by all searches).
    search_dim : int, default=d_model
        Total query/key width, split over the searches (``d_h = search_dim / S``).
    value_dim : int, default=d_model
        Total value width, split over the retrievals (``d_v = value_dim / R``).
    exclude_self, causal : bool, default=False
        Masks, as in :class:`MultiHeadAttention`.
    random_state, dtype
    """

    def __init__(self, d_model, n_searches, n_retrievals, *, search_dim=None, value_dim=None,
                 exclude_self=False, causal=False, random_state=None, dtype=np.float64):
        super().__init__()
        self.d_model = int(d_model)
        self.n_searches, self.n_retrievals = int(n_searches), int(n_retrievals)
        search_dim = self.d_model if search_dim is None else int(search_dim)
        value_dim = self.d_model if value_dim is None else int(value_dim)
        self.head_dim, self.head_value_dim = _head_dims(search_dim, value_dim, self.n_searches,
                                                        self.n_retrievals)
        self.exclude_self, self.causal = bool(exclude_self), bool(causal)
        kw = dict(random_state=random_state, dtype=dtype)
        S, dv = self.n_searches, self.head_value_dim
        self.add_module("query", Dense(self.d_model, search_dim, **kw))
        self.add_module("key", Dense(self.d_model, search_dim, **kw))
        self.add_module("value", Dense(self.d_model, value_dim, **kw))
        self.add_module("retrieval_query", Dense(self.d_model, search_dim, **kw))
        self.add_module("retrieval_key", Dense(dv, self.head_dim, **kw))
        self.add_module("out", Dense(S * dv, self.d_model, **kw))
        self._cache = None

    @staticmethod
    def _split(t, width):
        B, N, _ = t.shape
        return t.reshape(B, N, -1, width).transpose(0, 2, 1, 3)  # (B, H, N, width)

    def forward(self, x):
        B, N, _ = x.shape
        scale = self.head_dim ** -0.5
        q = self._split(self.query.forward(x), self.head_dim) * scale       # (B, S, N, dh)
        k = self._split(self.key.forward(x), self.head_dim)                 # (B, S, N, dh)
        v = self._split(self.value.forward(x), self.head_value_dim)         # (B, R, N, dv)
        blocked = _attention_mask(N, self.exclude_self, self.causal)
        p = _masked_softmax(q @ np.swapaxes(k, -1, -2), blocked)            # (B, S, N, N)
        o = p[:, :, None] @ v[:, None]                                      # (B, S, R, N, dv)
        ot = o.transpose(0, 1, 3, 2, 4)                                     # (B, S, N, R, dv)
        qv = self._split(self.retrieval_query.forward(x), self.head_dim) * scale  # (B, S, N, dh)
        kv = self.retrieval_key.forward(ot)                                 # (B, S, N, R, dh)
        c = softmax((kv @ qv[..., None])[..., 0], axis=-1)                  # (B, S, N, R)
        out = (c[..., None, :] @ ot)[..., 0, :]                             # (B, S, N, dv)
        self._cache = (q, k, v, p, ot, qv, kv, c)
        return self.out.forward(out.transpose(0, 2, 1, 3).reshape(B, N, -1))

    def backward(self, grad_out):
        q, k, v, p, ot, qv, kv, c = self._cache
        B, S, N, R, dv = ot.shape
        dout = self.out.backward(grad_out).reshape(B, N, S, dv).transpose(0, 2, 1, 3)
        dc = (ot @ dout[..., None])[..., 0]                                 # (B, S, N, R)
        dot = c[..., None] * dout[..., None, :]                             # (B, S, N, R, dv)
        dlogit = _softmax_backward(c, dc)
        dqv = (dlogit[..., None, :] @ kv)[..., 0, :] * self.head_dim ** -0.5  # (B, S, N, dh)
        dkv = dlogit[..., None] * qv[..., None, :]                          # (B, S, N, R, dh)
        dot = dot + self.retrieval_key.backward(dkv)
        do = dot.transpose(0, 1, 3, 2, 4)                                   # (B, S, R, N, dv)
        dp = (do @ np.swapaxes(v, -1, -2)[:, None]).sum(axis=2)             # (B, S, N, N)
        dv_ = (np.swapaxes(p, -1, -2)[:, :, None] @ do).sum(axis=1)         # (B, R, N, dv)
        da = _softmax_backward(p, dp)
        dq = (da @ k) * self.head_dim ** -0.5
        dk = np.swapaxes(da, -1, -2) @ q

        def merge(t):
            return t.transpose(0, 2, 1, 3).reshape(B, N, -1)

        return (self.query.backward(merge(dq)) + self.key.backward(merge(dk))
                + self.value.backward(merge(dv_)) + self.retrieval_query.backward(merge(dqv)))

    def attention_weights(self, x):
        """Search attention, shape (n_samples, n_searches, n_tokens, n_tokens), and
        retrieval choice, shape (n_samples, n_searches, n_tokens, n_retrievals)."""
        self.forward(x)
        return self._cache[3], self._cache[7]


class PositionalEmbedding(Module):
    """Learned vector added to the token at each position."""

    def __init__(self, max_tokens, d_model, *, random_state=None, dtype=np.float64):
        super().__init__()
        from sklearn.utils import check_random_state

        rng = check_random_state(random_state)
        self.add_param("table", (0.1 * rng.standard_normal((max_tokens, d_model))).astype(dtype),
                       decay=False)
        self._cache = None

    def forward(self, x):
        n = x.shape[1]
        if n > self.table.shape[0]:
            raise ValueError(
                f"sequences of {n} tokens are longer than the {self.table.shape[0]} positions "
                "seen in training"
            )
        self._cache = n
        return x + self.table[:n]

    def backward(self, grad_out):
        self._grads["table"][: self._cache] += grad_out.sum(axis=0)
        return grad_out


class AttentionNetwork(Module):
    """Token embedding, attention blocks with residual connections, and a readout.

    ``h = embed(X) (+ positions)``; per block ``h = h + attention(norm(h))``
    (``h = attention(norm(h))`` without ``residual``) and, with ``ffn_width``,
    ``h = h + ffn(norm(h))``; then a readout MLP on every token
    (``output='tokens'``) or on the mean token (``output='sequence'``).
    """

    def __init__(self, n_tokens, n_features, n_outputs, *, attention="compositional",
                 n_searches=4, n_retrievals=4, d_model=64, search_dim=None, value_dim=None,
                 n_layers=1, ffn_width=None, layer_norm=False, residual=True, exclude_self=False,
                 causal=False, positional=False, output="sequence",
                 head_hidden_layer_sizes=(64,), random_state=None, dtype=np.float64):
        super().__init__()
        kw = dict(random_state=random_state, dtype=dtype)
        self.output = output
        self.residual = bool(residual)
        self.add_module("embed", make_mlp([n_features, d_model, d_model], **kw))
        self.positions = (PositionalEmbedding(n_tokens, d_model, **kw) if positional else None)
        if self.positions is not None:
            self.add_module("positions", self.positions)
        self.blocks = []
        for i in range(n_layers):
            if attention == "compositional":
                attn = CompositionalAttention(d_model, n_searches, n_retrievals,
                                              search_dim=search_dim, value_dim=value_dim,
                                              exclude_self=exclude_self, causal=causal, **kw)
            else:
                attn = MultiHeadAttention(d_model, n_searches, search_dim=search_dim,
                                          value_dim=value_dim, exclude_self=exclude_self,
                                          causal=causal, **kw)
            block = {"attention": self.add_module(f"attention_{i}", attn)}
            if layer_norm:
                block["norm_attention"] = self.add_module(f"norm_attention_{i}",
                                                          Normalization(d_model, eps=1e-5,
                                                                        dtype=dtype))
            if ffn_width:
                block["ffn"] = self.add_module(f"ffn_{i}", make_mlp([d_model, ffn_width, d_model],
                                                                    **kw))
                if layer_norm:
                    block["norm_ffn"] = self.add_module(f"norm_ffn_{i}",
                                                        Normalization(d_model, eps=1e-5,
                                                                      dtype=dtype))
            self.blocks.append(block)
        self.add_module("head", make_mlp([d_model, *head_hidden_layer_sizes, n_outputs], **kw))
        self._cache = None

    def forward(self, x):
        h = self.embed.forward(x)
        if self.positions is not None:
            h = self.positions.forward(h)
        for block in self.blocks:
            a = block["norm_attention"].forward(h) if "norm_attention" in block else h
            h = h + block["attention"].forward(a) if self.residual else \
                block["attention"].forward(a)
            if "ffn" in block:
                f = block["norm_ffn"].forward(h) if "norm_ffn" in block else h
                h = h + block["ffn"].forward(f)
        self._cache = h.shape[1]
        if self.output == "sequence":
            h = h.mean(axis=1)
        return self.head.forward(h)

    def backward(self, grad_out):
        g = self.head.backward(grad_out)
        if self.output == "sequence":
            n = self._cache
            g = np.repeat(g[:, None, :] / n, n, axis=1)
        for block in reversed(self.blocks):
            if "ffn" in block:
                gf = block["ffn"].backward(g)
                if "norm_ffn" in block:
                    gf = block["norm_ffn"].backward(gf)
                g = g + gf
            ga = block["attention"].backward(g)
            if "norm_attention" in block:
                ga = block["norm_attention"].backward(ga)
            g = g + ga if self.residual else ga
        if self.positions is not None:
            g = self.positions.backward(g)
        return self.embed.backward(g)


_ATTENTION_CONSTRAINTS = {
    **TRAINING_PARAMETER_CONSTRAINTS,
    "n_tokens": [None, NumberInterval(numbers.Integral, 1, None, closed="left")],
    "attention": [StrOptions({"compositional", "multihead"})],
    "n_searches": [NumberInterval(numbers.Integral, 1, None, closed="left")],
    "n_retrievals": [NumberInterval(numbers.Integral, 1, None, closed="left")],
    "d_model": [NumberInterval(numbers.Integral, 1, None, closed="left")],
    "search_dim": [None, NumberInterval(numbers.Integral, 1, None, closed="left")],
    "value_dim": [None, NumberInterval(numbers.Integral, 1, None, closed="left")],
    "n_layers": [NumberInterval(numbers.Integral, 1, None, closed="left")],
    "ffn_width": [None, NumberInterval(numbers.Integral, 1, None, closed="left")],
    "layer_norm": ["boolean"],
    "residual": ["boolean"],
    "exclude_self": ["boolean"],
    "causal": ["boolean"],
    "positional": ["boolean", StrOptions({"auto"})],
    "output": [StrOptions({"sequence", "tokens"})],
    "head_hidden_layer_sizes": ["array-like"],
}


class _AttentionEstimator(BaseNeuralEstimator):
    """Input handling and network construction shared by the two estimators."""

    def _prepare_X(self, X, *, reset):
        if reset:  # a table of features, or tokens? (decided in fit, kept for predict)
            self.positional_ = self._resolve_positional(X)
            self._table_input = self.n_tokens is None and input_ndim(X) == 2
        table = getattr(self, "_table_input", False)
        X = validate_sets(self, X, reset=reset, n_items=self.n_tokens, item="token",
                          min_items=1, fixed_n_items=self.positional_)
        if table:
            # a table of features: column j is the token x_j e_j, so that the token
            # embedding is specific to each feature
            X = X * np.eye(X.shape[1], dtype=X.dtype)
        return X

    def _resolve_positional(self, X):
        """``positional``, with 'auto' resolved from the shape of ``X``: positions for a
        2-D matrix of features (each column has its own meaning), none for 3-D sets."""
        if self.positional != "auto":
            return bool(self.positional)
        return input_ndim(X) != 3

    def _check_targets_per_token(self, X, y):
        if self.output == "tokens" and y.shape[1] != X.shape[1]:
            raise ValueError(
                f"with output='tokens', y needs one target per token: X has {X.shape[1]} "
                f"tokens per sample, y has {y.shape[1]}"
            )

    def _prepare_data(self, X, y, *, reset=False, classes=None):
        X, y = super()._prepare_data(X, y, reset=reset, classes=classes)
        self._check_targets_per_token(X, y)
        return X, y

    def _build_network(self, X, y, random_state, dtype):
        head = [int(s) for s in np.atleast_1d(self.head_hidden_layer_sizes)]
        if head and min(head) < 1:
            raise ValueError("head_hidden_layer_sizes must hold positive integers")
        n_values = self.n_retrievals if self.attention == "compositional" else self.n_searches
        _head_dims(self.search_dim or self.d_model, self.value_dim or self.d_model,
                   self.n_searches, n_values)
        return AttentionNetwork(
            X.shape[1], X.shape[2], self._n_network_outputs(), attention=self.attention,
            n_searches=self.n_searches, n_retrievals=self.n_retrievals, d_model=self.d_model,
            search_dim=self.search_dim, value_dim=self.value_dim, n_layers=self.n_layers,
            ffn_width=self.ffn_width, layer_norm=self.layer_norm, residual=self.residual,
            exclude_self=self.exclude_self, causal=self.causal, positional=self.positional_,
            output=self.output, head_hidden_layer_sizes=head, random_state=random_state,
            dtype=dtype,
        )

    def attention_weights(self, X):
        """Attention patterns of the first layer for each sample.

        Returns the search attention, shape (n_samples, n_searches, n_tokens,
        n_tokens), and, for compositional attention, the retrieval choice,
        shape (n_samples, n_searches, n_tokens, n_retrievals) (None for
        multi-head attention).
        """
        X = self._check_fitted_and_prepare(X)
        net = self.network_
        h = net.embed.forward(X)
        if net.positions is not None:
            h = net.positions.forward(h)
        block = net.blocks[0]
        if "norm_attention" in block:
            h = block["norm_attention"].forward(h)
        weights = block["attention"].attention_weights(h)
        net.clear_cache()
        weights = weights if isinstance(weights, tuple) else (weights, None)
        for w in weights:
            if w is not None:
                check_finite_network_output(w, X, "the attention weights", network=net)
        return weights

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        return tags


_DOC_PARAMS = """
    Parameters
    ----------
    n_tokens : int, default=None
        Tokens per sample when ``X`` is 2-D of shape ``(n_samples, n_tokens *
        n_token_features)`` (consecutive blocks of columns). None reads a 2-D
        ``X`` as a table of features: one token per column, the token of column
        ``j`` being ``x_j e_j`` (the value in its own input slot), so that the
        token embedding is specific to each feature, as in feature-tokenising
        transformers for tables. 3-D ``X`` gives the tokens directly.
    attention : {'compositional', 'multihead'}, default='compositional'
        'multihead' is the multi-head attention baseline with ``n_searches``
        heads, each search paired with its own value (``n_retrievals`` is then
        not used).
    n_searches : int, default=4
        Searches (heads).
    n_retrievals : int, default=4
        Retrievals shared by the searches (compositional attention only).
    d_model : int, default=64
        Token width inside the network.
    search_dim, value_dim : int, default=None (d_model)
        Total query/key and value widths, split over searches and retrievals.
    n_layers : int, default=1
    ffn_width : int, default=None
        Width of the feed-forward block after each attention (None: none).
    layer_norm : bool, default=False
        Normalise the input of each attention and feed-forward block.
    residual : bool, default=True
        Add each attention block's output to its input. Without it, the
        readout sees only what attention retrieved: a token's own features
        reach the output only by steering the attention.
    exclude_self : bool, default=False
        Tokens do not attend to themselves.
    causal : bool, default=False
        Token ``i`` attends only to tokens ``j <= i`` (sequences).
    positional : bool or 'auto', default='auto'
        Add a learned embedding of the position (sequences); without it the
        model is equivariant to permutations of the tokens (sets). 'auto' adds
        positions when ``X`` is 2-D: the columns of a feature matrix each have
        their own meaning, and without positions the model cannot tell which
        feature a value belongs to; a 3-D ``X`` is read as a set of tokens,
        without positions. The choice is
        stored in ``positional_``.
    output : {'sequence', 'tokens'}, default='sequence'
        One prediction per sample (from the mean token) or one per token.
    head_hidden_layer_sizes : tuple of int, default=(64,)
        Hidden widths of the readout MLP.
"""


class CompositionalAttentionRegressor(NeuralRegressorMixin, _AttentionEstimator):
    """Regression over sets or sequences of tokens with compositional attention.

    Tokens are embedded by an MLP, pass through ``n_layers`` attention blocks
    with residual connections, and are read out per token or after mean
    pooling. ``attention='multihead'`` gives the multi-head attention baseline
    with the same number of searches.
    {params}
    loss : {{'squared_error', 'absolute_error'}}, default='squared_error'
    alpha, batch_size, solver, learning_rate_init, momentum, max_grad_norm, max_iter, \
shuffle, random_state, tol, warm_start, early_stopping, validation_fraction, n_iter_no_change
        Training parameters, as in :class:`sklearn.neural_network.MLPRegressor`
        (``max_iter`` counts epochs).

    Attributes
    ----------
    n_tokens_, n_token_features_ : int
    positional_ : bool
        Whether positions are embedded (``positional`` with 'auto' resolved).
    n_outputs_ : int
    network_ : AttentionNetwork
    loss_curve_, n_iter_, t_, best_loss_, validation_scores_, best_validation_score_

    References
    ----------
    Mittal, Raparthy, Rish, Bengio, Lajoie. Compositional attention:
    disentangling search and retrieval. ICLR 2022, arXiv:2110.09419.

    Examples
    --------
    >>> import numpy as np
    >>> from graphsig.models import CompositionalAttentionRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(300, 5, 3))
    >>> y = X[:, :, 0].max(axis=1)           # a property of the whole set
    >>> reg = CompositionalAttentionRegressor(n_searches=2, n_retrievals=2, d_model=16,
    ...                                       max_iter=30, learning_rate_init=3e-3,
    ...                                       random_state=0).fit(X, y)
    >>> reg.predict(X).shape
    (300,)
    >>> reg.score(X, y) > 0.5
    True
    """

    _parameter_constraints = {**_ATTENTION_CONSTRAINTS,
                              "loss": [StrOptions({"squared_error", "absolute_error"})]}

    def __init__(self, n_tokens=None, *, attention="compositional", n_searches=4,
                 n_retrievals=4, d_model=64, search_dim=None, value_dim=None, n_layers=1,
                 ffn_width=None, layer_norm=False, residual=True, exclude_self=False,
                 causal=False, positional="auto", output="sequence", head_hidden_layer_sizes=(64,),
                 loss="squared_error", alpha=0.0, batch_size=64, solver="adam",
                 learning_rate_init=1e-3, momentum=0.9, max_grad_norm=None, max_iter=200,
                 shuffle=True, random_state=None, tol=1e-4, warm_start=False,
                 early_stopping=False, validation_fraction=0.1, n_iter_no_change=10):
        self.n_tokens = n_tokens
        self.attention = attention
        self.n_searches = n_searches
        self.n_retrievals = n_retrievals
        self.d_model = d_model
        self.search_dim = search_dim
        self.value_dim = value_dim
        self.n_layers = n_layers
        self.ffn_width = ffn_width
        self.layer_norm = layer_norm
        self.residual = residual
        self.exclude_self = exclude_self
        self.causal = causal
        self.positional = positional
        self.output = output
        self.head_hidden_layer_sizes = head_hidden_layer_sizes
        self.loss = loss
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

    def _n_network_outputs(self):
        return self.n_outputs_

    def _prepare_y(self, y, *, reset, classes=None):
        if self.output == "sequence":
            return super()._prepare_y(y, reset=reset)
        y = np.asarray(y)
        if y.ndim not in (2, 3):
            raise ValueError(
                "with output='tokens', y must have shape (n_samples, n_tokens) or "
                f"(n_samples, n_tokens, n_outputs); got {y.ndim} dimensions"
            )
        try:
            y = y.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"y must be numeric, got dtype {y.dtype}") from exc
        if not np.all(np.isfinite(y)):
            raise ValueError("y contains NaN or infinity")
        n_out = 1 if y.ndim == 2 else y.shape[2]
        if reset:
            self._y_ndim = y.ndim
            self.n_outputs_ = n_out
        elif n_out != self.n_outputs_:
            raise ValueError(f"y has {n_out} outputs per token, expected {self.n_outputs_}")
        return y.reshape(y.shape[0], y.shape[1], n_out)

    def _validation_score(self, X, y):
        pred = self._predict_output(X)
        return r2_score(y.reshape(-1, y.shape[-1]), pred.reshape(-1, pred.shape[-1]))

    def _format_prediction(self, out):
        if self.output == "sequence":
            return super()._format_prediction(out)
        return out[..., 0] if self._y_ndim == 2 else out

    def score(self, X, y, sample_weight=None):
        """R^2 of the predictions; with output='tokens', over all tokens pooled."""
        if self.output == "sequence":
            return super().score(X, y, sample_weight=sample_weight)
        pred = self.predict(X)
        y = np.asarray(y, dtype=np.float64)
        sw = None if sample_weight is None else np.repeat(np.asarray(sample_weight),
                                                          y.shape[1])
        k = 1 if y.ndim == 2 else y.shape[2]
        return r2_score(y.reshape(-1, k), pred.reshape(-1, k), sample_weight=sw)


if CompositionalAttentionRegressor.__doc__:  # absent under python -OO
    CompositionalAttentionRegressor.__doc__ = CompositionalAttentionRegressor.__doc__.format(
        params=_DOC_PARAMS)


class CompositionalAttentionClassifier(NeuralClassifierMixin, _AttentionEstimator):
    """Classification of sets or sequences of tokens with compositional attention.

    As :class:`CompositionalAttentionRegressor`, with one label per sample
    (``output='sequence'``) or per token (``output='tokens'``, ``y`` of shape
    ``(n_samples, n_tokens)``) and the cross-entropy loss.
    ``attention='multihead'`` gives the multi-head attention baseline.
    {params}
    alpha, batch_size, solver, learning_rate_init, momentum, max_grad_norm, max_iter, \
shuffle, random_state, tol, warm_start, early_stopping, validation_fraction, n_iter_no_change
        Training parameters, as in :class:`sklearn.neural_network.MLPClassifier`
        (``max_iter`` counts epochs).

    Attributes
    ----------
    classes_ : ndarray
    n_tokens_, n_token_features_ : int
    positional_ : bool
        Whether positions are embedded (``positional`` with 'auto' resolved).
    network_ : AttentionNetwork
    loss_curve_, n_iter_, t_, best_loss_, validation_scores_, best_validation_score_

    Examples
    --------
    >>> import numpy as np
    >>> from graphsig.models import CompositionalAttentionClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(400, 6, 2))
    >>> y = (X[:, :, 0] > 0).sum(axis=1) >= 3    # do most tokens have a positive feature?
    >>> clf = CompositionalAttentionClassifier(n_searches=2, n_retrievals=2, d_model=16,
    ...                                        max_iter=30, learning_rate_init=3e-3,
    ...                                        random_state=0).fit(X, y)
    >>> clf.score(X, y) > 0.8
    True
    """

    _parameter_constraints = dict(_ATTENTION_CONSTRAINTS)

    def __init__(self, n_tokens=None, *, attention="compositional", n_searches=4,
                 n_retrievals=4, d_model=64, search_dim=None, value_dim=None, n_layers=1,
                 ffn_width=None, layer_norm=False, residual=True, exclude_self=False,
                 causal=False, positional="auto", output="sequence", head_hidden_layer_sizes=(64,),
                 alpha=0.0, batch_size=64, solver="adam", learning_rate_init=1e-3,
                 momentum=0.9, max_grad_norm=None, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, warm_start=False, early_stopping=False,
                 validation_fraction=0.1, n_iter_no_change=10):
        self.n_tokens = n_tokens
        self.attention = attention
        self.n_searches = n_searches
        self.n_retrievals = n_retrievals
        self.d_model = d_model
        self.search_dim = search_dim
        self.value_dim = value_dim
        self.n_layers = n_layers
        self.ffn_width = ffn_width
        self.layer_norm = layer_norm
        self.residual = residual
        self.exclude_self = exclude_self
        self.causal = causal
        self.positional = positional
        self.output = output
        self.head_hidden_layer_sizes = head_hidden_layer_sizes
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

    def _n_network_outputs(self):
        return len(self.classes_)

    def _prepare_y(self, y, *, reset, classes=None):
        if self.output == "sequence":
            return super()._prepare_y(y, reset=reset, classes=classes)
        y = np.asarray(y)
        if y.ndim != 2:
            raise ValueError(
                "with output='tokens', y must have shape (n_samples, n_tokens); got "
                f"{y.ndim} dimensions"
            )
        return encode_labels(self, y, reset=reset, classes=classes, per_item=True)

    def _stratify(self, y):
        return super()._stratify(y) if y.ndim == 1 else None

    def _validation_score(self, X, y):
        pred = self._predict_output(X).argmax(axis=-1)
        return accuracy_score(y.ravel(), pred.ravel())

    def score(self, X, y, sample_weight=None):
        """Accuracy; with output='tokens', over all tokens pooled."""
        if self.output == "sequence":
            return super().score(X, y, sample_weight=sample_weight)
        y = np.asarray(y)
        sw = None if sample_weight is None else np.repeat(np.asarray(sample_weight),
                                                          y.shape[1])
        return accuracy_score(y.ravel(), self.predict(X).ravel(), sample_weight=sw)


if CompositionalAttentionClassifier.__doc__:  # absent under python -OO
    CompositionalAttentionClassifier.__doc__ = CompositionalAttentionClassifier.__doc__.format(
        params=_DOC_PARAMS)
