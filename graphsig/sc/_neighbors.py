"""emd_neighbors: the kNN graph of genes (or cells) under the graph EMD, into an AnnData."""

import numbers

import numpy as np
import scipy.sparse as sp

from ._anndata import (
    DEFAULT_CHUNK_SIZE,
    check_adata,
    check_chunk_size,
    check_copy,
    check_key,
    check_signals_axis,
    clean_params,
    get_graph,
    read_expression,
    resolve_source,
)

__all__ = ["emd_neighbors"]

# parameters of the embedding that emd_neighbors sets itself
_OWN = {"graph", "mass_penalty", "random_state", "n_jobs"}


def emd_neighbors(
    adata,
    *,
    signals="genes",
    layer=None,
    use_raw=False,
    graph_key="connectivities",
    graph=None,
    n_neighbors=15,
    mass_penalty=None,
    refine=None,
    decay=2.0,
    algorithm="auto",
    key_added="graphsig",
    store_embedding=True,
    chunk_size=DEFAULT_CHUNK_SIZE,
    copy=False,
    random_state=0,
    n_jobs=None,
    **embedding_params,
):
    r"""Nearest genes by earth mover's distance on the cell graph, written into ``adata``.

    Each gene is a *signal* on the cell graph: its expression over the cells,
    a nonnegative mass on the nodes of ``adata.obsp[graph_key]`` (the kNN
    graph of :func:`scanpy.pp.neighbors`). Two genes are near when their
    expression sits on nearby cells: the earth mover's distance (EMD) between
    them, with the graph's hop distance as ground cost, is the least number
    of hops their mass must travel to turn one into the other. Genes are
    embedded by :class:`graphsig.DiffusionEMD` (or, with ``mass_penalty``,
    :class:`graphsig.UnbalancedDiffusionEMD`) so that L1 distances between
    embeddings approximate it, and :class:`graphsig.EMDNeighbors` finds each
    gene's nearest genes. With ``signals="cells"`` the roles swap: each cell
    is a signal on a gene graph ``adata.varp[graph_key]``.

    The results follow the layout of :func:`scanpy.pp.neighbors` on the
    axis of the signals (``var`` for genes, ``obs`` for cells), so that
    scanpy's graph tools run on them: for genes, on the transposed object,
    ``genes = adata.T`` then ``scanpy.tl.leiden(genes, neighbors_key=key_added)``
    or ``scanpy.tl.umap(genes, neighbors_key=key_added)``.

    Parameters
    ----------
    adata : anndata.AnnData
        Cells x genes, in memory or backed (``anndata.read_h5ad(path, backed="r")``).
    signals : {"genes", "cells"}, default="genes"
        The signals: the genes (columns), on the cell graph
        ``adata.obsp[graph_key]``, or the cells (rows), on the gene graph
        ``adata.varp[graph_key]``.
    layer : str, optional
        Read the expression from ``adata.layers[layer]`` instead of ``adata.X``.
    use_raw : bool, default=False
        Read the expression from ``adata.raw`` (its columns for ``adata``'s
        genes).
    graph_key : str, default="connectivities"
        Key of the graph in ``adata.obsp`` (genes) or ``adata.varp`` (cells).
    graph : graph-like, optional
        The graph itself (anything :func:`graphsig.graphs.as_adjacency`
        takes), instead of ``graph_key``.
    n_neighbors : int, default=15
        Size of each gene's neighbourhood counting the gene itself, as in
        :func:`scanpy.pp.neighbors`: each row of the distance graph holds the
        ``n_neighbors - 1`` nearest other genes. At least 2.
    mass_penalty : float, optional
        None compares the genes' distributions over the cells (each gene
        normalised to unit mass; the balanced EMD). A number ``c`` keeps each
        gene's total expression and makes creating or destroying one unit of
        it cost ``c`` hops (the unbalanced EMD), so that a weakly and a
        strongly expressed gene on the same cells are apart.
    refine : None or "exact", default=None
        ``"exact"`` returns the exact nearest genes under the EMD, with exact
        distances (:class:`graphsig.EMDNeighbors`); the embedding only orders
        the candidates. Slower: tens of exact transport problems per gene.
    decay : float, default=2.0
        Exponent of the adaptive kernel that turns the distances into
        connectivities (:func:`graphsig.knn_affinity`; the bandwidth of each
        gene is its distance to its farthest stored neighbour).
    algorithm : {"auto", "exact", "approximate"}, default="auto"
        The search of :class:`graphsig.EMDNeighbors`: exact up to 20,000
        signals with "auto", approximate above.
    key_added : str, default="graphsig"
        Where the results go (see Returns).
    store_embedding : bool, default=True
        Store the embedding in ``.varm`` (``.obsm`` for cells). It has
        thousands of columns: by default about a quarter of
        ``(10 + 8) x n_cells`` on a kNN cell graph, sparse when ``X`` is
        sparse (on the bundled 700-cell PBMC data, 3,090 columns, 71 % of
        them nonzero: 13 MB as CSR for 765 genes). Pass False to keep only
        the graphs when memory or file size matters.
    chunk_size : int, default=10000
        Cells read at a time from a backed ``X`` (genes, if it is stored as CSC).
    copy : bool, default=False
        Return a modified copy instead of writing into ``adata``.
    random_state : int, default=0
        Seed of the embedding's calibration and of the approximate search.
    n_jobs : int, optional
        Threads (default: numba's setting).
    **embedding_params
        Further parameters of :class:`graphsig.DiffusionEMD` (or of
        :class:`graphsig.UnbalancedDiffusionEMD` with ``mass_penalty``), such
        as ``compression`` or ``n_trees``.

    Returns
    -------
    adata : anndata.AnnData or None
        The copy with ``copy=True``, else None. With ``signals="genes"``
        (for cells, ``.obsp``/``.obsm`` instead of ``.varp``/``.varm``):

        ``.varp[f"{key_added}_distances"]`` : scipy.sparse.csr_matrix (n_genes, n_genes)
            EMD (in hops) from each gene to its ``n_neighbors - 1`` nearest
            other genes, sorted by distance; identical genes are stored as
            explicit zeros. The gene itself is not stored.
        ``.varp[f"{key_added}_connectivities"]`` : scipy.sparse.csr_matrix
            Symmetric kernel over the same pairs, entries in (0, 1], empty
            diagonal.
        ``.varm[f"{key_added}_embedding"]`` : ndarray or csr_matrix
            The embedding, if ``store_embedding``.
        ``.uns[key_added]`` : dict
            ``{"connectivities_key", "distances_key", "params"}`` as
            :func:`scanpy.pp.neighbors` writes them, with ``params`` holding
            ``n_neighbors``, ``method="graphsig"``, ``metric="manhattan"``
            (the L1 distance of ``use_rep``), ``random_state``, ``use_rep``
            (the embedding's key, if stored) and this function's own
            parameters (``signals``, ``layer``, ``use_raw``, ``graph_key``,
            ``mass_penalty``, ``refine``, ``decay``, ``embedding``,
            ``embedding_params``; None-valued ones are left out); plus
            ``"embedding_key"`` (if stored), ``"hop_scale"``, ``"plan"``
            (the kind of blocks of the embedding, chosen from the graph and
            the signals), ``"n_trees"``, ``"tree_weight"`` and
            ``"plan_reason"`` (why those blocks).

    Raises
    ------
    KeyError
        If ``graph_key`` or ``layer`` is not in ``adata`` (the message lists
        the keys there are).
    ValueError
        If the graph does not match the cells (genes), the expression has
        negative, NaN or infinite values, a gene has no expression at all
        (balanced EMD), or ``signals`` is not "genes" or "cells". Nothing is
        written into ``adata`` when an error is raised.

    Notes
    -----
    **Memory.** A sparse ``X`` is never densified: the genes x cells
    signals are its transpose, one sparse conversion. A backed ``X`` is read
    ``chunk_size`` cells at a time into a sparse matrix, so what must fit in
    memory is: the cell graph, the nonzeros of ``X`` (about twice, while it
    is transposed), the embedding of the genes (see ``store_embedding``) and
    the two kNN graphs (``n_neighbors - 1`` entries per gene). A dense
    in-memory ``X`` is copied once (transposed). The results are written
    into the in-memory annotations of a backed object (anndata allows it in
    ``backed="r"`` mode too); the file changes only when the object is
    written, e.g. ``adata.write_h5ad("with_modules.h5ad")``.

    Zero-expression genes have no distribution: with the balanced EMD they
    are refused (filter them, e.g. ``scanpy.pp.filter_genes(adata,
    min_cells=1)``), with ``mass_penalty`` they are kept.

    See Also
    --------
    gene_diffusion_map : a diffusion map of the genes from these connectivities.
    graphsig.EMDNeighbors : the estimator behind this function.

    Examples
    --------
    >>> import anndata as ad
    >>> import numpy as np
    >>> import graphsig.sc
    >>> from graphsig.graphs import knn_graph
    >>> rng = np.random.default_rng(0)
    >>> time = np.sort(rng.uniform(0, 3, 60))           # 60 cells along a trajectory
    >>> peaks = np.repeat([0.5, 1.5, 2.5], 8)            # 24 genes in three programmes
    >>> expression = rng.poisson(4 * np.exp(-(time[:, None] - peaks) ** 2 / 0.1))
    >>> adata = ad.AnnData(expression.astype(np.float32))       # 60 cells x 24 genes
    >>> adata.obsp["connectivities"] = knn_graph(time[:, None], 5)  # the cell graph
    >>> graphsig.sc.emd_neighbors(adata, n_neighbors=5)
    >>> adata.varp["graphsig_distances"].shape
    (24, 24)
    >>> adata.uns["graphsig"]["connectivities_key"]
    'graphsig_connectivities'
    >>> int(adata.varp["graphsig_distances"][0].nnz)    # 4 nearest other genes
    4
    """
    func = "emd_neighbors"
    check_adata(adata, func)
    axis = check_signals_axis(signals)
    n_neighbors = _check_n_neighbors(n_neighbors)
    from .._validation import check_real

    if mass_penalty is not None:
        mass_penalty = check_real(mass_penalty, "mass_penalty", positive=True)
    decay = check_real(decay, "decay", positive=True)
    if algorithm not in ("auto", "exact", "approximate"):
        raise ValueError(f'algorithm must be "auto", "exact" or "approximate", got {algorithm!r}')
    if refine not in (None, "exact"):
        raise ValueError(f'refine must be None or "exact", got {refine!r}')
    check_key(key_added, "key_added")
    if key_added == "neighbors":
        raise ValueError(
            'key_added="neighbors" would replace scanpy\'s record of the cell graph in '
            'adata.uns["neighbors"]; choose another key (the default is "graphsig")'
        )
    if not isinstance(store_embedding, (bool, np.bool_)):
        raise TypeError(f"store_embedding must be True or False, got {store_embedding!r}")
    chunk_size = check_chunk_size(chunk_size)
    estimator = _make_embedding(mass_penalty, random_state, n_jobs, embedding_params)
    source, where, columns = resolve_source(adata, layer, use_raw)
    node_graph, graph_source = get_graph(adata, axis, graph_key, graph)
    copy = check_copy(adata, copy, func)

    names = adata.var_names if axis == "var" else adata.obs_names
    what = "genes" if axis == "var" else "cells"
    n_signals = len(names)
    if n_neighbors > n_signals:
        raise ValueError(
            f"n_neighbors={n_neighbors} (counting the {what[:-1]} itself) exceeds the "
            f"{n_signals} {what}"
        )
    expression = read_expression(adata, source, where, columns, chunk_size=chunk_size)
    signal_matrix = _signals_of(expression, axis)
    if mass_penalty is None:
        _check_masses(signal_matrix, names, what, where)

    from ..neighbors import EMDNeighbors, knn_affinity

    estimator.set_params(graph=node_graph)
    knn = EMDNeighbors(
        n_neighbors=n_neighbors - 1, embedding=estimator, algorithm=algorithm,
        refine=refine, random_state=random_state, n_jobs=n_jobs,
    )
    try:
        knn.fit(signal_matrix)
    except ValueError as exc:
        if mass_penalty is None and "disconnected" in str(exc):
            raise ValueError(
                f"{graph_source} is disconnected, and the balanced EMD is infinite between "
                "its components; pass mass_penalty=... (the unbalanced EMD, finite on any "
                "graph), or restrict adata to one component"
            ) from exc
        raise
    distances_knn, indices = knn.kneighbors()
    n_stored = indices.shape[1]
    indptr = np.arange(0, n_signals * n_stored + 1, n_stored, dtype=np.int64)
    distances = sp.csr_matrix(
        (distances_knn.ravel(), indices.ravel(), indptr), shape=(n_signals, n_signals)
    )
    connectivities = knn_affinity(distances, decay=decay)
    connectivities.setdiag(0)
    connectivities.eliminate_zeros()
    connectivities.sort_indices()

    fitted = knn.embedder_
    embedding = knn.fit_embedding_
    dist_key = f"{key_added}_distances"
    conn_key = f"{key_added}_connectivities"
    emb_key = f"{key_added}_embedding"
    params = clean_params({
        "n_neighbors": n_neighbors,
        "method": "graphsig",
        "metric": "manhattan" if store_embedding else None,
        "random_state": random_state if isinstance(random_state, numbers.Integral) else None,
        "use_rep": emb_key if store_embedding else None,
        "signals": signals,
        "layer": layer,
        "use_raw": bool(use_raw),
        "graph_key": graph_key if graph is None else None,
        "mass_penalty": mass_penalty,
        "refine": refine,
        "decay": float(decay),
        "algorithm": algorithm,
        "embedding": type(fitted).__name__,
        "embedding_params": dict(embedding_params),
    })
    record = {
        "connectivities_key": conn_key,
        "distances_key": dist_key,
        "params": params,
        "hop_scale": float(fitted.hop_scale_),
        "plan": str(fitted.plan_["kind"]),
        "n_trees": int(fitted.n_trees_),
        "tree_weight": float(getattr(fitted, "tree_weight_", 0.0)),
        "plan_reason": str(fitted.plan_["reason"]),
    }
    if store_embedding:
        record["embedding_key"] = emb_key

    # every step succeeded: write
    target = adata.copy() if copy else adata
    pairs = target.varp if axis == "var" else target.obsp
    pairs[dist_key] = distances
    pairs[conn_key] = connectivities
    if store_embedding:
        (target.varm if axis == "var" else target.obsm)[emb_key] = embedding
    target.uns[key_added] = record
    return target if copy else None


