"""Package hygiene: import cost and global state."""

import subprocess
import sys

import pytest

HEAVY = ["ot", "pygsp", "networkx", "numba", "sklearn", "tqdm", "h5py", "matplotlib"]


def _modules_after(code):
    out = subprocess.run(
        [sys.executable, "-c", code + "\nimport sys; print(' '.join(sorted(sys.modules)))"],
        capture_output=True,
        text=True,
        check=True,
    )
    return set(out.stdout.split())


def test_import_loads_no_heavy_module():
    loaded = _modules_after("import graphsig")
    assert not [m for m in HEAVY if m in loaded]


def test_import_compiles_nothing():
    # numba is not even imported, hence nothing is compiled, until a kernel runs
    loaded = _modules_after("import graphsig, graphsig.graphs, graphsig.diffusion")
    assert "numba" not in loaded
    assert "graphsig.diffusion._kernels" not in loaded


def test_public_names_resolve():
    import graphsig

    for name in graphsig.__all__:
        assert getattr(graphsig, name) is not None


def test_unknown_attribute():
    import graphsig

    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        graphsig.nope


def test_numba_threading_layer_untouched():
    code = (
        "import numba; before = numba.config.THREADING_LAYER\n"
        "import numpy as np, graphsig\n"
        "from graphsig.graphs import path_graph\n"
        "graphsig.DiffusionEMD(path_graph(6), n_jobs=1).fit_transform(np.eye(6))\n"
        "assert numba.config.THREADING_LAYER == before\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_every_subpackage_is_installed():
    # a package missing from pyproject.toml works in an editable install
    # and is absent from a wheel
    from pathlib import Path

    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11

    root = Path(__file__).resolve().parents[1]
    listed = set(tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {
        ".".join(p.parent.relative_to(root).parts)
        for p in (root / "graphsig").rglob("__init__.py")
        if "__pycache__" not in p.parts
    }
    assert found - listed == set()
