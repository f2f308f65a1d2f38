"""Cloning estimators that hold a graph."""

__all__ = ["clone_sharing_graph"]


def clone_sharing_graph(estimator):
    """An unfitted copy of ``estimator`` whose ``graph`` is the same object.

    The graph is input data that estimators never modify, so clones (a grid
    search over a million-edge graph makes many) share it instead of
    deep-copying it; every other parameter is cloned as scikit-learn does.
    """
    from sklearn.base import clone

    params = estimator.get_params(deep=False)
    graph = params.pop("graph")
    new = type(estimator)(graph=graph, **{k: clone(v, safe=False) for k, v in params.items()})
    if hasattr(estimator, "_metadata_request"):
        new._metadata_request = clone(estimator._metadata_request, safe=False)
    return new
