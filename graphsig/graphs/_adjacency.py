"""One validated sparse adjacency from what users hold.

:func:`as_adjacency` is the single entry point through which every graph
enters graphsig. It accepts scipy.sparse matrices and arrays, dense arrays,
networkx graphs and pygsp graphs, and returns a canonical
``scipy.sparse.csr_matrix``: floating dtype, sorted indices, no duplicate
entries, no explicit zeros, no self-loops, symmetric, nonnegative and finite.
"""

import sys

import numpy as np
import scipy.sparse as sp

from .._validation import check_sparse_structure

__all__ = ["as_adjacency", "connected_components", "check_connected", "largest_component"]

# |A - A.T| max must not exceed SYMMETRY_RTOL * max |A| (for float64 inputs;
# lower-precision inputs get a tolerance scaled to their machine epsilon).
SYMMETRY_RTOL = 1e-8

_ALLOWED_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def as_adjacency(graph, *, weight="weight", dtype=np.float64):
    r"""Validate a graph and return its canonical sparse adjacency matrix.

    Parameters
    ----------
    graph : sparse matrix or array, array-like, networkx.Graph or pygsp graph
        The graph. Accepted forms:

        - any ``scipy.sparse`` matrix or array, in any format (csr, csc, coo,
          lil, dok, dia, bsr, ...), of boolean, integer or real dtype;
        - a dense square array or nested lists;
        - an undirected ``networkx.Graph`` (or ``MultiGraph``, whose parallel
          edges are summed); nodes are numbered in the order of
          ``list(graph.nodes)``;
        - a pygsp graph, whose weight matrix ``graph.W`` is used.
    weight : str or None, default="weight"
        For networkx graphs only: the edge attribute holding the weight.
        Edges without it weigh 1; ``None`` gives every edge weight 1.
        Ignored for the other input types.
    dtype : {numpy.float64, numpy.float32}, default=numpy.float64
        Floating dtype of the result.

    Returns
    -------
    adjacency : scipy.sparse.csr_matrix of shape (n_nodes, n_nodes)
        Canonical adjacency: ``dtype`` entries, sorted indices, duplicates
        summed, explicit zeros removed, and the diagonal removed (self-loops
        are dropped: they do not affect transport along edges). Its index
        arrays are int32 or int64, as scipy chooses. When ``graph`` is
        already a canonical ``csr_matrix`` of the requested dtype it is
        returned as is, without a copy; otherwise the result may still share
        memory with ``graph``.

    Raises
    ------
    TypeError
        If ``graph`` is of an unsupported type, or its entries are not real
        numbers (complex, object, strings).
    ValueError
        If the adjacency is not a square 2-D matrix, has no nodes or no edges,
        has NaN, infinite or negative weights, or is asymmetric: the largest
        ``|A - A.T|`` must be at most ``1e-8 * max |A|`` (for float32 and
        float16 inputs, a few units of their machine epsilon instead). A
        matrix symmetric within that tolerance is made exactly symmetric as
        ``(A + A.T) / 2``. Directed networkx graphs are rejected.

    Notes
    -----
    Weights are checked (finite, nonnegative) on all stored entries, the
    diagonal included, after duplicate entries are summed.

    Examples
    --------
    >>> import numpy as np
    >>> from graphsig.graphs import as_adjacency
    >>> A = as_adjacency(np.array([[1, 2, 0], [2, 0, 1], [0, 1, 0]]))
    >>> A.toarray()
    array([[0., 2., 0.],
           [2., 0., 1.],
           [0., 1., 0.]])
    >>> A.dtype, A.nnz
    (dtype('float64'), 4)
    >>> as_adjacency(A) is A
    True
    """
    dtype = _check_dtype(dtype)
    matrix = _to_sparse(graph, weight)
    return _canonical_csr(matrix, dtype)


def connected_components(adjacency):
    """Connected components of a graph.

    Parameters
    ----------
    adjacency : graph
        Anything :func:`as_adjacency` accepts.

    Returns
    -------
    n_components : int
        Number of connected components.
    labels : ndarray of shape (n_nodes,), dtype int
        Component label, in ``range(n_components)``, of each node.

    Examples
    --------
    >>> from graphsig.graphs import connected_components
    >>> A = [[0, 1, 0, 0], [1, 0, 0, 0], [0, 0, 0, 1], [0, 0, 1, 0]]
    >>> n_components, labels = connected_components(A)
    >>> n_components, labels.tolist()
    (2, [0, 0, 1, 1])
    """
    from scipy.sparse.csgraph import connected_components as _components

    adjacency = as_adjacency(adjacency)
    n_components, labels = _components(adjacency, directed=False)
    return int(n_components), labels


