"""Reading signals and graphs out of an AnnData, and checking them.

Everything here reads; nothing writes into the AnnData. The public functions
of :mod:`graphsig.sc` call these first and write their results only once
every step has succeeded, so a failure leaves the object as it was.
"""

import numbers

import numpy as np
import scipy.sparse as sp

# cells read at a time from a backed (on-disk) matrix
DEFAULT_CHUNK_SIZE = 10_000

_AXES = {"genes": "var", "cells": "obs"}


def require_anndata():
    """The anndata module, or an ImportError saying how to install it."""
    try:
        import anndata
    except ImportError as exc:  # pragma: no cover - anndata is a test dependency
        raise ImportError(
            "graphsig.sc needs anndata: pip install 'graphsig[sc]' (or pip install anndata)"
        ) from exc
    return anndata


def check_adata(adata, func):
    """Refuse anything but an AnnData, and backed views (which cannot take results)."""
    anndata = require_anndata()
    if not isinstance(adata, anndata.AnnData):
        raise TypeError(
            f"{func} takes an anndata.AnnData (cells x genes), got {type(adata).__name__}"
        )
    if adata.is_view and adata.isbacked:
        raise ValueError(
            f"{func} got a view of a backed AnnData: anndata cannot hold results in it (it "
            "would have to copy the view, which it does only to a new file). Load the subset "
            "first, adata[...].to_memory(), or copy it to a file, "
            "adata[...].copy(filename='subset.h5ad')"
        )


def check_copy(adata, copy, func):
    """Check ``copy``; a backed AnnData cannot be copied in memory (explained)."""
    if not isinstance(copy, (bool, np.bool_)):
        raise TypeError(f"copy must be True or False, got {copy!r}")
    if copy and adata.isbacked:
        raise ValueError(
            f"{func}(..., copy=True) got a backed AnnData, which anndata copies only to a new "
            "file. Use copy=False: results are written into the in-memory annotations "
            "(.var, .varm, .varp, .obs, .obsm, .obsp, .uns) and the file on disk is not "
            "changed until you write the object; or copy it first, "
            "adata.copy(filename='copy.h5ad'), or load it, adata.to_memory()"
        )
    return bool(copy)


def check_signals_axis(signals):
    if signals not in _AXES:
        raise ValueError(
            f'signals must be "genes" (each gene a signal on the cell graph) or "cells" (each '
            f"cell a signal on a gene graph), got {signals!r}"
        )
    return _AXES[signals]


def check_key(key, name):
    if not isinstance(key, str) or not key:
        raise TypeError(f"{name} must be a non-empty string, got {key!r}")
    return key


def _keys(mapping):
    keys = sorted(str(k) for k in mapping.keys())
    return ", ".join(repr(k) for k in keys) if keys else "none"


def get_graph(adata, axis, graph_key, graph):
    """The graph over the nodes of the signals, checked against their number.

    Genes (``axis="var"``) live on the cell graph ``adata.obsp[graph_key]``,
    cells on a gene graph ``adata.varp[graph_key]``; ``graph`` overrides the key.
    """
    node_axis = "obs" if axis == "var" else "var"
    n_nodes = adata.n_obs if node_axis == "obs" else adata.n_vars
    nodes = "cells" if node_axis == "obs" else "genes"
    where = f"adata.{node_axis}p"
    if graph is None:
        check_key(graph_key, "graph_key")
        store = adata.obsp if node_axis == "obs" else adata.varp
        if graph_key not in store:
            hint = (
                " Build a cell graph first, e.g. scanpy.pp.neighbors(adata), or pass graph=..."
                if node_axis == "obs"
                else " Put a gene graph there first (adata.varp[key] = gene x gene adjacency), "
                "or pass graph=..."
            )
            raise KeyError(
                f"no graph {graph_key!r} in {where} (the graph over the {nodes} that the "
                f"signals live on); available keys: {_keys(store)}.{hint}"
            )
        graph = store[graph_key]
        source = f"{where}[{graph_key!r}]"
    else:
        source = "graph"
    shape = getattr(graph, "shape", None)
    if shape is None:
        try:
            from ..graphs import as_adjacency

            graph = as_adjacency(graph)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"{source} is not a graph: {exc}") from exc
        shape = graph.shape
    if len(shape) != 2 or shape[0] != shape[1] or shape[0] != n_nodes:
        raise ValueError(
            f"{source} has shape {tuple(shape)} but the signals live on the {n_nodes} {nodes} "
            f"of adata; the graph must be {n_nodes} x {n_nodes}"
        )
    return graph, source


