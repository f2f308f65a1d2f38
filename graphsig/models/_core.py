"""The shared training core of the graphsig models, in one import.

- layers (:mod:`graphsig.models._layers`): :class:`Module` with forward and
  backward passes and a flat parameter view, :class:`Dense`,
  :class:`Sequential`, activations, :class:`Normalization`, :func:`make_mlp`;
- losses (:mod:`graphsig.models._losses`);
- optimisers (:mod:`graphsig.models._optim`): :class:`Adam`, :class:`SGD`;
- the estimator base classes (:mod:`graphsig.models._base`) that run the
  mini-batch training loop;
- finite-difference gradient checks (:mod:`graphsig.models._gradcheck`).
"""

from ._base import (
    TRAINING_PARAMETER_CONSTRAINTS,
    BaseNeuralEstimator,
    NeuralClassifierMixin,
    NeuralRegressorMixin,
)
from ._gradcheck import (
    GradientCheckResult,
    check_estimator_gradients,
    check_gradients,
    check_module_gradients,
    numerical_gradient,
    relative_error,
)
from ._layers import (
    ACTIVATIONS,
    GELU,
    Activation,
    Dense,
    Identity,
    LeakyReLU,
    Logistic,
    Module,
    Normalization,
    ReLU,
    Sequential,
    Softplus,
    Tanh,
    make_activation,
    make_mlp,
)
from ._losses import (
    LOSSES,
    AbsoluteError,
    BinaryCrossEntropy,
    SoftmaxCrossEntropy,
    SquaredError,
    log_softmax,
    softmax,
)
from ._optim import SGD, Adam, clip_gradients

__all__ = [
    "ACTIVATIONS", "GELU", "LOSSES", "SGD", "TRAINING_PARAMETER_CONSTRAINTS",
    "AbsoluteError", "Activation", "Adam", "BaseNeuralEstimator", "BinaryCrossEntropy",
    "Dense", "GradientCheckResult", "Identity", "LeakyReLU", "Logistic", "Module",
    "NeuralClassifierMixin", "NeuralRegressorMixin", "Normalization", "ReLU", "Sequential",
    "SoftmaxCrossEntropy", "Softplus", "SquaredError", "Tanh", "check_estimator_gradients",
    "check_gradients", "check_module_gradients", "clip_gradients", "log_softmax", "make_activation",
    "make_mlp", "numerical_gradient", "relative_error", "softmax",
]
