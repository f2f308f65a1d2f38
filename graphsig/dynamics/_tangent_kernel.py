"""The empirical neural tangent kernel of a network and its alignment with targets.

For a network ``f(x; theta)`` with outputs ``f_1 .. f_C``, the empirical
tangent kernel on samples ``x_1 .. x_n`` is

.. math::

    K_{ij} = \\sum_c \\nabla_\\theta f_c(x_i)^\\top \\nabla_\\theta f_c(x_j),

the Gram matrix of the per-sample, per-output parameter gradients: the kernel
that governs a small gradient step. Its centred alignment with the targets
(Cristianini et al., 2002; Cortes et al., 2012) is

.. math::

    A(K, Y) = \\frac{\\langle H K H, H Y Y^\\top H \\rangle_F}
                   {\\lVert H K H \\rVert_F \\, \\lVert H Y Y^\\top H \\rVert_F},
    \\qquad H = I - \\tfrac{1}{n} \\mathbf{1}\\mathbf{1}^\\top,

with ``Y`` the one-hot labels (or the real targets); it is 1 when the kernel is
a multiple of the centred target kernel. Baratin et al. (2021) found that it
rises during training with true labels (the kernel adapts to the task) and
that the kernel concentrates on a few directions.
"""

import numpy as np

__all__ = ["tangent_kernel", "tangent_kernel_alignment"]


def _network_and_inputs(model, X):
    """``(forward, backward, params_module, X_internal)`` for an estimator or a module."""
    if hasattr(model, "network_") or hasattr(model, "_check_fitted_and_prepare"):
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(model, "network_")
        Xi = model._check_fitted_and_prepare(X)
        return model._forward, model._backward, model.network_, Xi
    if all(hasattr(model, name) for name in ("forward", "backward", "zero_grad",
                                             "get_flat_grads")):
        Xi = np.asarray(X, dtype=np.float64)
        if not np.all(np.isfinite(Xi)):
            raise ValueError("X contains NaN or infinity")
        return model.forward, model.backward, model, Xi
    raise TypeError(
        "model must be a fitted graphsig neural estimator (with network_) or a network "
        f"module with forward, backward, zero_grad and get_flat_grads, got {type(model).__name__}"
    )


def _jacobian(model, X):
    """Per-sample, per-output parameter gradients, shape (n_samples, n_outputs, n_params)."""
    forward, backward, net, Xi = _network_and_inputs(model, X)
    n = Xi.shape[0] if hasattr(Xi, "shape") else len(Xi)
    if n < 2:
        raise ValueError(f"the tangent kernel needs at least 2 samples, got {n}")
    rows = []
    for i in range(n):
        xi = Xi[i:i + 1]
        out = forward(xi)
        n_out = int(np.prod(out.shape[1:]))
        per_output = np.empty((n_out, net.n_params))
        for c in range(n_out):
            net.zero_grad()
            forward(xi)  # one backward per forward (the modules cache one pass)
            seed = np.zeros(out.shape, dtype=out.dtype)
            seed.reshape(-1)[c] = 1.0
            backward(seed)
            per_output[c] = net.get_flat_grads()
        rows.append(per_output)
    net.zero_grad()
    if hasattr(net, "clear_cache"):
        net.clear_cache()
    J = np.stack(rows)
    if not np.all(np.isfinite(J)):
        raise ValueError("the network's parameter gradients on X are not finite")
    return J


def tangent_kernel(model, X):
    """Empirical neural tangent kernel of a fitted network on the samples ``X``.

    Parameters
    ----------
    model : fitted graphsig neural estimator or network module
        An estimator of :mod:`graphsig.models` trained by gradient descent
        (anything with ``network_``), whose inputs ``X`` are validated as by
        its ``predict``; or a :class:`~graphsig.models._layers.Module`, fed
        ``X`` as is.
    X : array-like of shape (n_samples, ...)
        At least 2 samples. The cost is one forward and backward pass per
        sample and output.

    Returns
    -------
    kernel : ndarray of shape (n_samples, n_samples)
        ``K_ij = sum_c grad f_c(x_i) . grad f_c(x_j)``, symmetric positive
        semi-definite.

    Examples
    --------
    >>> import numpy as np
    >>> from graphsig.dynamics import tangent_kernel
    >>> from graphsig.models._layers import Dense
    >>> layer = Dense(3, 1, random_state=0)      # f(x) = x . w + b
    >>> X = np.array([[1.0, 0, 0], [0, 2.0, 0]])
    >>> tangent_kernel(layer, X)                  # x_i . x_j + 1
    array([[2., 1.],
           [1., 5.]])
    """
    J = _jacobian(model, X)
    flat = J.reshape(J.shape[0], -1)
    return flat @ flat.T


