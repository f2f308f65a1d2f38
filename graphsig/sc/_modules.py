"""Gene programmes: a diffusion map of the genes, modules, and their activity on the cells."""

import numbers

import numpy as np
import scipy.sparse as sp

from ._anndata import (
    DEFAULT_CHUNK_SIZE,
    check_adata,
    check_chunk_size,
    check_copy,
    check_key,
    clean_params,
    is_backed_csc,
    is_in_memory,
    iter_row_blocks,
    neighbors_record,
    read_expression,
    resolve_source,
)

__all__ = ["gene_diffusion_map", "gene_modules", "module_activity"]

_METHODS = ("kmeans", "agglomerative")


def gene_diffusion_map(
    adata,
    *,
    n_components=10,
    t=1,
    neighbors_key="graphsig",
    key_added=None,
    copy=False,
    random_state=0,
):
    r"""Diffusion map of the genes from their EMD kNN kernel, written into ``adata``.

    With :math:`K` the connectivities of :func:`emd_neighbors` plus the
    identity (the kernel of :func:`graphsig.knn_affinity`), :math:`D` its
    degrees and :math:`P = D^{-1} K` the random walk over the genes, the
    diffusion map's coordinates are the right eigenvectors :math:`\psi_k`
    of :math:`P` scaled by their eigenvalues, :math:`\lambda_k^t \psi_k`
    (Coifman and Lafon 2006). They are computed from the symmetric
    normalisation :math:`A = D^{-1/2} K D^{-1/2}`, whose eigenvectors are
    :math:`\phi_k = D^{1/2} \psi_k`, after removing the trivial one,
    :math:`\phi_0 \propto D^{1/2} 1`, whose :math:`\psi_0` is constant and
    whose square is the walk's stationary distribution
    :math:`\pi = d / \sum d`. Every coordinate is therefore orthogonal to
    the stationary one, :math:`\sum_i d_i \psi_k(i) = 0`, and normalised to
    :math:`\sum_i \pi_i \psi_k(i)^2 = 1` before the scaling. Genes that
    share a programme (expressed on the same cells) diffuse into each other
    quickly and get close coordinates.

    If the gene graph is disconnected, eigenvalue 1 is repeated, once per
    connected component; those eigenvectors are known (:math:`\psi` constant
    on each component) and come first, the largest component first, and the
    remaining coordinates are computed orthogonally to them. The eigensolver
    is :func:`scipy.sparse.linalg.eigsh` on the sparse :math:`A`, or a dense
    :func:`scipy.linalg.eigh` below 2,000 genes.

    Parameters
    ----------
    adata : anndata.AnnData
        With the results of :func:`emd_neighbors` under ``neighbors_key``.
    n_components : int, default=10
        Number of nontrivial coordinates, at most the number of genes minus 2.
    t : int or float, default=1
        Diffusion time: the eigenvalues' power in the scaling (0: none).
    neighbors_key : str, default="graphsig"
        The ``key_added`` of :func:`emd_neighbors`.
    key_added : str, optional
        Where the results go; default ``f"{neighbors_key}_diffmap"``.
    copy : bool, default=False
        Return a modified copy instead of writing into ``adata``.
    random_state : int, default=0
        Seed of the eigensolver's start vector (the result does not depend
        on it beyond rounding; signs are fixed so that each coordinate's
        largest entry in absolute value is positive).

    Returns
    -------
    adata : anndata.AnnData or None
        The copy with ``copy=True``, else None. Writes (``.obsm`` instead of
        ``.varm`` for ``emd_neighbors(signals="cells")``):

        ``.varm[key_added]`` : ndarray of shape (n_genes, n_components)
            The coordinates :math:`\lambda_k^t \psi_k`, by decreasing
            eigenvalue.
        ``.uns[key_added]`` : dict
            ``{"params": {...}, "eigenvalues": ndarray (n_components,)}``.

    References
    ----------
    R. R. Coifman, S. Lafon. Diffusion maps. Applied and Computational
    Harmonic Analysis 21, 2006.

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
    >>> adata = ad.AnnData(expression.astype(np.float32))
    >>> adata.obsp["connectivities"] = knn_graph(time[:, None], 5)
    >>> graphsig.sc.emd_neighbors(adata, n_neighbors=5)
    >>> graphsig.sc.gene_diffusion_map(adata, n_components=4)
    >>> adata.varm["graphsig_diffmap"].shape
    (24, 4)
    >>> bool(np.all(np.diff(adata.uns["graphsig_diffmap"]["eigenvalues"]) <= 0))
    True
    """
    func = "gene_diffusion_map"
    check_adata(adata, func)
    record, axis, connectivities = neighbors_record(adata, neighbors_key, func)
    key_added = f"{neighbors_key}_diffmap" if key_added is None else check_key(key_added,
                                                                                "key_added")
    n = connectivities.shape[0]
    if isinstance(n_components, (bool, np.bool_)) or not isinstance(n_components,
                                                                     numbers.Integral):
        raise TypeError(f"n_components must be an integer, got {n_components!r}")
    if not 1 <= n_components <= n - 2:
        raise ValueError(
            f"n_components must be between 1 and the number of signals minus 2 ({n - 2}), "
            f"got {n_components}"
        )
    from .._validation import check_real

    t = check_real(t, "t")
    if t < 0:
        raise ValueError(f"t must be >= 0, got {t}")
    copy = check_copy(adata, copy, func)

    eigenvalues, coordinates = _diffusion_map(connectivities, int(n_components), t, random_state)
    params = clean_params({
        "n_components": int(n_components),
        "t": t,
        "neighbors_key": neighbors_key,
        "random_state": random_state if isinstance(random_state, numbers.Integral) else None,
    })

    target = adata.copy() if copy else adata
    (target.varm if axis == "var" else target.obsm)[key_added] = coordinates
    target.uns[key_added] = {"params": params, "eigenvalues": eigenvalues}
    return target if copy else None