def check_connected(adjacency, *, what="the balanced EMD"):
    """Raise an error if a graph is disconnected.

    Parameters
    ----------
    adjacency : graph
        Anything :func:`as_adjacency` accepts.
    what : str, default="the balanced EMD"
        The quantity that disconnection makes infinite, named in the message.

    Returns
    -------
    None

    Raises
    ------
    ValueError
        If the graph has more than one connected component.

    See Also
    --------
    largest_component : restrict a graph to its largest component.

    Examples
    --------
    >>> from graphsig.graphs import check_connected, path_graph
    >>> check_connected(path_graph(4))
    >>> check_connected([[0, 1, 0], [1, 0, 0], [0, 0, 0]])
    Traceback (most recent call last):
        ...
    ValueError: graph is disconnected (2 connected components); ...
    """
    n_components, _ = connected_components(adjacency)
    if n_components > 1:
        raise ValueError(
            f"graph is disconnected ({n_components} connected components); "
            f"{what} is infinite between components. Use the unbalanced form "
            "(mass_penalty) or restrict to one component "
            "(graphsig.graphs.largest_component)."
        )


def largest_component(adjacency):
    """Restrict a graph to its largest connected component.

    Parameters
    ----------
    adjacency : graph
        Anything :func:`as_adjacency` accepts.

    Returns
    -------
    adjacency : scipy.sparse.csr_matrix of shape (n_kept, n_kept)
        Canonical adjacency of the largest component (the one with the
        smallest label among equally large ones), float32 if the input is
        float32; the input's canonical adjacency itself when the graph is
        connected.
    nodes : ndarray of shape (n_kept,), dtype intp
        The kept nodes, increasing, as indices into the original graph; use
        it to restrict signals, e.g. ``signals[:, nodes]``.

    Examples
    --------
    >>> from graphsig.graphs import largest_component
    >>> A = [[0, 1, 0, 0, 0], [1, 0, 1, 0, 0], [0, 1, 0, 0, 0],
    ...      [0, 0, 0, 0, 1], [0, 0, 0, 1, 0]]
    >>> sub, nodes = largest_component(A)
    >>> sub.shape, nodes.tolist()
    ((3, 3), [0, 1, 2])
    """
    keep_float32 = getattr(adjacency, "dtype", None) == np.float32
    adjacency = as_adjacency(adjacency, dtype=np.float32 if keep_float32 else np.float64)
    n_components, labels = connected_components(adjacency)
    if n_components == 1:
        return adjacency, np.arange(adjacency.shape[0], dtype=np.intp)
    largest = np.argmax(np.bincount(labels))
    nodes = np.flatnonzero(labels == largest)
    return as_adjacency(adjacency[nodes][:, nodes], dtype=adjacency.dtype), nodes


# ---------------------------------------------------------------------------
# helpers


def _check_dtype(dtype):
    try:
        dtype = np.dtype(dtype)
    except TypeError as exc:
        raise ValueError(f"dtype must be float32 or float64, got {dtype!r}") from exc
    if dtype not in _ALLOWED_DTYPES:
        raise ValueError(f"dtype must be float32 or float64, got {dtype}")
    return dtype


def _is_networkx_graph(graph):
    nx = sys.modules.get("networkx")
    return nx is not None and isinstance(graph, nx.Graph)


def _is_pygsp_graph(graph):
    module = type(graph).__module__ or ""
    return (
        module.split(".")[0] == "pygsp"
        and hasattr(graph, "W")
        and hasattr(graph, "N")
    )


def _to_sparse(graph, weight):
    """Any supported input -> a scipy sparse matrix/array or dense ndarray."""
    if sp.issparse(graph):
        return graph
    if _is_networkx_graph(graph):
        return _from_networkx(graph, weight)
    if _is_pygsp_graph(graph):
        return graph.W
    if isinstance(graph, np.ndarray) or isinstance(graph, (list, tuple)) or (
        hasattr(graph, "__array__") or hasattr(graph, "__array_interface__")
    ):
        return _from_dense(graph)
    raise TypeError(
        f"unsupported graph type {type(graph).__module__}.{type(graph).__qualname__}; "
        "expected a scipy.sparse matrix or array, a dense array, a networkx "
        "Graph or a pygsp graph"
    )


def _from_networkx(graph, weight):
    import networkx as nx

    if graph.is_directed():
        raise ValueError(
            f"directed networkx graphs are not supported (got {type(graph).__name__}); "
            "pass an undirected graph, e.g. G.to_undirected()"
        )
    if graph.number_of_nodes() == 0:
        raise ValueError("graph has no nodes")
    loops = list(nx.selfloop_edges(graph))
    if loops:
        # self-loops carry no transport; networkx would double their weight
        # (which can overflow) before the diagonal is dropped
        graph = nx.restricted_view(graph, [], loops)
    return nx.to_scipy_sparse_array(
        graph, nodelist=list(graph.nodes), weight=weight, dtype=np.float64, format="csr"
    )


def _from_dense(graph):
    try:
        array = np.asarray(graph)
    except ValueError as exc:  # ragged nested lists
        raise TypeError(f"cannot read graph as an array of numbers: {exc}") from exc
    if array.ndim != 2 or array.shape[0] != array.shape[1]:
        raise ValueError(f"adjacency must be square, got shape {array.shape}")
    _check_value_dtype(array.dtype)
    if array.dtype.kind == "f" and array.dtype.itemsize < 4:
        array = array.astype(np.float32)  # float16: not a scipy.sparse dtype
    # zeros are not stored by the conversion
    return sp.csr_matrix(array)


