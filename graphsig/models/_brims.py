"""Bidirectional recurrent independent mechanisms (BRIMs): competing recurrent modules.

Each of ``n_layers`` layers holds ``n_modules`` small recurrent modules of
``n_hidden`` units. At step ``t`` the modules of layer ``l`` compete for their
input through key-query attention (Mittal, Lamb, Goyal, Voleti, Shanahan,
Lajoie, Mozer and Bengio, 2020). Module ``k`` of layer ``l`` with state
``h_k`` forms a query ``q_k = h_k Q_k + c_k`` and attends over three
candidate inputs:

- a null input (key and value zero, so its score is 0);
- the bottom-up input ``u``: the token ``x_t`` for the first layer, the
  concatenated new states of layer ``l - 1`` otherwise;
- the top-down input ``d``: the concatenated states of layer ``l + 1`` at step
  ``t - 1`` (absent in the top layer),

with keys ``u K_u``, ``d K_d`` and values ``u V_u``, ``d V_d``:

.. math::

    a_k = \\mathrm{softmax}\\big(0,\\; q_k^\\top K_u^\\top u / \\sqrt{d_k},\\;
    q_k^\\top K_d^\\top d / \\sqrt{d_k}\\big), \\qquad
    i_k = a_{k,u} V_u^\\top u + a_{k,d} V_d^\\top d .

The ``top_k`` modules that attend least to the null input (largest
``1 - a_{k,\\mathrm{null}}``) are active: they update their state with a tanh
cell of their own weights, ``\\tilde h_k = \\tanh(i_k U_k + h_k W_k + b_k)``;
the others keep theirs. The active modules then read the states of the other
modules of the layer through a second attention (shared query, key and value
maps, residual): ``h_k \\leftarrow h_k + \\sum_{j \\ne k} \\alpha_{kj} h_j V_c``.
The read-out is linear in the top layer's final states.

The selection of the active modules is a discrete choice: the backward pass
treats it as a fixed mask (the gradient of the kept states flows to the
previous step unchanged, that of the updated ones through the cell and the
attention).
"""

import numbers

import numpy as np
from sklearn.utils import check_random_state

from ._base import (
    TRAINING_PARAMETER_CONSTRAINTS,
    BaseNeuralEstimator,
    NeuralClassifierMixin,
    NumberInterval,
)
from ._layers import Dense, Module
from ._sequences import SequenceInputMixin

__all__ = ["BRIMsNetwork", "BRIMsClassifier"]


def _softmax(s):
    s = s - s.max(axis=-1, keepdims=True)
    e = np.exp(s)
    return e / e.sum(axis=-1, keepdims=True)


def _uniform(rng, shape, fan_in, fan_out, dtype):
    bound = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-bound, bound, shape).astype(dtype)


