"""graphsig: optimal transport on graphs.

Embed nonnegative signals on the nodes of a graph into vectors whose L1
distances approximate the earth mover's distance (EMD) with the graph's
geodesic as ground cost, in a balanced form (Diffusion EMD) and an unbalanced
form where mass may be created or destroyed at a stated cost; compute exact
EMD for checking; and fit scikit-learn estimators for relational and
learning-dynamics models.

Importing graphsig is cheap: the public names below are loaded on first use,
and numba kernels compile lazily (with an on-disk cache) the first time they
run.
"""

from ._lazy import attach

__version__ = "0.1.0"

# public name -> module that defines it (imported on first access)
_LAZY = {
    # graphs in
    "as_adjacency": "graphsig.graphs",
    "knn_graph": "graphsig.graphs",
    # diffusion engine
    "DiffusionOperator": "graphsig.diffusion",
    # EMD
    "DiffusionEMD": "graphsig.emd",
    "UnbalancedDiffusionEMD": "graphsig.emd",
    "GraphSignalFeaturizer": "graphsig.emd",
    "exact_emd": "graphsig.emd",
    # neighbours and kernels over embeddings
    "EMDNeighbors": "graphsig.neighbors",
    "l1_kneighbors": "graphsig.neighbors",
    "knn_affinity": "graphsig.neighbors",
    # models (see graphsig.models)
    "CoRelNetClassifier": "graphsig.models",
    "CompositionalAttentionClassifier": "graphsig.models",
    "CompositionalAttentionRegressor": "graphsig.models",
    "SpectralDecouplingClassifier": "graphsig.models",
    "FisherPenaltyClassifier": "graphsig.models",
    "NonNormalRNNClassifier": "graphsig.models",
    "GradientFlowClassifier": "graphsig.models",
}

_SUBMODULES = {
    "graphs", "diffusion", "emd", "neighbors", "datasets", "models", "dynamics", "io", "parallel",
    "sc", "optim",
}

__getattr__, __dir__, __all__ = attach(__name__, _LAZY, _SUBMODULES)