def _diffusion_map(connectivities, n_components, t, random_state):
    """Eigenvalues and scaled right eigenvectors of the walk, the trivial one removed."""
    from scipy.sparse.csgraph import connected_components

    K = sp.csr_matrix(connectivities, dtype=np.float64)
    n = K.shape[0]
    K = K + sp.identity(n, format="csr")  # the kernel of knn_affinity (diagonal 1)
    degree = np.asarray(K.sum(axis=1)).ravel()
    root = np.sqrt(degree)
    A = sp.diags(1.0 / root) @ K @ sp.diags(1.0 / root)
    A = sp.csr_matrix((A + A.T) * 0.5)
    # Eigenvalue 1 has one eigenvector per connected component, sqrt(d) on the
    # component: known exactly, so they are set apart rather than left to the
    # eigensolver, which can miss repeated eigenvalues. The trivial one,
    # sqrt(d) / |sqrt(d)|, is dropped; an orthonormal basis of the others
    # (orthogonal to it) gives the first coordinates of a disconnected graph.
    n_parts, part = connected_components(A, directed=False)
    sizes = np.bincount(part)
    order = np.lexsort((np.arange(n_parts), -sizes))
    indicators = np.zeros((n, n_parts))
    indicators[np.arange(n), np.argsort(order)[part]] = root
    phi0 = root / np.linalg.norm(root)
    basis, _ = np.linalg.qr(np.column_stack([phi0, indicators[:, :-1]]))
    basis[:, 0] = phi0
    ones = basis[:, 1:n_components + 1]
    n_rest = n_components - ones.shape[1]
    values = np.ones(ones.shape[1])
    vectors = ones
    if n_rest > 0:
        rest_values, rest_vectors = _top_eigenpairs(A, basis, n_rest, random_state)
        values = np.concatenate([values, rest_values])
        vectors = np.column_stack([ones, rest_vectors])
    psi = vectors / root[:, None] * np.sqrt(degree.sum())
    signs = np.sign(psi[np.abs(psi).argmax(axis=0), np.arange(psi.shape[1])])
    psi *= np.where(signs == 0, 1.0, signs)
    scale = np.abs(values) ** t * np.sign(values) if t else np.ones_like(values)
    return values, psi * scale


