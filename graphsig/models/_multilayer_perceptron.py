"""What the multi-layer perceptron estimators share: their network and its parameters.

:class:`MLPMixin` builds the network of an MLP estimator
(:class:`~graphsig.models.SpectralDecouplingClassifier`,
:class:`~graphsig.models.FisherPenaltyClassifier`) from its
``hidden_layer_sizes``, ``activation`` (any key of
:data:`graphsig.models._activations.ACTIVATIONS`, the adaptive activation
included) and ``init``, and reports the fitted shapes of adaptive activations.
The training loop is :class:`graphsig.models._base.BaseNeuralEstimator`'s.
"""

import numpy as np
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import check_is_fitted

from ._activations import (
    ACTIVATION_NAMES,
    activation_factory,
    adaptive_parameters,
    check_adaptive_init,
)
from ._layers import make_mlp

__all__ = ["MLPMixin", "MLP_PARAMETER_CONSTRAINTS"]


#: constraints of the network parameters shared by the MLP estimators
MLP_PARAMETER_CONSTRAINTS = {
    "hidden_layer_sizes": ["array-like"],
    "activation": [StrOptions(set(ACTIVATION_NAMES))],
    "adaptive_per_neuron": ["boolean"],
    "adaptive_init": [tuple, list],
    "init": [StrOptions({"fan_in_uniform", "glorot_uniform", "he_uniform"})],
}


class MLPMixin:
    """Network building and fitted activation shapes of the MLP estimators.

    The estimator defines ``hidden_layer_sizes``, ``activation``,
    ``adaptive_per_neuron``, ``adaptive_init`` and ``init``, and ``_n_outputs()``.
    ``init='fan_in_uniform'`` draws weights and biases uniformly on
    ``(-1/sqrt(fan_in), 1/sqrt(fan_in))``; 'glorot_uniform' and 'he_uniform'
    draw the weights so and set the biases to zero. The parameters have the
    dtype of the training data (float32 or float64).
    """

    def _hidden_sizes(self):
        sizes = np.atleast_1d(np.asarray(self.hidden_layer_sizes))
        if sizes.ndim != 1 or not np.issubdtype(sizes.dtype, np.integer) or np.any(sizes < 1):
            raise ValueError(
                f"hidden_layer_sizes must be a sequence of positive integers, got "
                f"{self.hidden_layer_sizes!r}"
            )
        return [int(s) for s in sizes]

    def _check_adaptive_init(self):
        return check_adaptive_init(self.adaptive_init)

    def _build_network(self, X, y, random_state, dtype):
        factory = activation_factory(self.activation, per_neuron=self.adaptive_per_neuron,
                                     init=self._check_adaptive_init())
        sizes = [X.shape[1], *self._hidden_sizes(), self._n_outputs()]
        return make_mlp(sizes, activation=factory, init=self.init, random_state=random_state,
                        dtype=dtype)

    @property
    def activation_gain_(self):
        """Fitted gains ``n`` of the adaptive activations, one array per hidden layer
        (shape (1,) per layer or (width,) per neuron); None for other activations."""
        check_is_fitted(self, "network_")
        return adaptive_parameters(self.network_.layers)[0]

    @property
    def activation_saturation_(self):
        """Fitted saturations ``s``, as :attr:`activation_gain_`."""
        check_is_fitted(self, "network_")
        return adaptive_parameters(self.network_.layers)[1]