def _target_matrix(model, y, n):
    y = np.asarray(y)
    if y.ndim == 0 or y.shape[0] != n:
        raise ValueError(f"y must have one entry per sample ({n}), got shape {y.shape}")
    classes = getattr(model, "classes_", None)
    if y.ndim == 1 and (classes is not None or y.dtype.kind not in "fc"):
        labels = np.asarray(classes) if classes is not None else np.unique(y)
        index = np.searchsorted(labels, y)
        index = np.clip(index, 0, len(labels) - 1)
        if not np.all(labels[index] == y):
            unknown = np.setdiff1d(y, labels)
            raise ValueError(f"y contains labels the model does not know: {unknown.tolist()}")
        Y = np.zeros((n, len(labels)))
        Y[np.arange(n), index] = 1.0
        return Y
    if y.dtype.kind not in "fiub":
        raise ValueError(f"y must hold class labels or real targets, got dtype {y.dtype}")
    Y = y.astype(np.float64).reshape(n, -1)
    if not np.all(np.isfinite(Y)):
        raise ValueError("y contains NaN or infinity")
    return Y


def _centred(K):
    return K - K.mean(axis=0) - K.mean(axis=1)[:, None] + K.mean()


def tangent_kernel_alignment(model, X, y, *, centered=True, return_kernel=False):
    """Alignment of a network's tangent kernel with the targets.

    Parameters
    ----------
    model : fitted graphsig neural estimator or network module
        See :func:`tangent_kernel`.
    X : array-like of shape (n_samples, ...)
    y : array-like of shape (n_samples,) or (n_samples, n_targets)
        Class labels (one-hot encoded over the model's ``classes_``, or over
        the labels present when the model has none), or real targets.
    centered : bool, default=True
        Centre both kernels (``H K H``) first, so that a constant offset of
        the outputs does not count as alignment.
    return_kernel : bool, default=False
        Also return the tangent kernel.

    Returns
    -------
    alignment : float
        In ``[-1, 1]`` (in ``[0, 1]`` as both kernels are positive
        semi-definite); 0.0 when either centred kernel is zero.
    kernel : ndarray of shape (n_samples, n_samples)
        Only if ``return_kernel``.

    Examples
    --------
    A linear model's tangent kernel is the linear kernel of its inputs, so
    its alignment measures how well the inputs separate the labels:

    >>> import numpy as np
    >>> from graphsig.dynamics import tangent_kernel_alignment
    >>> from graphsig.models._layers import Dense
    >>> X = np.array([[1.0], [1.1], [-1.0], [-0.9]])
    >>> round(tangent_kernel_alignment(Dense(1, 1, random_state=0), X, [1, 1, 0, 0]), 3)
    0.998

    References
    ----------
    Baratin, George, Laurent, Hjelm, Lajoie, Vincent and Lacoste-Julien,
    "Implicit regularization via neural feature alignment", AISTATS 2021
    (arXiv:2008.00938).
    """
    if not isinstance(centered, (bool, np.bool_)):
        raise TypeError(f"centered must be a boolean, got {centered!r}")
    K = tangent_kernel(model, X)
    n = K.shape[0]
    Y = _target_matrix(model, y, n)
    T = Y @ Y.T
    if centered:
        Kc, Tc = _centred(K), _centred(T)
    else:
        Kc, Tc = K, T
    denom = float(np.linalg.norm(Kc) * np.linalg.norm(Tc))
    value = float(np.sum(Kc * Tc) / denom) if denom > 0 else 0.0
    return (value, K) if return_kernel else value