# below this many signals the eigenproblem is solved densely (exact, and fast)
_DENSE_MAX = 2000


def _top_eigenpairs(A, known, k, random_state):
    """The ``k`` largest eigenpairs of symmetric ``A`` orthogonal to the columns of ``known``."""
    n = A.shape[0]

    def deflate(x):
        return x - known @ (known.T @ x)

    if n <= _DENSE_MAX:
        from scipy.linalg import eigh

        dense = A.toarray()
        projector = np.eye(n) - known @ known.T
        dense = projector @ dense @ projector
        # the known vectors now have eigenvalue 0; A's eigenvalues are >= -1 > -2
        dense -= 2.0 * (known @ known.T)
        values, vectors = eigh((dense + dense.T) * 0.5, subset_by_index=[n - k, n - 1])
    else:
        from scipy.sparse.linalg import LinearOperator, eigsh
        from sklearn.utils import check_random_state

        def matvec(x):
            x = np.asarray(x).reshape(n, -1)
            return deflate(A @ deflate(x)) - 2.0 * (known @ (known.T @ x))

        operator = LinearOperator((n, n), matvec=matvec, matmat=matvec, dtype=np.float64)
        v0 = deflate(check_random_state(random_state).uniform(-1, 1, n))
        values, vectors = eigsh(operator, k=k, which="LA", v0=v0)
    order = np.argsort(-values, kind="stable")
    return values[order], deflate(vectors[:, order])


