"""graphsig.sc: EMD neighbours, gene programmes and plots on AnnData objects."""

import contextlib
import io
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

ad = pytest.importorskip("anndata")
pd = pytest.importorskip("pandas")

import graphsig  # noqa: E402
import graphsig.sc  # noqa: E402
from graphsig.graphs import knn_graph  # noqa: E402

N_CELLS, N_GENES, N_PROGRAMMES = 60, 40, 4


def _data(seed=0):
    """60 cells along a trajectory, 40 genes in 4 programmes (10 genes peaking together)."""
    rng = np.random.default_rng(seed)
    time = np.sort(rng.uniform(0, 4, N_CELLS))
    peaks = np.repeat([0.5, 1.5, 2.5, 3.5], N_GENES // N_PROGRAMMES)
    expression = rng.poisson(3 * np.exp(-(time[:, None] - peaks) ** 2 / 0.15))
    graph = knn_graph(np.c_[time, 0.05 * rng.normal(size=N_CELLS)], 6)
    return expression.astype(np.float32), graph, time


def _adata(sparse=False):
    expression, graph, time = _data()
    adata = ad.AnnData(sp.csr_matrix(expression) if sparse else expression)
    adata.obs_names = [f"cell{i}" for i in range(N_CELLS)]
    adata.var_names = [f"gene{j}" for j in range(N_GENES)]
    adata.obsp["connectivities"] = graph
    adata.obsm["X_umap"] = np.c_[time, np.sin(time)]
    return adata


@pytest.fixture(params=["dense", "sparse"])
def adata(request):
    return _adata(sparse=request.param == "sparse")


@pytest.fixture(scope="module")
def done():
    """An AnnData (sparse X) through the whole pipeline, shared read-only."""
    adata = _adata(sparse=True)
    graphsig.sc.emd_neighbors(adata, n_neighbors=6)
    graphsig.sc.gene_diffusion_map(adata, n_components=8)
    graphsig.sc.gene_modules(adata)
    graphsig.sc.module_activity(adata)
    return adata


def _snapshot(adata):
    def mapping(m):
        return {k: (v.copy() if hasattr(v, "copy") else v) for k, v in m.items()}

    return {
        "X": None if adata.X is None or adata.isbacked else adata.X.copy(),
        "obs": adata.obs.copy(), "var": adata.var.copy(),
        "uns": {k: repr(v) for k, v in adata.uns.items()},
        "obsm": mapping(adata.obsm), "varm": mapping(adata.varm),
        "obsp": mapping(adata.obsp), "varp": mapping(adata.varp),
        "layers": mapping(adata.layers),
    }


def _same(a, b):
    if sp.issparse(a) or sp.issparse(b):
        if not (sp.issparse(a) and sp.issparse(b)) or a.shape != b.shape:
            return False
        a, b = sp.csr_matrix(a), sp.csr_matrix(b)
        return (np.array_equal(a.indptr, b.indptr) and np.array_equal(a.indices, b.indices)
                and np.array_equal(a.data, b.data, equal_nan=True))
    return np.array_equal(np.asarray(a), np.asarray(b), equal_nan=True)


def _assert_unchanged(adata, snap):
    now = _snapshot(adata)
    if snap["X"] is not None:
        assert _same(now["X"], snap["X"])
    pd.testing.assert_frame_equal(now["obs"], snap["obs"])
    pd.testing.assert_frame_equal(now["var"], snap["var"])
    assert now["uns"] == snap["uns"]
    for field in ("obsm", "varm", "obsp", "varp", "layers"):
        assert now[field].keys() == snap[field].keys(), field
        for key in snap[field]:
            assert _same(now[field][key], snap[field][key]), (field, key)


# -- emd_neighbors ------------------------------------------------------------

def test_emd_neighbors_keys_and_layout(adata):
    assert graphsig.sc.emd_neighbors(adata, n_neighbors=6) is None
    record = adata.uns["graphsig"]
    assert record["distances_key"] == "graphsig_distances"
    assert record["connectivities_key"] == "graphsig_connectivities"
    assert record["embedding_key"] == "graphsig_embedding"
    params = record["params"]
    assert params["n_neighbors"] == 6 and params["signals"] == "genes"
    assert params["method"] == "graphsig" and params["metric"] == "manhattan"
    assert params["use_rep"] == "graphsig_embedding" and params["embedding"] == "DiffusionEMD"
    assert "mass_penalty" not in params and "layer" not in params  # None is left out
    assert record["plan"] in ("global", "local", "hierarchy") and record["plan_reason"]
    assert record["n_trees"] >= 0 and 0.0 <= record["tree_weight"] <= 1.0

    distances = adata.varp["graphsig_distances"]
    assert sp.issparse(distances) and distances.shape == (N_GENES, N_GENES)
    rows = np.repeat(np.arange(N_GENES), np.diff(distances.indptr))
    assert (np.diff(distances.indptr) == 5).all()          # n_neighbors - 1, self not stored
    assert not (distances.indices == rows).any()
    assert (np.diff(distances.toarray()[rows, distances.indices].reshape(-1, 5)) >= 0).all()

    conn = adata.varp["graphsig_connectivities"]
    assert abs(conn - conn.T).max() < 1e-6
    assert conn.diagonal().max() == 0
    assert conn.data.min() > 0 and conn.data.max() <= 1
    assert adata.varm["graphsig_embedding"].shape[0] == N_GENES
    assert "graphsig_distances" not in adata.obsp


def test_distances_equal_emd_neighbors(adata):
    from graphsig import DiffusionEMD, EMDNeighbors

    graphsig.sc.emd_neighbors(adata, n_neighbors=6)
    signals = adata.X.T.tocsr() if sp.issparse(adata.X) else np.ascontiguousarray(adata.X.T)
    graph = adata.obsp["connectivities"]
    knn = EMDNeighbors(n_neighbors=5, embedding=DiffusionEMD(graph, random_state=0),
                       random_state=0).fit(signals)
    expected_d, expected_i = knn.kneighbors()
    stored = adata.varp["graphsig_distances"]
    np.testing.assert_array_equal(stored.indices.reshape(-1, 5), expected_i)
    np.testing.assert_allclose(stored.data.reshape(-1, 5), expected_d, rtol=1e-6)
    np.testing.assert_allclose(
        _dense(adata.varm["graphsig_embedding"]), _dense(knn.fit_embedding_), rtol=1e-6
    )


def _dense(x):
    return x.toarray() if sp.issparse(x) else np.asarray(x)


def test_dense_and_sparse_expression_agree():
    dense, sparse = _adata(), _adata(sparse=True)
    graphsig.sc.emd_neighbors(dense, n_neighbors=6)
    graphsig.sc.emd_neighbors(sparse, n_neighbors=6)
    a, b = dense.varp["graphsig_distances"], sparse.varp["graphsig_distances"]
    np.testing.assert_array_equal(a.indices, b.indices)
    np.testing.assert_allclose(a.data, b.data, rtol=1e-4, atol=1e-5)
    assert sp.issparse(sparse.varm["graphsig_embedding"])       # sparse in, sparse out


def test_sparse_expression_is_not_densified(monkeypatch):
    from graphsig.neighbors import EMDNeighbors

    adata = _adata(sparse=True)
    seen = []
    fit = EMDNeighbors.fit

    def recording_fit(self, X, y=None):
        seen.append(X)
        return fit(self, X, y)

    def refuse(self, *args, **kwargs):
        if self.shape == (N_CELLS, N_GENES):
            raise AssertionError("the cells x genes matrix was densified")
        return original(self, *args, **kwargs)

    original = sp.csr_matrix.toarray
    monkeypatch.setattr(EMDNeighbors, "fit", recording_fit)
    monkeypatch.setattr(sp.csr_matrix, "toarray", refuse)
    graphsig.sc.emd_neighbors(adata, n_neighbors=6)
    (signals,) = seen
    assert sp.issparse(signals) and signals.format == "csr"
    assert signals.shape == (N_GENES, N_CELLS)
    assert sp.issparse(adata.varm["graphsig_embedding"])


def test_unbalanced_keeps_zero_genes_and_matches_estimator():
    from graphsig import EMDNeighbors, UnbalancedDiffusionEMD

    adata = _adata(sparse=True)
    X = adata.X.tolil()
    X[:, 3] = 0
    adata.X = X.tocsr()
    graphsig.sc.emd_neighbors(adata, n_neighbors=4, mass_penalty=2.0)
    params = adata.uns["graphsig"]["params"]
    assert params["mass_penalty"] == 2.0 and params["embedding"] == "UnbalancedDiffusionEMD"
    knn = EMDNeighbors(
        n_neighbors=3,
        embedding=UnbalancedDiffusionEMD(adata.obsp["connectivities"], mass_penalty=2.0,
                                         random_state=0),
        random_state=0,
    ).fit(adata.X.T.tocsr())
    d, i = knn.kneighbors()
    stored = adata.varp["graphsig_distances"]
    np.testing.assert_array_equal(stored.indices.reshape(-1, 3), i)
    np.testing.assert_allclose(stored.data.reshape(-1, 3), d, rtol=1e-6)


def test_refine_exact_gives_exact_distances():
    adata = _adata(sparse=True)
    graphsig.sc.emd_neighbors(adata, n_neighbors=3, refine="exact")
    stored = adata.varp["graphsig_distances"]
    assert stored.dtype == np.float64
    signals = adata.X.T.tocsr()
    for gene in (0, 17, 39):
        cols = stored[gene].indices
        exact = graphsig.exact_emd(adata.obsp["connectivities"], signals[[gene]], signals[cols])
        np.testing.assert_allclose(stored[gene].data, exact[0], rtol=1e-9)
        all_exact = graphsig.exact_emd(adata.obsp["connectivities"], signals[[gene]], signals)[0]
        all_exact[gene] = np.inf
        np.testing.assert_allclose(np.sort(all_exact)[:2], stored[gene].data, rtol=1e-9)


def test_cells_as_signals_on_a_gene_graph():
    adata = _adata(sparse=True)
    peaks = np.repeat([0.5, 1.5, 2.5, 3.5], N_GENES // N_PROGRAMMES)
    positions = np.c_[peaks + np.linspace(0, 0.9, N_GENES)]
    adata.varp["gene_graph"] = knn_graph(positions, 4)
    graphsig.sc.emd_neighbors(adata, signals="cells", graph_key="gene_graph", n_neighbors=5,
                              key_added="cells_emd", mass_penalty=3.0)
    assert adata.obsp["cells_emd_distances"].shape == (N_CELLS, N_CELLS)
    assert adata.obsm["cells_emd_embedding"].shape[0] == N_CELLS
    assert "cells_emd_distances" not in adata.varp
    graphsig.sc.gene_diffusion_map(adata, neighbors_key="cells_emd", n_components=3)
    assert adata.obsm["cells_emd_diffmap"].shape == (N_CELLS, 3)
    graphsig.sc.gene_modules(adata, diffmap_key="cells_emd_diffmap", key_added="cell_module",
                             n_modules=3)
    assert adata.obs["cell_module"].nunique() == 3


def test_layer_and_raw():
    adata = _adata()
    adata.layers["counts"] = adata.X.copy()
    adata.X = adata.X - adata.X.mean(axis=0)          # scaled: negative values
    graphsig.sc.emd_neighbors(adata, layer="counts", n_neighbors=6)
    assert adata.uns["graphsig"]["params"]["layer"] == "counts"

    # raw with more genes than adata: its columns for adata's genes are used
    expression, graph, _ = _data()
    extra = np.c_[np.ones((N_CELLS, 1), dtype=np.float32), expression[:, ::-1]]
    full = ad.AnnData(extra)
    full.var_names = ["extra"] + [f"gene{j}" for j in range(N_GENES)][::-1]
    full.obs_names = adata.obs_names
    adata.raw = full
    graphsig.sc.emd_neighbors(adata, use_raw=True, n_neighbors=6, key_added="raw")
    np.testing.assert_allclose(adata.varp["raw_distances"].data,
                               adata.varp["graphsig_distances"].data, rtol=1e-5)


def test_copy_returns_new_object_and_leaves_input():
    adata = _adata()
    snap = _snapshot(adata)
    out = graphsig.sc.emd_neighbors(adata, n_neighbors=6, copy=True)
    assert out is not adata and "graphsig_distances" in out.varp
    _assert_unchanged(adata, snap)


def test_store_embedding_false():
    adata = _adata()
    graphsig.sc.emd_neighbors(adata, n_neighbors=6, store_embedding=False)
    assert "graphsig_embedding" not in adata.varm
    assert "use_rep" not in adata.uns["graphsig"]["params"]
    assert "embedding_key" not in adata.uns["graphsig"]


def test_deterministic():
    a, b = _adata(sparse=True), _adata(sparse=True)
    graphsig.sc.emd_neighbors(a, n_neighbors=6)
    graphsig.sc.emd_neighbors(b, n_neighbors=6)
    assert _same(a.varp["graphsig_distances"], b.varp["graphsig_distances"])
    assert _same(a.varp["graphsig_connectivities"], b.varp["graphsig_connectivities"])


def test_results_round_trip_through_h5ad(tmp_path, done):
    path = tmp_path / "done.h5ad"
    done.write_h5ad(path)
    back = ad.read_h5ad(path)
    assert back.uns["graphsig"]["params"]["n_neighbors"] == 6
    assert _same(back.varp["graphsig_distances"], done.varp["graphsig_distances"])
    assert back.var["graphsig_module"].equals(done.var["graphsig_module"])
    np.testing.assert_array_equal(back.obsm["graphsig_module_activity"],
                                  done.obsm["graphsig_module_activity"])


# -- backed (on-disk) AnnData ------------------------------------------------

@pytest.mark.parametrize("sparse", [True, False])
def test_backed_streams_and_matches_in_memory(tmp_path, sparse):
    memory = _adata(sparse=sparse)
    path = tmp_path / "cells.h5ad"
    memory.write_h5ad(path)
    backed = ad.read_h5ad(path, backed="r")
    assert backed.isbacked
    graphsig.sc.emd_neighbors(backed, n_neighbors=6, chunk_size=7)
    graphsig.sc.emd_neighbors(memory, n_neighbors=6)
    assert backed.isbacked                                 # X stays on disk
    np.testing.assert_array_equal(backed.varp["graphsig_distances"].indices,
                                  memory.varp["graphsig_distances"].indices)
    np.testing.assert_allclose(backed.varp["graphsig_distances"].data,
                               memory.varp["graphsig_distances"].data, rtol=1e-4, atol=1e-5)
    for a in (backed, memory):
        graphsig.sc.gene_diffusion_map(a, n_components=6)
        graphsig.sc.gene_modules(a, n_modules=4)
        graphsig.sc.module_activity(a, chunk_size=7)
    np.testing.assert_allclose(backed.obsm["graphsig_module_activity"],
                               memory.obsm["graphsig_module_activity"], rtol=1e-6)
    backed.file.close()
    assert "graphsig" not in ad.read_h5ad(path).uns         # the file was not changed


def test_backed_csc_is_read_by_gene_blocks(tmp_path):
    memory = _adata(sparse=True)
    on_disk = memory.copy()
    on_disk.X = sp.csc_matrix(on_disk.X)
    path = tmp_path / "csc.h5ad"
    on_disk.write_h5ad(path)
    backed = ad.read_h5ad(path, backed="r")
    assert backed.X.format == "csc"
    for a in (backed, memory):
        graphsig.sc.emd_neighbors(a, n_neighbors=6, chunk_size=7)
        graphsig.sc.gene_diffusion_map(a, n_components=6)
        graphsig.sc.gene_modules(a, n_modules=4)
        graphsig.sc.module_activity(a, chunk_size=7)
    np.testing.assert_allclose(backed.varp["graphsig_distances"].data,
                               memory.varp["graphsig_distances"].data, rtol=1e-5)
    np.testing.assert_allclose(backed.obsm["graphsig_module_activity"],
                               memory.obsm["graphsig_module_activity"], rtol=1e-6)
    backed.file.close()


def test_backed_copy_true_is_refused_with_a_way_out(tmp_path):
    path = tmp_path / "cells.h5ad"
    _adata(sparse=True).write_h5ad(path)
    backed = ad.read_h5ad(path, backed="r")
    snap = _snapshot(backed)
    with pytest.raises(ValueError, match=r"copy=True.*backed.*copy=False.*to_memory"):
        graphsig.sc.emd_neighbors(backed, n_neighbors=6, copy=True)
    _assert_unchanged(backed, snap)
    with pytest.raises(ValueError, match=r"view of a backed AnnData.*to_memory"):
        graphsig.sc.emd_neighbors(backed[:30], n_neighbors=6)
    backed.file.close()


# -- bad input: clear errors, AnnData unchanged ------------------------------

@pytest.mark.parametrize(
    "change, kwargs, error, message",
    [
        (None, {"graph_key": "nope"}, KeyError,
         r"no graph 'nope' in adata\.obsp.*available keys: 'connectivities'"),
        (None, {"graph": knn_graph(np.arange(50.0)[:, None], 3)}, ValueError,
         r"graph has shape \(50, 50\) but the signals live on the 60 cells"),
        (None, {"signals": "genez"}, ValueError, r'signals must be "genes".*"cells"'),
        (None, {"layer": "counts"}, KeyError, r"no layer 'counts'.*available layers: none"),
        (None, {"use_raw": True}, ValueError, r"adata\.raw is None"),
        (None, {"layer": "x", "use_raw": True}, ValueError, "either layer"),
        (None, {"n_neighbors": 1}, ValueError, "at least 2"),
        (None, {"n_neighbors": 41}, ValueError, r"exceeds the 40 genes"),
        (None, {"mass_penalty": -1.0}, ValueError, "mass_penalty must be > 0"),
        (None, {"refine": "yes"}, ValueError, "refine must be"),
        (None, {"compresion": 4}, TypeError, r"unexpected parameters 'compresion'"),
        (None, {"copy": "yes"}, TypeError, "copy must be True or False"),
        (None, {"key_added": "neighbors"}, ValueError, r"replace scanpy's record"),
        ("negative", {"layer": "scaled"}, ValueError,
         r"adata\.layers\['scaled'\] has negative values.*at cell 'cell\d+', gene 'gene\d+'"
         r".*use_raw"),
        ("nan", {}, ValueError, r"adata\.X has NaN or infinite values at cell 'cell5', gene "
                                r"'gene2'"),
        ("inf", {}, ValueError, r"adata\.X has NaN or infinite values at cell 'cell1'"),
        ("zero gene", {}, ValueError,
         r"genes with no expression at all \('gene7'\).*filter_genes.*mass_penalty"),
        ("disconnected", {}, ValueError,
         r"adata\.obsp\['connectivities'\] is disconnected.*mass_penalty"),
        ("gene graph", {"signals": "cells"}, KeyError,
         r"no graph 'connectivities' in adata\.varp.*available keys: none"),
    ],
)
@pytest.mark.parametrize("sparse", [False, True])
def test_bad_input_raises_and_leaves_adata_unchanged(change, kwargs, error, message, sparse):
    adata = _adata(sparse=sparse)
    X = adata.X.toarray() if sparse else adata.X.copy()
    if change == "negative":
        scaled = X - X.mean(axis=0)
        adata.layers["scaled"] = sp.csr_matrix(scaled) if sparse else scaled
    elif change in ("nan", "inf"):
        cell, gene = (5, 2) if change == "nan" else (1, 0)
        X[cell, gene] = np.nan if change == "nan" else np.inf
        adata.X = sp.csr_matrix(X) if sparse else X
    elif change == "zero gene":
        X[:, 7] = 0
        adata.X = sp.csr_matrix(X) if sparse else X
    elif change == "disconnected":
        graph = adata.obsp["connectivities"].tolil()
        graph[:30, 30:] = 0
        graph[30:, :30] = 0
        adata.obsp["connectivities"] = graph.tocsr()
    snap = _snapshot(adata)
    with pytest.raises(error, match=message):
        graphsig.sc.emd_neighbors(adata, **kwargs)
    _assert_unchanged(adata, snap)


def test_not_an_anndata():
    with pytest.raises(TypeError, match="takes an anndata.AnnData"):
        graphsig.sc.emd_neighbors(_adata().X)


# -- gene programmes -----------------------------------------------------------

def test_diffusion_map_eigenvectors(done):
    coords = done.varm["graphsig_diffmap"]
    values = done.uns["graphsig_diffmap"]["eigenvalues"]
    assert coords.shape == (N_GENES, 8) and values.shape == (8,)
    assert (np.diff(values) <= 1e-12).all() and values.max() <= 1 + 1e-9
    K = done.varp["graphsig_connectivities"].toarray() + np.eye(N_GENES)
    degree = K.sum(axis=1)
    psi = coords / values                                   # t = 1
    # right eigenvectors of the walk P = D^-1 K, orthogonal to the stationary one
    np.testing.assert_allclose((K / degree[:, None]) @ psi, psi * values, atol=1e-8)
    np.testing.assert_allclose(degree @ psi, 0, atol=1e-8)
    np.testing.assert_allclose((degree / degree.sum()) @ psi ** 2, 1, rtol=1e-8)
    # eigenvalues: those of the symmetric normalisation, the trivial one removed
    A = K / np.sqrt(np.outer(degree, degree))
    np.testing.assert_allclose(values, np.sort(np.linalg.eigvalsh(A))[::-1][1:9], atol=1e-8)


def test_diffusion_map_sparse_solver_agrees_with_dense(done, monkeypatch):
    from graphsig.sc import _modules

    monkeypatch.setattr(_modules, "_DENSE_MAX", 0)
    out = graphsig.sc.gene_diffusion_map(done, n_components=8, copy=True)
    np.testing.assert_allclose(out.uns["graphsig_diffmap"]["eigenvalues"],
                               done.uns["graphsig_diffmap"]["eigenvalues"], atol=1e-8)
    np.testing.assert_allclose(np.abs(out.varm["graphsig_diffmap"]),
                               np.abs(done.varm["graphsig_diffmap"]), atol=1e-6)


def test_diffusion_map_on_a_connected_gene_graph():
    adata = _adata(sparse=True)
    graphsig.sc.emd_neighbors(adata, n_neighbors=12)
    conn = adata.varp["graphsig_connectivities"]
    from scipy.sparse.csgraph import connected_components

    assert connected_components(conn)[0] == 1
    graphsig.sc.gene_diffusion_map(adata, n_components=3, t=0)
    psi = adata.varm["graphsig_diffmap"]
    degree = np.asarray(conn.astype(np.float64).sum(axis=1)).ravel() + 1
    np.testing.assert_allclose(degree @ psi[:, 0], 0, atol=1e-8)
    values = adata.uns["graphsig_diffmap"]["eigenvalues"]
    assert values[0] < 1 - 1e-6                        # connected: one eigenvalue 1, removed


def test_gene_modules_partition_and_recover_programmes(done):
    modules = done.var["graphsig_module"]
    assert isinstance(modules.dtype, pd.CategoricalDtype)
    assert list(modules.cat.categories) == ["0", "1", "2", "3"]
    assert modules.notna().all()                       # every gene in exactly one module
    record = done.uns["graphsig_module"]
    assert record["n_modules"] == N_PROGRAMMES         # chosen by the eigengap
    assert record["sizes"].sum() == N_GENES
    assert (np.diff(record["sizes"]) <= 0).all()
    blocks = modules.to_numpy().reshape(N_PROGRAMMES, -1)
    assert all(len(set(b)) == 1 for b in blocks)
    assert len({b[0] for b in blocks}) == N_PROGRAMMES


@pytest.mark.parametrize("method", ["kmeans", "agglomerative"])
def test_gene_modules_given_number(done, method):
    out = graphsig.sc.gene_modules(done, n_modules=2, method=method, key_added="two", copy=True)
    assert out.var["two"].nunique() == 2
    assert "two" not in done.var


def test_module_activity_is_the_mean_of_scaled_expression(done):
    activity = done.obsm["graphsig_module_activity"]
    X = done.X.toarray()
    scaled = X / X.max(axis=0)
    modules = done.var["graphsig_module"].to_numpy()
    for j, name in enumerate(done.uns["graphsig_module_activity"]["modules"]):
        expected = scaled[:, modules == name].mean(axis=1)
        np.testing.assert_allclose(activity[:, j], expected, rtol=1e-6)
        np.testing.assert_allclose(done.obs[f"graphsig_module_activity_{name}"], expected,
                                   rtol=1e-6)
    out = graphsig.sc.module_activity(done, scale=None, obs_columns=False, key_added="plain",
                                      copy=True)
    np.testing.assert_allclose(out.obsm["plain"][:, 0], X[:, modules == "0"].mean(axis=1),
                               rtol=1e-6)
    assert "plain_0" not in out.obs


def test_programme_errors_leave_adata_unchanged():
    adata = _adata()
    snap = _snapshot(adata)
    with pytest.raises(KeyError, match=r"emd_neighbors.*before gene_diffusion_map"):
        graphsig.sc.gene_diffusion_map(adata)
    with pytest.raises(KeyError, match=r"gene_diffusion_map\(adata\) before gene_modules"):
        graphsig.sc.gene_modules(adata)
    with pytest.raises(KeyError, match=r"no gene modules 'graphsig_module' in adata\.var"):
        graphsig.sc.module_activity(adata)
    _assert_unchanged(adata, snap)
    graphsig.sc.emd_neighbors(adata, n_neighbors=6)
    snap = _snapshot(adata)
    with pytest.raises(ValueError, match="n_components must be between 1 and"):
        graphsig.sc.gene_diffusion_map(adata, n_components=39)
    graphsig.sc.gene_diffusion_map(adata, n_components=4)
    snap = _snapshot(adata)
    with pytest.raises(ValueError, match="n_modules must be between"):
        graphsig.sc.gene_modules(adata, n_modules=0)
    with pytest.raises(ValueError, match="method must be"):
        graphsig.sc.gene_modules(adata, method="leiden")
    _assert_unchanged(adata, snap)
    graphsig.sc.gene_modules(adata)
    snap = _snapshot(adata)
    adata.layers["bad"] = -adata.X
    snap = _snapshot(adata)
    with pytest.raises(ValueError, match=r"adata\.layers\['bad'\] has negative values"):
        graphsig.sc.module_activity(adata, layer="bad")
    with pytest.raises(ValueError, match="scale must be"):
        graphsig.sc.module_activity(adata, scale="sum")
    _assert_unchanged(adata, snap)


# -- plots -----------------------------------------------------------------------

def test_plots(done):
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ax = graphsig.sc.pl.gene_embedding(done, genes=["gene0", "gene39"])
    assert len(ax.collections) == N_PROGRAMMES
    assert [t.get_text() for t in ax.texts] == ["gene0", "gene39"]
    fig = graphsig.sc.pl.module_activity(done, ncols=2)
    titles = [a.get_title() for a in fig.axes if a.get_title()]
    assert titles == [f"module {m} (10 genes)" for m in range(N_PROGRAMMES)]
    fig = graphsig.sc.pl.module_activity(done, modules=["1"], basis="umap")
    assert [a.get_title() for a in fig.axes if a.get_title()] == ["module 1 (10 genes)"]
    with pytest.raises(KeyError, match="no basis 'tsne'"):
        graphsig.sc.pl.module_activity(done, basis="tsne")
    with pytest.raises(KeyError, match=r"modules '9' not in"):
        graphsig.sc.pl.module_activity(done, modules=["9"])
    plt.close("all")


def test_importing_sc_loads_no_heavy_module():
    code = (
        "import graphsig, graphsig.sc; graphsig.sc.emd_neighbors; graphsig.sc.pl\n"
        "import sys; print(' '.join(sorted(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    loaded = set(out.stdout.split())
    assert not {"anndata", "matplotlib", "pandas", "numba"} & loaded


# -- scanpy --------------------------------------------------------------------

def test_scanpy_reads_the_gene_graph(done):
    sc = pytest.importorskip("scanpy")
    pytest.importorskip("igraph")
    from scanpy._utils import NeighborsView

    genes = done.T
    view = NeighborsView(genes, "graphsig")
    assert view["distances"].shape == (N_GENES, N_GENES)
    assert _same(view["connectivities"], done.varp["graphsig_connectivities"])
    assert view["params"]["n_neighbors"] == 6
    sc.tl.leiden(genes, neighbors_key="graphsig", flavor="igraph", n_iterations=2,
                 directed=False, key_added="gene_leiden")
    assert genes.obs["gene_leiden"].nunique() >= 2
    sc.tl.umap(genes, neighbors_key="graphsig", maxiter=20)
    assert genes.obsm["X_umap"].shape == (N_GENES, 2)


# -- the documentation's worked example ------------------------------------------

def test_docs_worked_example_prints_what_it_says():
    page = Path(__file__).resolve().parents[1] / "docs" / "single-cell.md"
    if not page.exists():
        pytest.skip("docs/single-cell.md is not beside the tests")
    block = next(b for b in re.findall(r"```python\n(.*?)```", page.read_text(), re.S)
                 if "load_pbmc68k" in b)
    expected = [line[2:] for line in block.splitlines() if line.startswith("# ")]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(block, str(page), "exec"), {})
    assert out.getvalue().splitlines() == expected
