"""scikit-learn estimators for relational and learning-dynamics models.

Every model is written in numpy with hand-written gradients on one shared
training core (``graphsig.models._core``). Names are loaded on first use.
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
    # adaptive activation (usable in every MLP and RNN above)
    "AdaptiveActivation": "graphsig.models._activations",
    "adaptive_activation": "graphsig.models._activations",
}

__getattr__, __dir__, __all__ = attach(__name__, _LAZY)
