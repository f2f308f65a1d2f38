"""Loss functions returning the mean loss and its gradient.

A loss is called as ``loss(output, target, sample_weight=None)`` and returns
``(value, grad_output)``: the weighted mean over samples (and over the tokens
of a sample, for per-token outputs) and the gradient of that mean with respect
to ``output``.
"""

import numpy as np

from ._activations import sigmoid as _sigmoid
from ._activations import softplus as _softplus

__all__ = [
    "softmax",
    "log_softmax",
    "SoftmaxCrossEntropy",
    "BinaryCrossEntropy",
    "SquaredError",
    "AbsoluteError",
    "LOSSES",
]


def softmax(x, axis=-1):
    """Numerically stable softmax along ``axis``."""
    z = x - x.max(axis=axis, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=axis, keepdims=True)
    return z


def log_softmax(x, axis=-1):
    """Numerically stable log-softmax along ``axis``."""
    z = x - x.max(axis=axis, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=axis, keepdims=True))


def _weights(sample_weight, n_samples, shape, dtype):
    """Per-element weights broadcast over ``shape`` (leading axis = samples),
    normalised so that they sum to 1 over all elements."""
    n_elem_per_sample = int(np.prod(shape[1:])) if len(shape) > 1 else 1
    if sample_weight is None:
        w = np.full(n_samples, 1.0 / (n_samples * n_elem_per_sample), dtype=dtype)
    else:
        sw = np.asarray(sample_weight, dtype=dtype)
        total = sw.sum() * n_elem_per_sample
        if total <= 0:
            raise ValueError("sample_weight must have a positive sum")
        w = sw / total
    return w.reshape((n_samples,) + (1,) * (len(shape) - 1))


class SoftmaxCrossEntropy:
    """Cross-entropy of integer labels under the softmax of logits.

    ``output`` has shape ``(n_samples, ..., n_classes)``; ``target`` holds
    integer labels of shape ``(n_samples, ...)``.
    """

    def __call__(self, output, target, sample_weight=None):
        target = np.asarray(target, dtype=np.intp)
        logp = log_softmax(output, axis=-1)
        nll = -np.take_along_axis(logp, target[..., None], axis=-1)[..., 0]
        w = _weights(sample_weight, output.shape[0], nll.shape, output.dtype)
        value = float((w * nll).sum())
        grad = np.exp(logp)
        np.put_along_axis(
            grad, target[..., None],
            np.take_along_axis(grad, target[..., None], axis=-1) - 1, axis=-1,
        )
        grad *= w[..., None]
        return value, grad


class BinaryCrossEntropy:
    """Logistic loss of 0/1 targets given logits of the same shape."""

    def __call__(self, output, target, sample_weight=None):
        target = np.asarray(target, dtype=output.dtype).reshape(output.shape)
        # log(1 + exp(-y z)) in the stable form softplus(z) - t z
        per = _softplus(output) - target * output
        w = _weights(sample_weight, output.shape[0], per.shape, output.dtype)
        value = float((w * per).sum())
        grad = w * (_sigmoid(output) - target)
        return value, grad


class SquaredError:
    """Half the squared error, ``0.5 * (output - target)**2``, averaged."""

    def __call__(self, output, target, sample_weight=None):
        target = np.asarray(target, dtype=output.dtype).reshape(output.shape)
        diff = output - target
        w = _weights(sample_weight, output.shape[0], diff.shape, output.dtype)
        value = float((w * 0.5 * diff * diff).sum())
        return value, w * diff


class AbsoluteError:
    """Absolute (L1) error, averaged; its gradient is the sign of the residual."""

    def __call__(self, output, target, sample_weight=None):
        target = np.asarray(target, dtype=output.dtype).reshape(output.shape)
        diff = output - target
        w = _weights(sample_weight, output.shape[0], diff.shape, output.dtype)
        value = float((w * np.abs(diff)).sum())
        return value, w * np.sign(diff)


LOSSES = {
    "cross_entropy": SoftmaxCrossEntropy,
    "binary_cross_entropy": BinaryCrossEntropy,
    "squared_error": SquaredError,
    "absolute_error": AbsoluteError,
}