class _BRIMsLayer(Module):
    """One layer of competing modules; ``step`` and ``step_backward`` for one time step."""

    def __init__(self, n_bottom_up, n_top_down, n_modules, n_hidden, top_k, key_size, rng,
                 dtype):
        super().__init__()
        K, n, dk = n_modules, n_hidden, key_size
        self.n_modules, self.n_hidden, self.top_k, self.key_size = K, n, top_k, dk
        self.top_down = n_top_down > 0
        self.add_param("Wq", _uniform(rng, (K, n, dk), n, dk, dtype))
        # query biases make the modules differ from the first step on, where h = 0
        self.add_param("bq", rng.standard_normal((K, dk)).astype(dtype), decay=False)
        self.add_param("Ku", _uniform(rng, (n_bottom_up, dk), n_bottom_up, dk, dtype))
        self.add_param("Vu", _uniform(rng, (n_bottom_up, n), n_bottom_up, n, dtype))
        if self.top_down:
            self.add_param("Kd", _uniform(rng, (n_top_down, dk), n_top_down, dk, dtype))
            self.add_param("Vd", _uniform(rng, (n_top_down, n), n_top_down, n, dtype))
        self.add_param("U", _uniform(rng, (K, n, n), n, n, dtype))
        self.add_param("W", np.stack([np.linalg.qr(rng.standard_normal((n, n)))[0]
                                      for _ in range(K)]).astype(dtype))
        self.add_param("b", np.zeros((K, n), dtype=dtype), decay=False)
        self.add_param("Qc", _uniform(rng, (n, dk), n, dk, dtype))
        self.add_param("Kc", _uniform(rng, (n, dk), n, dk, dtype))
        self.add_param("Vc", (0.5 * _uniform(rng, (n, n), n, n, dtype)).astype(dtype))

    def step(self, hp, u, d, mask=None):
        """New states from previous states ``hp`` (B, K, n), bottom-up ``u``, top-down ``d``.

        ``mask`` (B, K) of 0/1 imposes the active modules instead of selecting them.
        Returns the new states and the cache of :meth:`step_backward`.
        """
        K = self.n_modules
        scale = 1.0 / float(np.sqrt(self.key_size))
        q = np.einsum("bkn,knd->bkd", hp, self.Wq) + self.bq
        ku, vu = u @ self.Ku, u @ self.Vu
        cols = [np.zeros(q.shape[:2], dtype=q.dtype), np.einsum("bkd,bd->bk", q, ku) * scale]
        if self.top_down:
            kd, vd = d @ self.Kd, d @ self.Vd
            cols.append(np.einsum("bkd,bd->bk", q, kd) * scale)
        else:
            kd = vd = None
        a = _softmax(np.stack(cols, axis=-1))
        inp = a[..., 1:2] * vu[:, None]
        if self.top_down:
            inp = inp + a[..., 2:3] * vd[:, None]
        relevance = 1.0 - a[..., 0]
        if mask is None:
            order = np.argsort(-relevance, axis=1, kind="stable")[:, : self.top_k]
            mask = np.zeros(relevance.shape, dtype=hp.dtype)
            np.put_along_axis(mask, order, 1.0, axis=1)
        m = mask[..., None]
        ht = np.tanh(np.einsum("bkv,kvn->bkn", inp, self.U)
                     + np.einsum("bkn,knm->bkm", hp, self.W) + self.b)
        h1 = m * ht + (1.0 - m) * hp
        qc, kc, vc = h1 @ self.Qc, h1 @ self.Kc, h1 @ self.Vc
        sc = np.einsum("bkd,bjd->bkj", qc, kc) * scale
        if K > 1:
            sc = np.where(np.eye(K, dtype=bool), -np.inf, sc)
        ac = _softmax(sc)
        h = h1 + m * np.einsum("bkj,bjn->bkn", ac, vc)
        cache = (hp, u, d, q, ku, vu, kd, vd, a, inp, mask, ht, h1, qc, kc, vc, ac, relevance)
        return h, cache

    def step_backward(self, dh, cache):
        """Gradients of the inputs ``(hp, u, d)`` of one step; parameter gradients added."""
        hp, u, d, q, ku, vu, kd, vd, a, inp, mask, ht, h1, qc, kc, vc, ac, _ = cache
        g = self._grads
        n, dk = self.n_hidden, self.key_size
        scale = 1.0 / float(np.sqrt(dk))
        m = mask[..., None]
        # communication
        dc = m * dh
        dac = np.einsum("bkn,bjn->bkj", dc, vc)
        dvc = np.einsum("bkj,bkn->bjn", ac, dc)
        dsc = ac * (dac - (ac * dac).sum(axis=-1, keepdims=True)) * scale
        dqc = np.einsum("bkj,bjd->bkd", dsc, kc)
        dkc = np.einsum("bkj,bkd->bjd", dsc, qc)
        h1f = h1.reshape(-1, n)
        g["Qc"] += h1f.T @ dqc.reshape(-1, dk)
        g["Kc"] += h1f.T @ dkc.reshape(-1, dk)
        g["Vc"] += h1f.T @ dvc.reshape(-1, n)
        dh1 = dh + dqc @ self.Qc.T + dkc @ self.Kc.T + dvc @ self.Vc.T
        # update of the active modules
        dhp = (1.0 - m) * dh1
        dz = m * dh1 * (1.0 - ht * ht)
        g["U"] += np.einsum("bkv,bkn->kvn", inp, dz)
        g["W"] += np.einsum("bkn,bkm->knm", hp, dz)
        g["b"] += dz.sum(axis=0)
        dinp = np.einsum("bkn,kvn->bkv", dz, self.U)
        dhp += np.einsum("bkm,knm->bkn", dz, self.W)
        # input attention
        da = np.zeros_like(a)
        da[..., 1] = np.einsum("bkv,bv->bk", dinp, vu)
        dvu = np.einsum("bk,bkv->bv", a[..., 1], dinp)
        if self.top_down:
            da[..., 2] = np.einsum("bkv,bv->bk", dinp, vd)
            dvd = np.einsum("bk,bkv->bv", a[..., 2], dinp)
        ds = a * (da - (a * da).sum(axis=-1, keepdims=True)) * scale
        dq = ds[..., 1:2] * ku[:, None]
        dku = np.einsum("bk,bkd->bd", ds[..., 1], q)
        g["Ku"] += u.T @ dku
        g["Vu"] += u.T @ dvu
        du = dku @ self.Ku.T + dvu @ self.Vu.T
        dd = None
        if self.top_down:
            dq = dq + ds[..., 2:3] * kd[:, None]
            dkd = np.einsum("bk,bkd->bd", ds[..., 2], q)
            g["Kd"] += d.T @ dkd
            g["Vd"] += d.T @ dvd
            dd = dkd @ self.Kd.T + dvd @ self.Vd.T
        g["Wq"] += np.einsum("bkn,bkd->knd", hp, dq)
        g["bq"] += dq.sum(axis=0)
        dhp += np.einsum("bkd,knd->bkn", dq, self.Wq)
        return dhp, du, dd


