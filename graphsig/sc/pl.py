"""Plots of gene programmes (matplotlib, imported only when a plot is drawn)."""

import numpy as np

from ._anndata import check_adata, check_key

__all__ = ["gene_embedding", "module_activity"]

# embeddings of the cells tried, in order, when no basis is given
_BASES = ("umap", "tsne", "draw_graph_fa", "spectral", "pca")


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - matplotlib is a test dependency
        raise ImportError(
            "graphsig.sc.pl needs matplotlib: pip install 'graphsig[sc]' (or pip install "
            "matplotlib)"
        ) from exc
    return plt


def gene_embedding(
    adata,
    *,
    diffmap_key="graphsig_diffmap",
    modules_key="graphsig_module",
    components=(0, 1),
    genes=None,
    size=None,
    ax=None,
):
    """Genes in two diffusion-map coordinates, coloured by module.

    Parameters
    ----------
    adata : anndata.AnnData
        With :func:`graphsig.sc.gene_diffusion_map` results under
        ``diffmap_key`` and :func:`graphsig.sc.gene_modules` results under
        ``modules_key``.
    diffmap_key : str, default="graphsig_diffmap"
    modules_key : str or None, default="graphsig_module"
        Column of ``adata.var`` with the modules (any categorical column);
        None draws the genes without colours.
    components : pair of int, default=(0, 1)
        The two coordinates shown (0 is the first nontrivial one).
    genes : list of str, optional
        Genes to label with their names.
    size : float, optional
        Marker size (default: smaller for more genes).
    ax : matplotlib.axes.Axes, optional
        Draw here instead of on a new figure.

    Returns
    -------
    ax : matplotlib.axes.Axes

    Examples
    --------
    >>> import anndata as ad
    >>> import numpy as np
    >>> import pandas as pd
    >>> import graphsig.sc
    >>> adata = ad.AnnData(np.ones((2, 4)))
    >>> adata.varm["graphsig_diffmap"] = np.array([[0.0, 1], [1, 0], [2, 2], [3, 1]])
    >>> adata.uns["graphsig_diffmap"] = {"eigenvalues": np.array([0.9, 0.5])}
    >>> adata.var["graphsig_module"] = pd.Categorical(["0", "0", "1", "1"])
    >>> ax = graphsig.sc.pl.gene_embedding(adata)
    >>> ax.get_xlabel()
    'diffusion component 1 (eigenvalue 0.900)'
    """
    check_adata(adata, "pl.gene_embedding")
    check_key(diffmap_key, "diffmap_key")
    if diffmap_key not in adata.varm:
        raise KeyError(
            f"no diffusion map {diffmap_key!r} in adata.varm; run "
            "graphsig.sc.gene_diffusion_map(adata) first"
        )
    coordinates = np.asarray(adata.varm[diffmap_key])
    i, j = (int(c) for c in components)
    if not (0 <= i < coordinates.shape[1] and 0 <= j < coordinates.shape[1]):
        raise ValueError(
            f"components {tuple(components)} out of range: the diffusion map has "
            f"{coordinates.shape[1]} coordinates (0 to {coordinates.shape[1] - 1})"
        )
    labels = None
    if modules_key is not None:
        if modules_key not in adata.var:
            raise KeyError(
                f"no modules {modules_key!r} in adata.var; run graphsig.sc.gene_modules(adata) "
                "first, or pass modules_key=None"
            )
        labels = adata.var[modules_key]
    plt = _pyplot()
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 4.5))
    if size is None:
        size = float(np.clip(4000 / max(adata.n_vars, 1), 4, 40))
    x, y = coordinates[:, i], coordinates[:, j]
    if labels is None:
        ax.scatter(x, y, s=size, color="0.3", linewidths=0)
    else:
        import pandas as pd

        modules = pd.Categorical(labels)
        cmap = plt.get_cmap("tab10" if len(modules.categories) <= 10 else "tab20")
        for code, name in enumerate(modules.categories):
            mask = np.asarray(modules.codes == code)
            ax.scatter(x[mask], y[mask], s=size, color=cmap(code % cmap.N), linewidths=0,
                       label=f"{name} ({int(mask.sum())})")
        ax.legend(title="module (genes)", fontsize="small", markerscale=max(1, 20 / size),
                  loc="best", frameon=False)
    if genes is not None:
        index = {str(g): k for k, g in enumerate(adata.var_names)}
        missing = [g for g in genes if str(g) not in index]
        if missing:
            raise KeyError(f"genes not in adata.var_names: {', '.join(map(repr, missing[:5]))}")
        for gene in genes:
            k = index[str(gene)]
            ax.annotate(str(gene), (x[k], y[k]), fontsize="small", xytext=(3, 3),
                        textcoords="offset points")
    values = np.asarray(adata.uns.get(diffmap_key, {}).get("eigenvalues", []), dtype=float)

    def label(c):
        text = f"diffusion component {c + 1}"
        return text + (f" (eigenvalue {values[c]:.3f})" if c < values.size else "")

    ax.set_xlabel(label(i))
    ax.set_ylabel(label(j))
    ax.set_title("genes by EMD on the cell graph")
    return ax