def resolve_source(adata, layer, use_raw):
    """The expression matrix (cells x adata's genes) and a name for messages."""
    if not isinstance(use_raw, (bool, np.bool_)):
        raise TypeError(f"use_raw must be True or False, got {use_raw!r}")
    if layer is not None and use_raw:
        raise ValueError(f"pass either layer={layer!r} or use_raw=True, not both")
    if layer is not None:
        if layer not in adata.layers:
            raise KeyError(
                f"no layer {layer!r} in adata.layers; available layers: {_keys(adata.layers)}"
            )
        return adata.layers[layer], f"adata.layers[{layer!r}]", None
    if use_raw:
        if adata.raw is None:
            raise ValueError("use_raw=True but adata.raw is None; pass layer=... or use adata.X")
        raw_names = adata.raw.var_names
        columns = None
        if not raw_names.equals(adata.var_names):
            columns = raw_names.get_indexer(adata.var_names)
            missing = np.flatnonzero(columns < 0)
            if missing.size:
                names = ", ".join(repr(str(adata.var_names[i])) for i in missing[:5])
                raise ValueError(
                    f"adata.raw lacks {missing.size} of adata's genes ({names}); the results "
                    "are indexed by adata's genes, so each must be in adata.raw"
                )
        return adata.raw.X, "adata.raw.X", columns
    if adata.X is None:
        raise ValueError("adata.X is None; pass layer=... (or use_raw=True) to say which "
                         "expression matrix holds the signals")
    return adata.X, "adata.X", None


def _as_float(block):
    """A dense or sparse block as float32 (kept) or float64; CSR and CSC keep their format."""
    dtype = np.float32 if block.dtype == np.float32 else np.float64
    if sp.issparse(block):
        if block.format not in ("csr", "csc"):
            block = block.tocsr()
        if not isinstance(block, sp.spmatrix):  # scipy sparse arrays -> matrices
            block = sp.csr_matrix(block) if block.format == "csr" else sp.csc_matrix(block)
        return block.astype(dtype, copy=False)
    return np.asarray(block, dtype=dtype)


def is_in_memory(matrix):
    return isinstance(matrix, np.ndarray) or sp.issparse(matrix)


def iter_row_blocks(matrix, chunk_size, columns=None):
    """Blocks of rows of ``matrix`` (in memory or backed) as CSR, with their first row.

    A backed matrix (an h5py dataset or anndata's on-disk sparse dataset) is
    read ``chunk_size`` rows at a time, so at most one dense block is ever in
    memory.
    """
    n_rows = matrix.shape[0]
    for start in range(0, n_rows, chunk_size):
        stop = min(start + chunk_size, n_rows)
        block = matrix[start:stop]
        if hasattr(block, "compute"):  # dask
            block = block.compute()
        if columns is not None:
            block = block[:, columns]
        yield start, sp.csr_matrix(_as_float(block))


def check_values(values, where, coordinates=None, names=None):
    """Raise for NaN/inf or negative ``values``, naming the first offender.

    ``coordinates()`` returns the (cell, gene) rows and columns of ``values``
    (called only to word an error), ``names`` the cell and gene names.
    """
    finite = np.isfinite(values)
    if not finite.all():
        i = int(np.flatnonzero(~finite.ravel())[0])
        raise ValueError(
            f"{where} has NaN or infinite values{_at(i, coordinates, names)}; "
            "signals must be finite nonnegative masses"
        )
    negative = values < 0
    if negative.any():
        i = int(np.flatnonzero(negative.ravel())[0])
        raise ValueError(
            f"{where} has negative values (e.g. {values.ravel()[i]:g}"
            f"{_at(i, coordinates, names)}); signals on a graph are "
            "nonnegative masses: use counts or log-normalised expression, not scaled or "
            "centred data (as after scanpy.pp.scale); the unscaled values are often in "
            "adata.raw (use_raw=True) or a layer (layer=...)"
        )


def _at(i, coordinates, names):
    if coordinates is None or names is None:
        return ""
    rows, cols = coordinates()
    r, c = int(rows[i]), int(cols[i])
    return f" at cell {str(names[0][r])!r}, gene {str(names[1][c])!r}"