class BRIMsNetwork(Module):
    """Layers of competing recurrent modules, trained by backpropagation through time.

    ``forward`` maps inputs of shape ``(n_samples, n_timesteps, n_in)`` to
    logits of shape ``(n_samples, n_out)``, read from the final states of the
    top layer. See the module docstring for the equations.

    Parameters
    ----------
    n_in, n_out : int
    n_layers : int, default=2
    n_modules : int, default=4
        Modules per layer.
    n_hidden : int, default=8
        Units per module.
    top_k : int, default=2
        Modules updated per layer and step.
    key_size : int, default=8
        Width of the queries and keys of both attentions.
    random_state : int, RandomState or None
    dtype : numpy dtype, default=float64

    Attributes
    ----------
    fixed_masks : ndarray of shape (n_timesteps, n_layers, n_samples, n_modules) or None
        When set, imposes the active modules instead of selecting them (used to
        check gradients with the discrete choice held fixed).
    masks_ : ndarray or None
        Active modules of the last forward pass, same shape (1.0 = active).
    margins_ : ndarray or None
        Of the last forward pass, per step, layer and sample: the gap in
        relevance between the last selected and the first unselected module.
    """

    def __init__(self, n_in, n_out, *, n_layers=2, n_modules=4, n_hidden=8, top_k=2,
                 key_size=8, random_state=None, dtype=np.float64):
        super().__init__()
        rng = check_random_state(random_state)
        self.n_layers, self.n_modules, self.n_hidden = int(n_layers), int(n_modules), \
            int(n_hidden)
        self.top_k = int(top_k)
        if not 1 <= self.top_k <= self.n_modules:
            raise ValueError(f"top_k={top_k} must be between 1 and n_modules={n_modules}")
        width = self.n_modules * self.n_hidden
        for i in range(self.n_layers):
            self.add_module(f"layer{i}", _BRIMsLayer(
                n_in if i == 0 else width, width if i < self.n_layers - 1 else 0,
                self.n_modules, self.n_hidden, self.top_k, int(key_size), rng, dtype))
        self.add_module("readout", Dense(width, n_out, random_state=rng, dtype=dtype))
        self.fixed_masks = None
        self.masks_ = None
        self.margins_ = None
        self._cache = None

    @property
    def layers(self):
        return [self._modules[f"layer{i}"] for i in range(self.n_layers)]

    def _run(self, X):
        B, T, _ = X.shape
        L, K, n = self.n_layers, self.n_modules, self.n_hidden
        layers = self.layers
        zero = np.zeros((B, K, n), dtype=X.dtype)
        H = [[None] * T for _ in range(L)]
        caches = [[None] * T for _ in range(L)]
        masks = np.zeros((T, L, B, K), dtype=X.dtype)
        margins = np.full((T, L, B), np.inf)
        for t in range(T):
            for i, layer in enumerate(layers):
                hp = H[i][t - 1] if t else zero
                u = X[:, t] if i == 0 else H[i - 1][t].reshape(B, K * n)
                d = None
                if i < L - 1:
                    d = (H[i + 1][t - 1] if t else zero).reshape(B, K * n)
                fixed = None if self.fixed_masks is None else self.fixed_masks[t, i]
                H[i][t], caches[i][t] = layer.step(hp, u, d, fixed)
                masks[t, i] = caches[i][t][10]
                if self.top_k < K:
                    rel = np.sort(caches[i][t][-1], axis=1)[:, ::-1]
                    margins[t, i] = rel[:, self.top_k - 1] - rel[:, self.top_k]
        self.masks_, self.margins_ = masks, margins
        return H, caches

    def final_states(self, X):
        """Final states of every layer, shape (n_layers, n_samples, n_modules, n_hidden)."""
        H, _ = self._run(X)
        return np.stack([h[-1] for h in H])

    def forward(self, X):
        H, caches = self._run(X)
        self._cache = caches
        top = H[-1][-1]
        return self.readout.forward(top.reshape(top.shape[0], -1))

    def backward(self, grad_out):
        caches = self._cache
        L, T = len(caches), len(caches[0])
        B = grad_out.shape[0]
        K, n = self.n_modules, self.n_hidden
        layers = self.layers
        dH = [[None] * (T + 1) for _ in range(L)]  # dH[i][t + 1] is the gradient of h^i_t
        for i in range(L):
            for t in range(T + 1):
                dH[i][t] = np.zeros((B, K, n), dtype=grad_out.dtype)
        dH[-1][T] += self.readout.backward(grad_out).reshape(B, K, n)
        dX = None
        for t in range(T - 1, -1, -1):
            for i in range(L - 1, -1, -1):
                dhp, du, dd = layers[i].step_backward(dH[i][t + 1], caches[i][t])
                dH[i][t] += dhp
                if i == 0:
                    if dX is None:
                        dX = np.zeros((B, T, du.shape[1]), dtype=du.dtype)
                    dX[:, t] = du
                else:
                    dH[i - 1][t + 1] += du.reshape(B, K, n)
                if dd is not None:
                    dH[i + 1][t] += dd.reshape(B, K, n)
        return dX