def module_activity(
    adata,
    *,
    key="graphsig_module_activity",
    basis=None,
    modules=None,
    ncols=4,
    size=None,
    cmap="viridis",
    panel_size=3.0,
):
    """Each module's activity on the cells, one panel per module, on a 2-D embedding.

    Parameters
    ----------
    adata : anndata.AnnData
        With :func:`graphsig.sc.module_activity` results under ``key``.
    key : str, default="graphsig_module_activity"
    basis : str, optional
        The cells' coordinates, ``adata.obsm[f"X_{basis}"]`` (or
        ``adata.obsm[basis]``). By default the first of "umap", "tsne",
        "draw_graph_fa", "spectral" and "pca" present.
    modules : list of str, optional
        Modules to show (default: all).
    ncols : int, default=4
        Panels per row.
    size : float, optional
        Marker size (default: smaller for more cells).
    cmap : str, default="viridis"
    panel_size : float, default=3.0
        Width and height of a panel, in inches.

    Returns
    -------
    fig : matplotlib.figure.Figure

    Examples
    --------
    >>> import anndata as ad
    >>> import numpy as np
    >>> import pandas as pd
    >>> import graphsig.sc
    >>> adata = ad.AnnData(np.array([[2.0, 4, 0], [1, 0, 3], [0, 1, 1]]))
    >>> adata.var["graphsig_module"] = pd.Categorical(["a", "a", "b"])
    >>> adata.obsm["X_umap"] = np.array([[0.0, 0], [1, 0], [0, 1]])
    >>> graphsig.sc.module_activity(adata)
    >>> fig = graphsig.sc.pl.module_activity(adata)
    >>> [ax.get_title() for ax in fig.axes if ax.get_title()]
    ['module a (2 genes)', 'module b (1 gene)']
    """
    check_adata(adata, "pl.module_activity")
    check_key(key, "key")
    record = adata.uns.get(key)
    if key not in adata.obsm or not isinstance(record, dict) or "modules" not in record:
        raise KeyError(
            f"no module activity {key!r} in adata.obsm and adata.uns; run "
            "graphsig.sc.module_activity(adata) first"
        )
    names = [str(m) for m in record["modules"]]
    n_genes = np.asarray(record.get("n_genes", np.zeros(len(names))))
    activity = np.asarray(adata.obsm[key])
    xy = _basis(adata, basis)
    if modules is None:
        chosen = list(range(len(names)))
    else:
        missing = [str(m) for m in modules if str(m) not in names]
        if missing:
            raise KeyError(
                f"modules {', '.join(map(repr, missing))} not in {key!r} (modules: "
                f"{', '.join(map(repr, names))})"
            )
        chosen = [names.index(str(m)) for m in modules]
    if isinstance(ncols, bool) or not isinstance(ncols, (int, np.integer)) or ncols < 1:
        raise ValueError(f"ncols must be a positive integer, got {ncols!r}")
    plt = _pyplot()
    n_panels = max(len(chosen), 1)
    ncols = min(int(ncols), n_panels)
    nrows = -(-n_panels // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(panel_size * ncols, panel_size * nrows),
                             squeeze=False)
    if size is None:
        size = float(np.clip(20000 / max(adata.n_obs, 1), 1, 40))
    order = np.arange(adata.n_obs)
    for panel, m in enumerate(chosen):
        ax = axes.flat[panel]
        values = activity[:, m]
        top = order[np.argsort(values, kind="stable")]  # most active cells drawn last
        points = ax.scatter(xy[top, 0], xy[top, 1], c=values[top], s=size, cmap=cmap,
                            linewidths=0)
        fig.colorbar(points, ax=ax, shrink=0.7)
        count = ""
        if m < n_genes.size:
            k = int(n_genes[m])
            count = f" ({k} gene{'' if k == 1 else 's'})"
        ax.set_title(f"module {names[m]}{count}")
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in axes.flat[len(chosen):]:
        ax.set_visible(False)
    fig.tight_layout()
    return fig


def _basis(adata, basis):
    """The cells' 2-D coordinates from ``adata.obsm``."""
    if basis is None:
        for name in _BASES:
            if f"X_{name}" in adata.obsm:
                basis = name
                break
        else:
            raise KeyError(
                "no 2-D embedding of the cells in adata.obsm (looked for "
                f"{', '.join('X_' + b for b in _BASES)}; there are: "
                f"{', '.join(map(repr, adata.obsm.keys())) or 'none'}); compute one, e.g. "
                "scanpy.tl.umap(adata), or pass basis=..."
            )
    key = f"X_{basis}" if f"X_{basis}" in adata.obsm else basis
    if key not in adata.obsm:
        raise KeyError(
            f"no basis {basis!r} in adata.obsm (neither 'X_{basis}' nor {basis!r}); there "
            f"are: {', '.join(map(repr, adata.obsm.keys())) or 'none'}"
        )
    xy = np.asarray(adata.obsm[key])
    if xy.ndim != 2 or xy.shape[1] < 2:
        raise ValueError(f"adata.obsm[{key!r}] must have at least 2 columns, got {xy.shape}")
    return xy[:, :2]