def gene_modules(
    adata,
    *,
    n_modules=None,
    method="kmeans",
    diffmap_key="graphsig_diffmap",
    key_added="graphsig_module",
    copy=False,
    random_state=0,
):
    r"""Gene modules: clusters of the genes' diffusion map, written into ``adata.var``.

    The coordinates of :func:`gene_diffusion_map` are clustered by k-means
    (or Ward's agglomerative clustering), so that genes expressed on the
    same cells, near by EMD on the cell graph, share a module.

    By default the number of modules follows from the data, by the
    eigengap of the diffusion map: with eigenvalues
    :math:`1 = \lambda_0 \geq \lambda_1 \geq \dots \geq \lambda_m` (the
    trivial one and the ``n_components`` stored), a walk that mixes
    quickly within ``k`` groups of genes but slowly between them has ``k``
    eigenvalues near 1 and then a drop, so ``k`` is the position of the
    largest gap :math:`\lambda_{k-1} - \lambda_k`, for ``k`` from 2 to
    ``m``. Ask for more components in :func:`gene_diffusion_map` to allow
    more modules, or set ``n_modules``.

    Parameters
    ----------
    adata : anndata.AnnData
        With the results of :func:`gene_diffusion_map` under ``diffmap_key``.
    n_modules : int, optional
        Number of modules; by default chosen by the eigengap (above).
    method : {"kmeans", "agglomerative"}, default="kmeans"
        :class:`sklearn.cluster.KMeans` (10 starts, ``random_state``) or
        :class:`sklearn.cluster.AgglomerativeClustering` (Ward).
    diffmap_key : str, default="graphsig_diffmap"
        The ``key_added`` of :func:`gene_diffusion_map`.
    key_added : str, default="graphsig_module"
        Where the results go.
    copy : bool, default=False
        Return a modified copy instead of writing into ``adata``.
    random_state : int, default=0
        Seed of k-means.

    Returns
    -------
    adata : anndata.AnnData or None
        The copy with ``copy=True``, else None. Writes (``.obs`` instead of
        ``.var`` for cells as signals):

        ``.var[key_added]`` : pandas.Categorical
            Each gene's module, ``"0"``, ``"1"``, ... by decreasing size
            (the layout of :func:`scanpy.tl.leiden`).
        ``.uns[key_added]`` : dict
            ``{"params": {...}, "n_modules": int, "sizes": ndarray,
            "eigengaps": ndarray}``, the gaps
            :math:`\lambda_{k-1} - \lambda_k` for ``k = 1, ..., m``.

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
    >>> adata = ad.AnnData(expression.astype(np.float32))
    >>> adata.obsp["connectivities"] = knn_graph(time[:, None], 5)
    >>> graphsig.sc.emd_neighbors(adata, n_neighbors=5)
    >>> graphsig.sc.gene_diffusion_map(adata, n_components=4)
    >>> graphsig.sc.gene_modules(adata)
    >>> adata.uns["graphsig_module"]["n_modules"]
    3
    >>> [sorted(set(genes)) for genes in adata.var["graphsig_module"].to_numpy().reshape(3, 8)]
    [['0'], ['1'], ['2']]
    """
    func = "gene_modules"
    check_adata(adata, func)
    check_key(diffmap_key, "diffmap_key")
    check_key(key_added, "key_added")
    record = adata.uns.get(diffmap_key)
    axis = None
    if isinstance(record, dict) and "eigenvalues" in record:
        if diffmap_key in adata.varm:
            axis = "var"
        elif diffmap_key in adata.obsm:
            axis = "obs"
    if axis is None:
        raise KeyError(
            f"no diffusion map {diffmap_key!r} in adata.varm (or .obsm) and adata.uns; run "
            "graphsig.sc.gene_diffusion_map(adata) before gene_modules"
        )
    coordinates = np.asarray(
        adata.varm[diffmap_key] if axis == "var" else adata.obsm[diffmap_key], dtype=np.float64
    )
    eigenvalues = np.asarray(record["eigenvalues"], dtype=np.float64)
    n = coordinates.shape[0]
    if method not in _METHODS:
        raise ValueError(f'method must be "kmeans" or "agglomerative", got {method!r}')
    gaps = -np.diff(np.concatenate([[1.0], eigenvalues]))
    if n_modules is None:
        if eigenvalues.size < 2:
            raise ValueError(
                "choosing the number of modules needs at least 2 diffusion components; run "
                "gene_diffusion_map with n_components >= 2, or pass n_modules"
            )
        n_modules = int(np.argmax(gaps[1:])) + 2
    elif isinstance(n_modules, (bool, np.bool_)) or not isinstance(n_modules, numbers.Integral):
        raise TypeError(f"n_modules must be None or an integer, got {n_modules!r}")
    elif not 1 <= n_modules <= n:
        raise ValueError(f"n_modules must be between 1 and {n} (the signals), got {n_modules}")
    n_modules = int(n_modules)
    copy = check_copy(adata, copy, func)

    labels = _cluster(coordinates, n_modules, method, random_state)
    labels, sizes = _relabel_by_size(labels, n_modules)

    import pandas as pd

    categories = [str(i) for i in range(n_modules)]
    modules = pd.Categorical.from_codes(labels, categories=categories)
    params = clean_params({
        "n_modules": n_modules,
        "method": method,
        "diffmap_key": diffmap_key,
        "random_state": random_state if isinstance(random_state, numbers.Integral) else None,
    })
    target = adata.copy() if copy else adata
    frame = target.var if axis == "var" else target.obs
    frame[key_added] = modules
    target.uns[key_added] = {
        "params": params, "n_modules": n_modules, "sizes": sizes, "eigengaps": gaps,
    }
    return target if copy else None