def _check_value_dtype(dtype):
    if dtype.kind == "c":
        raise TypeError(f"complex weights are not supported (dtype {dtype}); weights must be real")
    if dtype.kind not in "biuf":
        raise TypeError(f"adjacency entries must be real numbers, got dtype {dtype}")


def _symmetry_rtol(input_dtype):
    if input_dtype.kind == "f" and input_dtype.itemsize < 8:
        return max(SYMMETRY_RTOL, 8 * float(np.finfo(input_dtype).eps))
    return SYMMETRY_RTOL


def _canonical_csr(matrix, dtype):
    """Validate a sparse matrix/array and return the canonical csr_matrix."""
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f"adjacency must be square, got shape {matrix.shape}")
    n_nodes = matrix.shape[0]
    if n_nodes == 0:
        raise ValueError("graph has no nodes (adjacency of shape (0, 0))")
    input_dtype = matrix.dtype
    _check_value_dtype(input_dtype)
    check_sparse_structure(matrix, "adjacency")

    if matrix.format != "csr":
        matrix = matrix.tocsr()  # a new object: ours to modify
        owned = True
    else:
        owned = False

    # Reject NaN/inf on the input values, before any cast.
    data = matrix.data
    if data.dtype.kind == "f" and not np.isfinite(data).all():
        kinds = []
        if np.isnan(data).any():
            kinds.append("NaN")
        if np.isinf(data).any():
            kinds.append("infinite")
        raise ValueError(f"adjacency has {' and '.join(kinds)} weights; all weights must be finite")

    if not matrix.has_canonical_format:
        if not owned:
            matrix = matrix.copy()
        matrix.sum_duplicates()

    # From here on, every change builds a new matrix: the input is never modified.
    if matrix.dtype != dtype:
        source_values = matrix.data
        with np.errstate(over="ignore", under="ignore"):  # both are reported below
            values = matrix.data.astype(dtype)
        matrix = sp.csr_matrix((values, matrix.indices, matrix.indptr), shape=matrix.shape)
        matrix.has_canonical_format = True
        if not np.isfinite(matrix.data).all():
            raise ValueError(
                f"adjacency has weights too large for {dtype} (infinite after the cast)"
            )
        lost = (matrix.data == 0) & (source_values != 0)
        if lost.any():
            raise ValueError(
                f"adjacency has {int(lost.sum())} nonzero weights too small for {dtype}: they "
                "underflow to zero in the cast, which would remove their edges. Rescale the "
                "weights, or keep them in float64"
            )
    data = matrix.data
    if data.size and data.min() < 0:
        raise ValueError(
            f"adjacency has negative weights (min {data.min():.6g}); weights must be nonnegative"
        )

    # Drop the diagonal and explicit zeros in one pass.
    indptr, indices = matrix.indptr, matrix.indices
    rows = np.repeat(np.arange(n_nodes, dtype=indices.dtype), np.diff(indptr))
    keep = (indices != rows) & (data != 0)
    if not keep.all():
        counts = np.bincount(rows[keep], minlength=n_nodes)
        new_indptr = np.zeros(n_nodes + 1, dtype=indptr.dtype)
        np.cumsum(counts, out=new_indptr[1:])
        matrix = sp.csr_matrix(
            (data[keep], indices[keep], new_indptr), shape=matrix.shape
        )
        matrix.has_canonical_format = True
    del rows, keep
    if matrix.nnz == 0:
        raise ValueError("graph has no edges (no nonzero off-diagonal weights)")

    matrix = _symmetric(matrix, _symmetry_rtol(input_dtype))
    if type(matrix) is not sp.csr_matrix:
        # csr_array (or a subclass) -> csr_matrix sharing the arrays
        matrix = sp.csr_matrix(
            (matrix.data, matrix.indices, matrix.indptr), shape=matrix.shape, copy=False
        )
        matrix.has_canonical_format = True
    return matrix


def _symmetric(matrix, rtol):
    """Check the symmetry of a canonical CSR matrix; symmetrise within tolerance."""
    transpose = matrix.T.tocsr()  # sorted indices, no duplicates
    if np.array_equal(matrix.indptr, transpose.indptr) and np.array_equal(
        matrix.indices, transpose.indices
    ):
        gap = np.abs(matrix.data - transpose.data).max()
    else:
        gap = abs(matrix - transpose).max()
    if gap == 0:
        return matrix
    scale = matrix.data.max()
    tolerance = rtol * scale
    if gap > tolerance:
        raise ValueError(
            f"adjacency is asymmetric: max |A - A.T| = {gap:.3g} exceeds "
            f"{rtol:.1g} * max |A| = {tolerance:.3g}; graphs must be undirected. "
            "Symmetrise it first, e.g. (A + A.T) / 2 or A.maximum(A.T)."
        )
    half = matrix.dtype.type(0.5)
    result = matrix * half + transpose * half  # halves first: no overflow near the max
    result = sp.csr_matrix(result)
    result.sum_duplicates()
    result.eliminate_zeros()
    return result