def _check_n_neighbors(n_neighbors):
    if isinstance(n_neighbors, (bool, np.bool_)) or not isinstance(n_neighbors, numbers.Integral):
        raise TypeError(f"n_neighbors must be an integer, got {n_neighbors!r}")
    if n_neighbors < 2:
        raise ValueError(
            f"n_neighbors must be at least 2 (it counts the gene itself, as in "
            f"scanpy.pp.neighbors), got {n_neighbors}"
        )
    return int(n_neighbors)


def _make_embedding(mass_penalty, random_state, n_jobs, embedding_params):
    """The unfitted embedding, its parameters checked before anything is read."""
    from ..emd import DiffusionEMD, UnbalancedDiffusionEMD

    cls = DiffusionEMD if mass_penalty is None else UnbalancedDiffusionEMD
    valid = set(cls().get_params()) - _OWN
    unknown = sorted(set(embedding_params) - valid)
    if unknown:
        raise TypeError(
            f"emd_neighbors got unexpected parameters {', '.join(map(repr, unknown))}; the "
            f"{cls.__name__} parameters it passes on are: {', '.join(sorted(valid))}"
        )
    kwargs = dict(embedding_params, random_state=random_state, n_jobs=n_jobs)
    if mass_penalty is not None:
        kwargs["mass_penalty"] = mass_penalty
    return cls(**kwargs)