def _cluster(coordinates, n_modules, method, random_state):
    if n_modules == 1:
        return np.zeros(coordinates.shape[0], dtype=np.int64)
    if method == "kmeans":
        from sklearn.cluster import KMeans

        model = KMeans(n_clusters=n_modules, n_init=10, random_state=random_state)
    else:
        from sklearn.cluster import AgglomerativeClustering

        model = AgglomerativeClustering(n_clusters=n_modules, linkage="ward")
    return model.fit_predict(coordinates)


def _relabel_by_size(labels, n_modules):
    """Labels renumbered by decreasing size (ties: smallest first member first)."""
    sizes = np.bincount(labels, minlength=n_modules)
    first = np.full(n_modules, labels.size)
    np.minimum.at(first, labels, np.arange(labels.size))
    order = np.lexsort((first, -sizes))
    new = np.empty(n_modules, dtype=np.int64)
    new[order] = np.arange(n_modules)
    return new[labels], sizes[order]


def module_activity(
    adata,
    *,
    modules_key="graphsig_module",
    layer=None,
    use_raw=False,
    scale="max",
    key_added="graphsig_module_activity",
    obs_columns=True,
    chunk_size=DEFAULT_CHUNK_SIZE,
    copy=False,
):
    r"""Activity of each gene module on each cell, written into ``adata.obsm`` and ``.obs``.

    A module's activity on a cell is the mean over the module's genes of
    their normalised expression there: with ``scale="max"`` each gene is
    divided by its largest value over the cells, so that every gene counts
    alike whatever its expression level and activities lie in [0, 1]; with
    ``scale=None`` it is the plain mean expression of the module's genes.

    Parameters
    ----------
    adata : anndata.AnnData
        Cells x genes with gene modules in ``adata.var[modules_key]`` (from
        :func:`gene_modules`, or any categorical column); in memory or
        backed.
    modules_key : str, default="graphsig_module"
        Column of ``adata.var`` with each gene's module (genes with a
        missing value belong to none).
    layer : str, optional
        Read the expression from ``adata.layers[layer]`` instead of ``adata.X``.
    use_raw : bool, default=False
        Read the expression from ``adata.raw`` (its columns for ``adata``'s genes).
    scale : {"max", None}, default="max"
        How genes are normalised before averaging (above).
    key_added : str, default="graphsig_module_activity"
        Where the results go.
    obs_columns : bool, default=True
        Also write one column of ``adata.obs`` per module (for
        ``scanpy.pl.umap(adata, color=...)``).
    chunk_size : int, default=10000
        Cells read at a time from a backed matrix (two passes with
        ``scale="max"``); only the activities are kept in memory.
    copy : bool, default=False
        Return a modified copy instead of writing into ``adata``.

    Returns
    -------
    adata : anndata.AnnData or None
        The copy with ``copy=True``, else None. Writes

        ``.obsm[key_added]`` : ndarray of shape (n_cells, n_modules)
            Column ``j`` is the ``j``-th module of ``modules_key``'s categories.

        ``.obs[f"{key_added}_{module}"]`` : float columns, with ``obs_columns``.

        ``.uns[key_added]`` : dict
            ``{"params": {...}, "modules": [...], "n_genes": ndarray,
            "obs_columns": [...]}``.

    Examples
    --------
    >>> import anndata as ad
    >>> import numpy as np
    >>> import pandas as pd
    >>> import graphsig.sc
    >>> adata = ad.AnnData(np.array([[2.0, 4, 0], [1, 0, 3]]))
    >>> adata.var["graphsig_module"] = pd.Categorical(["a", "a", "b"])
    >>> graphsig.sc.module_activity(adata)
    >>> adata.obsm["graphsig_module_activity"]          # (2/2 + 4/4) / 2, ...
    array([[1.  , 0.  ],
           [0.25, 1.  ]])
    >>> adata.obs["graphsig_module_activity_b"].tolist()
    [0.0, 1.0]
    """
    func = "module_activity"
    check_adata(adata, func)
    check_key(modules_key, "modules_key")
    check_key(key_added, "key_added")
    if modules_key not in adata.var:
        where = " (it is in adata.obs: modules of cells have no activity on cells)" \
            if modules_key in adata.obs else ""
        raise KeyError(
            f"no gene modules {modules_key!r} in adata.var{where}; run "
            "graphsig.sc.gene_modules(adata) first, or name a categorical column of adata.var"
        )
    if scale not in ("max", None):
        raise ValueError(f'scale must be "max" or None, got {scale!r}')
    if not isinstance(obs_columns, (bool, np.bool_)):
        raise TypeError(f"obs_columns must be True or False, got {obs_columns!r}")
    chunk_size = check_chunk_size(chunk_size)
    copy = check_copy(adata, copy, func)
    import pandas as pd

    column = adata.var[modules_key]
    modules = pd.Categorical(column)
    names = [str(c) for c in modules.categories]
    codes = np.asarray(modules.codes)
    n_genes_per = np.bincount(codes[codes >= 0], minlength=len(names))
    source, where, columns = resolve_source(adata, layer, use_raw)

    matrix = None
    if is_in_memory(source) or is_backed_csc(source):
        # a backed CSC matrix (stored by genes) is read whole, as sparse, by gene blocks
        matrix = read_expression(adata, source, where, columns, chunk_size=chunk_size)
    if scale == "max":
        gene_max = _column_max(matrix, adata, source, where, columns, chunk_size)
        with np.errstate(divide="ignore"):
            gene_weight = np.where(gene_max > 0, 1.0 / gene_max, 0.0)
    else:
        gene_weight = np.ones(adata.n_vars)
    member = np.flatnonzero(codes >= 0)
    weights = sp.csr_matrix(
        (gene_weight[member] / np.maximum(n_genes_per[codes[member]], 1),
         (member, codes[member])),
        shape=(adata.n_vars, len(names)),
    )
    activity = _project(matrix, adata, source, where, columns, chunk_size, weights)

    obs_names = [f"{key_added}_{name}" for name in names] if obs_columns else []
    params = clean_params({
        "modules_key": modules_key,
        "layer": layer,
        "use_raw": bool(use_raw),
        "scale": scale,
    })
    target = adata.copy() if copy else adata
    target.obsm[key_added] = activity
    for j, col in enumerate(obs_names):
        target.obs[col] = activity[:, j]
    target.uns[key_added] = {
        "params": params, "modules": names, "n_genes": n_genes_per, "obs_columns": obs_names,
    }
    return target if copy else None


