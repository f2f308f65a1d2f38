"""scikit-learn estimators for relational and learning-dynamics models.

Every model is written in numpy with hand-written gradients on one shared
training core (``graphsig.models._core``). Names are loaded on first use.
"""

from importlib import import_module

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

__all__ = sorted(_LAZY)


def __getattr__(name):
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'graphsig.models' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