class BRIMsClassifier(SequenceInputMixin, NeuralClassifierMixin, BaseNeuralEstimator):
    """Sequence classifier of layers of recurrent modules competing for their input (BRIMs).

    Each layer holds ``n_modules`` small tanh recurrent modules. At every step
    the modules attend, by key-query attention, to the bottom-up input (the
    token, or the layer below), the top-down input (the layer above at the
    previous step) and a null input; only the ``top_k`` modules that attend
    least to the null input update their state, the others keep it, and the
    updated modules then read the other modules of their layer through a
    second attention. Labels are read from the top layer's final states. See
    :class:`BRIMsNetwork` for the equations. Trained by backpropagation
    through time with hand-written gradients (the choice of the active
    modules is held fixed in the backward pass).

    Inputs are sequences of shape ``(n_samples, n_timesteps, n_features)``,
    or 2-D arrays of shape ``(n_samples, n_timesteps * n_features)`` read
    with ``n_timesteps`` (None reads each column as one step of a scalar
    sequence). Targets are one label per sequence.

    Parameters
    ----------
    n_layers : int, default=2
    n_modules : int, default=4
        Recurrent modules per layer.
    n_hidden : int, default=8
        Units per module.
    top_k : int, default=2
        Modules updated per layer and step; at most ``n_modules``
        (``top_k=n_modules`` turns the competition off).
    key_size : int, default=8
        Width of the queries and keys.
    n_timesteps : int or None, default=None
        Length of the sequences when ``X`` is 2-D.
    alpha : float, default=0.0
        L2 penalty on the weights.
    batch_size, solver, learning_rate_init, momentum, max_grad_norm, max_iter, \
shuffle, random_state, tol, warm_start, early_stopping, validation_fraction, \
n_iter_no_change
        Training loop, as in :class:`sklearn.neural_network.MLPClassifier`
        (``max_iter`` counts epochs; ``max_grad_norm`` clips the joint
        gradient norm, 1.0 by default).

    Attributes
    ----------
    classes_ : ndarray
    network_ : BRIMsNetwork
    n_timesteps_ : int
    n_features_in_ : int
        ``n_timesteps_`` times the features per step.
    loss_curve_ : list of float
    n_iter_, t_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from graphsig.models import BRIMsClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(40, 6, 3))
    >>> y = (X[:, :, 0].sum(axis=1) > 0).astype(int)
    >>> clf = BRIMsClassifier(n_modules=3, n_hidden=4, top_k=2, max_iter=5,
    ...                       random_state=0).fit(X, y)
    >>> clf.predict(X[:3]).shape
    (3,)
    >>> clf.active_modules(X[:2]).shape        # (steps, layers, samples, modules)
    (6, 2, 2, 3)

    References
    ----------
    Mittal, Lamb, Goyal, Voleti, Shanahan, Lajoie, Mozer and Bengio, "Learning
    to combine top-down and bottom-up signals in recurrent neural networks with
    attention over modules", ICML 2020 (arXiv:2006.16981).
    """

    _parameter_constraints = {
        **TRAINING_PARAMETER_CONSTRAINTS,
        "n_layers": [NumberInterval(numbers.Integral, 1, None, closed="left")],
        "n_modules": [NumberInterval(numbers.Integral, 1, None, closed="left")],
        "n_hidden": [NumberInterval(numbers.Integral, 1, None, closed="left")],
        "top_k": [NumberInterval(numbers.Integral, 1, None, closed="left")],
        "key_size": [NumberInterval(numbers.Integral, 1, None, closed="left")],
        "n_timesteps": [None, NumberInterval(numbers.Integral, 1, None, closed="left")],
    }

    def __init__(self, n_layers=2, *, n_modules=4, n_hidden=8, top_k=2, key_size=8,
                 n_timesteps=None, alpha=0.0, batch_size="auto", solver="adam",
                 learning_rate_init=1e-2, momentum=0.9, max_grad_norm=1.0, max_iter=50,
                 shuffle=True, random_state=None, tol=1e-4, warm_start=False,
                 early_stopping=False, validation_fraction=0.1, n_iter_no_change=10):
        self.n_layers = n_layers
        self.n_modules = n_modules
        self.n_hidden = n_hidden
        self.top_k = top_k
        self.key_size = key_size
        self.n_timesteps = n_timesteps
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

    # -- data -------------------------------------------------------------------------
    def _prepare_X(self, X, *, reset):
        if reset and self.top_k > self.n_modules:
            raise ValueError(f"top_k={self.top_k} is larger than n_modules={self.n_modules}: "
                             "at most all the modules of a layer can be active")
        return super()._prepare_X(X, reset=reset)

    def _build_network(self, X, y, random_state, dtype):
        return BRIMsNetwork(X.shape[2], len(self.classes_), n_layers=self.n_layers,
                            n_modules=self.n_modules, n_hidden=self.n_hidden,
                            top_k=self.top_k, key_size=self.key_size,
                            random_state=random_state, dtype=dtype)

    # -- analysis ---------------------------------------------------------------------
    def active_modules(self, X):
        """Which modules update their state, per step, layer and sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features)

        Returns
        -------
        ndarray of bool, shape (n_timesteps, n_layers, n_samples, n_modules)
        """
        X = self._check_fitted_and_prepare(X)
        self._predict_output(X)
        return self.network_.masks_.astype(bool)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        return tags