def _column_max(matrix, adata, source, where, columns, chunk_size):
    """Largest value of each gene over the cells, checked (streamed if backed)."""
    if matrix is not None:
        if matrix.shape[0] == 0:
            return np.zeros(matrix.shape[1])
        top = matrix.max(axis=0)
        return np.asarray(top.toarray() if sp.issparse(top) else top, dtype=np.float64).ravel()
    result = np.zeros(adata.n_vars)
    for _, block in _checked_blocks(adata, source, where, columns, chunk_size):
        result = np.maximum(result, block.max(axis=0).toarray().ravel())
    return result


def _project(matrix, adata, source, where, columns, chunk_size, weights):
    """``expression @ weights`` over the cells, streamed in blocks if backed."""
    if matrix is not None:
        out = matrix @ weights
        return np.asarray(out.toarray() if sp.issparse(out) else out, dtype=np.float64)
    out = np.zeros((adata.n_obs, weights.shape[1]))
    for start, block in _checked_blocks(adata, source, where, columns, chunk_size):
        out[start:start + block.shape[0]] = (block @ weights).toarray()
    return out


def _checked_blocks(adata, source, where, columns, chunk_size):
    from ._anndata import check_values, sparse_coordinates

    names = (adata.obs_names, adata.var_names)
    for start, block in iter_row_blocks(source, chunk_size, columns):
        check_values(block.data, where, sparse_coordinates(block, start), names)
        yield start, block