def sparse_coordinates(matrix, row_offset=0):
    def coordinates():
        coo = matrix.tocoo()
        return coo.row + row_offset, coo.col
    return coordinates


def read_expression(adata, source, where, columns, *, chunk_size):
    """The expression matrix (cells x genes), checked, as a float array, CSR or CSC.

    An in-memory dense matrix stays dense and a sparse one sparse (CSR or
    CSC, never densified); a backed one is streamed in blocks of
    ``chunk_size`` cells into a CSR matrix, so that only its nonzeros are
    ever held in memory. The caller's matrix is never modified.
    """
    names = (adata.obs_names, adata.var_names)
    if is_in_memory(source):
        matrix = source if columns is None else source[:, columns]
        matrix = _as_float(matrix)
        if sp.issparse(matrix):
            from .._validation import check_sparse_structure

            check_sparse_structure(matrix, where)
            if not matrix.has_canonical_format:
                matrix = matrix.copy()
                matrix.sum_duplicates()
            check_values(matrix.data, where, sparse_coordinates(matrix), names)
        else:
            bad = ~(np.isfinite(matrix) & (matrix >= 0))
            if bad.any():
                r, c = np.nonzero(bad)
                check_values(matrix[r, c], where, lambda: (r, c), names)
        return matrix
    if is_backed_csc(source):
        return _read_csc_columns(source, where, columns, chunk_size, names)
    blocks = []
    for start, block in iter_row_blocks(source, chunk_size, columns):
        block.sum_duplicates()
        check_values(block.data, where, sparse_coordinates(block, start), names)
        block.eliminate_zeros()
        blocks.append(block)
    if not blocks:
        return sp.csr_matrix((0, len(names[1])))
    return sp.vstack(blocks, format="csr")


def is_backed_csc(source):
    """A backed matrix stored by columns (genes), read by column blocks instead of rows."""
    return not is_in_memory(source) and getattr(source, "format", None) == "csc"


def _read_csc_columns(source, where, columns, chunk_size, names):
    """A backed CSC matrix read ``chunk_size`` columns at a time, as CSC (cells x genes)."""
    n_rows, n_cols = source.shape
    blocks = []
    for start in range(0, n_cols, chunk_size):
        block = sp.csc_matrix(_as_float(source[:, start:min(start + chunk_size, n_cols)]))
        block.sum_duplicates()
        block.eliminate_zeros()
        blocks.append(block)
    matrix = sp.hstack(blocks, format="csc") if blocks else sp.csc_matrix((n_rows, 0))
    if columns is not None:
        matrix = matrix[:, columns]
    check_values(matrix.data, where, sparse_coordinates(matrix), names)
    return matrix


def check_chunk_size(chunk_size):
    if isinstance(chunk_size, (bool, np.bool_)) or not isinstance(chunk_size, numbers.Integral):
        raise TypeError(f"chunk_size must be a positive integer, got {chunk_size!r}")
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be a positive integer, got {chunk_size}")
    return int(chunk_size)


def clean_params(params):
    """``params`` without None values (scanpy's habit; also keeps .uns writable)."""
    out = {}
    for key, value in params.items():
        if value is None:
            continue
        if isinstance(value, dict):
            value = clean_params(value)
        out[key] = value
    return out


def neighbors_record(adata, neighbors_key, func):
    """``adata.uns[neighbors_key]`` written by :func:`emd_neighbors`, checked."""
    check_key(neighbors_key, "neighbors_key")
    record = adata.uns.get(neighbors_key)
    if not isinstance(record, dict) or "connectivities_key" not in record:
        raise KeyError(
            f"no EMD neighbours in adata.uns[{neighbors_key!r}]; run "
            f"graphsig.sc.emd_neighbors(adata, key_added={neighbors_key!r}) before {func}"
        )
    params = record.get("params", {})
    signals = params.get("signals", "genes")
    axis = check_signals_axis(signals)
    store = adata.varp if axis == "var" else adata.obsp
    key = record["connectivities_key"]
    if key not in store:
        raise KeyError(
            f"adata.uns[{neighbors_key!r}] names connectivities {key!r}, but there are none "
            f"in adata.{axis}p; run graphsig.sc.emd_neighbors again"
        )
    return record, axis, store[key]
