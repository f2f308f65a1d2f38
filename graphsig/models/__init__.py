"""scikit-learn estimators for relational and learning-dynamics models.

Every model is written in numpy with hand-written gradients on one shared
training core, whose private modules are laid out as scikit-learn's
``sklearn.neural_network``:

- ``_base``: the estimator base classes (training loop, label encoding,
  classifier and regressor mixins);
- ``_layers``: :class:`Module` (forward and backward passes, flat parameter
  views), ``Dense``, ``Sequential``, ``Normalization``, ``make_mlp``;
- ``_activations``: every activation in one table (function, derivatives,
  compiled form), with the adaptive activation and modReLU;
- ``_multilayer_perceptron``: the network of the MLP estimators;
- ``_losses``, ``_optim``, ``_gradcheck``: losses, optimisers, finite-difference
  gradient checks;
- one module per model.

Names are loaded on first use.
"""

from .._lazy import attach

# public name -> private module defining it
_LAZY = {
    # relational models
    "CoRelNetClassifier": "graphsig.models._corelnet",
    "CompositionalAttentionClassifier": "graphsig.models._attention",
    "CompositionalAttentionRegressor": "graphsig.models._attention",
    # learning-dynamics models
    "SpectralDecouplingClassifier": "graphsig.models._spectral_decoupling",
    "FisherPenaltyClassifier": "graphsig.models._fisher",
    "NonNormalRNNClassifier": "graphsig.models._rnn",
    "GradientFlowClassifier": "graphsig.models._gradient_flow",
    "meta_fit_adaptation_time": "graphsig.models._gradient_flow",
    "RelevancyScreeningRNNClassifier": "graphsig.models._relevancy",
    "RecurrentPrimitivesClassifier": "graphsig.models._modular",
    "BRIMsClassifier": "graphsig.models._brims",
    # two-player games (LEAD)
    "AdversarialGenerator": "graphsig.models._adversarial",
    # adaptive activation (usable in every MLP and RNN above)
    "AdaptiveActivation": "graphsig.models._activations",
    "adaptive_activation": "graphsig.models._activations",
}

__getattr__, __dir__, __all__ = attach(__name__, _LAZY)