def _signals_of(expression, axis):
    """Signals x nodes: the transpose for genes (one sparse conversion, no densifying)."""
    if axis == "obs":
        if sp.issparse(expression) and expression.format != "csr":
            return expression.tocsr()
        return expression
    if sp.issparse(expression):
        return expression.T.tocsr()
    return np.ascontiguousarray(expression.T)


def _check_masses(signal_matrix, names, what, where):
    if sp.issparse(signal_matrix):
        mass = np.asarray(signal_matrix.sum(axis=1), dtype=np.float64).ravel()
    else:
        mass = signal_matrix.sum(axis=1, dtype=np.float64)
    empty = np.flatnonzero(mass <= 0)
    if empty.size:
        shown = ", ".join(repr(str(names[i])) for i in empty[:5])
        more = f", ... ({empty.size} in all)" if empty.size > 5 else ""
        filt = "scanpy.pp.filter_genes(adata, min_cells=1)" if what == "genes" else \
            "scanpy.pp.filter_cells(adata, min_genes=1)"
        raise ValueError(
            f"{where} has {what} with no expression at all ({shown}{more}); the balanced EMD "
            f"compares distributions, and these have none. Remove them (e.g. {filt}), or "
            "pass mass_penalty=... for the unbalanced EMD, which keeps them"
        )
