"""Property tests: random inputs at every public entry point.

Every public function and estimator is given random shapes, dtypes
(float64, float32, float16, integers, bool, complex, object arrays of
numeric strings), sparse layouts (CSR, CSC, COO, LIL, DOK; duplicates,
unsorted indices, explicit zeros, empty rows, and corrupted index arrays),
extreme magnitudes (up to 1.8e308, down to 5e-324) and NaN / inf values.

The contract checked everywhere: a correct result (finite, of the documented
shape and dtype, with the invariants listed per entry point, compared with a
reference computed another way where that is cheap), or a ValueError /
TypeError whose message names the problem; never a crash, a hang, another
exception type, or a non-finite output.

Inputs are built from a recipe, and each drawn case prints as the Python
code that rebuilds it, so a failure reads as a reproducer. The number of
examples per entry point is in ``EXAMPLES`` (times the environment variable
``GRAPHSIG_PROPERTY_SCALE``, default 1); ``pytest
--hypothesis-show-statistics`` reports how many each test ran, and how many
of them were accepted or refused. An example running longer than
``HANG_SECONDS`` ends the process with a traceback: a hang fails the suite as
loudly as a crash. ``GRAPHSIG_PROPERTY_SHRINK=0`` reports failures without
shrinking them; ``GRAPHSIG_PROPERTY_CORRUPT=0`` leaves out corrupted sparse
index arrays.
"""

import contextlib
import copy
import faulthandler
import os
import re
import tempfile
import warnings
from dataclasses import dataclass, field

import networkx as nx
import numpy as np
import scipy.sparse as sp
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st

from graphsig import DiffusionEMD, UnbalancedDiffusionEMD
from graphsig.diffusion import DiffusionOperator
from graphsig.emd import exact_emd, exact_kneighbors
from graphsig.graphs import (
    as_adjacency, cycle_graph, grid_graph, knn_graph, path_graph, random_tree,
)
from graphsig.io import open_signals, transform_file
from graphsig.neighbors import EMDNeighbors, knn_affinity, l1_distances, l1_kneighbors

# ---------------------------------------------------------------------------
# settings

_SHRINK = os.environ.get("GRAPHSIG_PROPERTY_SHRINK", "1") != "0"

settings.register_profile(
    "graphsig-properties",
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=False,
    phases=[p for p in Phase if _SHRINK or p not in (Phase.shrink, Phase.explain)],
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
        HealthCheck.large_base_example,
    ],
)
PROFILE = settings.get_profile("graphsig-properties")

_SCALE = float(os.environ.get("GRAPHSIG_PROPERTY_SCALE", "1"))

# examples per entry point (before _SCALE)
EXAMPLES = {
    "as_adjacency": 250,
    "knn_graph": 150,
    "DiffusionOperator": 120,
    "estimator_graph": 40,
    "DiffusionEMD": 50,
    "UnbalancedDiffusionEMD": 70,
    "exact_emd": 150,
    "exact_kneighbors": 100,
    "EMDNeighbors": 40,
    "l1_kneighbors": 200,
    "l1_distances": 200,
    "knn_affinity": 200,
    "open_signals": 200,
    "transform_file": 50,
}

HANG_SECONDS = 120

# 0 leaves corrupted sparse index arrays out (they may crash the process)
CORRUPT = os.environ.get("GRAPHSIG_PROPERTY_CORRUPT", "1") != "0"


def examples(entry_point):
    return settings(PROFILE, max_examples=max(1, int(EXAMPLES[entry_point] * _SCALE)))


@contextlib.contextmanager
def watchdog(seconds=HANG_SECONDS):
    """End the process (with a traceback of every thread) if the body hangs."""
    faulthandler.dump_traceback_later(seconds, exit=True)
    try:
        yield
    finally:
        faulthandler.cancel_dump_traceback_later()


# ---------------------------------------------------------------------------
# the contract

REFUSED = object()

WORDS = {
    "nan": ("nan", "finite", "not a number"),
    "inf": ("inf", "finite"),
    "negative": ("negative", "nonnegative", "non-negative"),
    "corrupt": ("corrupt", "out of range", "out-of-range", "outside", "indices", "index",
                "indptr", "pointer", "malformed"),
    "complex": ("complex", "real"),
    "object": ("object", "dtype", "string", "number", "numeric", "real", "convert", "float"),
    "shape": ("shape", "square", "2-d", "2d", "dim", "column", "nodes",
              "feature", "width"),
    "no_nodes": ("no nodes", "0 nodes", "(0, 0)", "empty", "at least", "minimum", "sample"),
    "no_edges": ("no edges", "edge"),
    "no_rows": ("0 sample", "sample", "rows", "empty", "minimum", "at least", "no signals"),
    "few_points": ("sample", "point", "minimum", "at least"),
    "asymmetric": ("asymmetric", "symmetric", "undirected"),
    "disconnected": ("disconnected", "component"),
    "zero_mass": ("zero-mass", "zero mass", "zero total mass", "mass"),
    "overflow": ("overflow", "too large", "large", "magnitude", "rescale", "exceed", "range"),
    "underflow": ("subnormal", "denormal", "underflow", "too small", "small", "tiny",
                  "magnitude", "rescale", "precision"),
    "missing": ("not found", "no such", "missing", "exist"),
    "file": ("corrupt", "truncat", "cannot read", "not a", "invalid", "malformed", "bad",
             "damaged", "ends", "archive", "format", "header", "magic", "indices", "index",
             "indptr", "shape", "crc", "decompress", "zip", "empty", "pickle", "object",
             "dtype", "2-d", "number", "file"),
}


class Problems(dict):
    """What is wrong with an input: name -> whether it must be refused.

    A strict problem (an input with no correct result) must be refused; a
    lenient one (an input the library may accept or refuse) allows either.
    A name ``param:x`` stands for parameter ``x``, which the message must name.
    """

    def add(self, name, strict=True):
        self[name] = self.get(name, False) or strict
        return self

    def merge(self, other, strict=None):
        for name, is_strict in other.items():
            self.add(name, is_strict if strict is None else strict)
        return self

    def strict(self):
        return sorted(name for name, is_strict in self.items() if is_strict)


def _words(problem):
    if problem.startswith("param:"):
        return (problem[len("param:"):].lower(),)
    return WORDS[problem]


def names_a_problem(message, problems):
    message = message.lower()
    return any(word in message for problem in problems for word in _words(problem))


def run(call, problems=None):
    """``call()`` under the contract: its result, or REFUSED for a good refusal.

    A missing directory (problem ``missing``) may also raise FileNotFoundError.
    """
    problems = Problems() if problems is None else problems
    allowed = (ValueError, TypeError) + ((FileNotFoundError,) if "missing" in problems else ())
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with watchdog():
                result = call()
    except allowed as exc:
        if not problems:
            raise AssertionError(
                f"a valid input was refused: {type(exc).__name__}: {exc}"
            ) from exc
        event(f"refused ({type(exc).__name__})")
        if not names_a_problem(str(exc), problems):
            raise AssertionError(
                f"the message names none of the input's problems {sorted(problems)}: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        return REFUSED
    except Exception as exc:
        raise AssertionError(
            f"{type(exc).__module__}.{type(exc).__name__} is neither ValueError nor TypeError "
            f"(input problems: {sorted(problems) or 'none'}): {exc}"
        ) from exc
    event("accepted")
    if problems.strict():
        raise AssertionError(
            f"an input with {problems.strict()} was accepted (returned {type(result).__name__})"
        )
    return result


def dense(x):
    return x.toarray() if sp.issparse(x) else np.asarray(x)


def assert_finite(x, what="output"):
    values = x.data if sp.issparse(x) else np.asarray(x)
    if values.dtype.kind in "fc":
        bad = ~np.isfinite(values)
        assert not bad.any(), f"{what} holds {int(bad.sum())} non-finite values"


def assert_rows_close(actual, expected, rtol, what="output", tiny=1e-300):
    """Equal up to ``rtol`` times the largest magnitude of each row."""
    actual = dense(actual).astype(np.float64)
    expected = dense(expected).astype(np.float64)
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    if expected.size == 0:
        return
    scale = np.max(np.abs(expected), axis=1, keepdims=True)
    gap = np.abs(actual - expected)
    limit = rtol * scale + tiny
    bad = ~(gap <= limit)
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise AssertionError(
            f"{what} differs from the reference at [{i}, {j}]: {actual[i, j]!r} vs "
            f"{expected[i, j]!r} (row scale {scale[i, 0]:.3g}, rtol {rtol})"
        )


# ---------------------------------------------------------------------------
# inputs as code


def lit(a):
    """Python source of an array."""
    a = np.asarray(a)
    if a.dtype == object:
        return f"np.array({a.tolist()!r}, dtype=object)"
    body = repr(a.tolist())
    if a.dtype.kind in "fc":
        body = re.sub(r"\b(nan|inf)\b", r"np.\1", body)
    return f"np.array({body}, dtype=np.{a.dtype.name})"


@dataclass(repr=False)
class Case:
    """An input, the code that rebuilds it, what it means and what is wrong with it.

    ``view`` is the dense float64 matrix an entry point should read (None when
    the input has no meaning, e.g. corrupted index arrays); ``work_dtype`` the
    dtype computations are expected to run in.
    """

    obj: object
    code: str
    view: object = None
    problems: Problems = field(default_factory=Problems)
    work_dtype: object = np.float64
    corrupt: bool = False
    n_rows: int = 0
    n_cols: int = 0

    def __repr__(self):
        return self.code


def snapshot(obj):
    if sp.issparse(obj):
        if obj.format in ("csr", "csc", "bsr"):
            return ("compressed", obj.data.copy(), obj.indices.copy(), obj.indptr.copy())
        if obj.format == "coo":
            return ("coo", obj.data.copy(), np.array(obj.row), np.array(obj.col))
        return ("other", obj.toarray())
    if isinstance(obj, np.ndarray):
        return obj.copy()
    if isinstance(obj, nx.Graph):
        return sorted(obj.edges(data=True), key=repr)
    return copy.deepcopy(obj)


def same(a, b):
    if isinstance(a, tuple):
        return type(b) is tuple and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, np.ndarray):
        if not isinstance(b, np.ndarray) or a.shape != b.shape or a.dtype != b.dtype:
            return False
        if a.dtype.kind in "fc":
            return np.array_equal(a, b, equal_nan=True)
        return np.array_equal(a, b)
    if isinstance(a, list) and a and isinstance(a[0], tuple):
        return repr(a) == repr(b)
    return repr(a) == repr(b)


def assert_unchanged(obj, before):
    assert same(before, snapshot(obj)), "the entry point modified its input"


# ---------------------------------------------------------------------------
# values

FLOAT_MAX = float(np.finfo(np.float64).max)
F32_MAX = float(np.finfo(np.float32).max)
F32_SMALLEST = float(np.finfo(np.float32).smallest_subnormal)

SPECIAL = [
    1.0, 0.5, 3.0, 1e-320, 5e-324, 2.2250738585072014e-308, 1e-300, 1e300, FLOAT_MAX,
    FLOAT_MAX / 2, F32_MAX, 1.401298464324817e-45, 1e-38, 65504.0, 6e-8,
]

MAGNITUDES = ["unit", "int", "uniform", "huge", "subnormal", "wide", "mixed"]
EXTREME = {"huge", "subnormal", "wide", "mixed"}


def magnitude_values(draw, magnitude, size, *, signed=False):
    if size == 0:
        return np.zeros(0)
    if magnitude == "unit":
        elements = st.just(1.0)
    elif magnitude == "int":
        elements = st.integers(1, 9).map(float)
    elif magnitude == "uniform":
        elements = st.floats(0.01, 10.0)
    elif magnitude == "huge":
        elements = st.floats(1e300, FLOAT_MAX)
    elif magnitude == "subnormal":
        elements = st.floats(5e-324, 2.2e-308)
    elif magnitude == "wide":
        elements = st.floats(5e-324, FLOAT_MAX)
    else:
        elements = st.sampled_from(SPECIAL)
    values = np.array(draw(st.lists(elements, min_size=size, max_size=size)), dtype=np.float64)
    if signed:
        signs = draw(st.lists(st.sampled_from([1.0, -1.0]), min_size=size, max_size=size))
        values *= np.array(signs)
    return values


def cast(values, dtype):
    """float64 intentions -> an array of ``dtype`` ("object": numeric strings)."""
    with np.errstate(all="ignore"):
        if dtype == "object":
            out = np.empty(values.shape, dtype=object)
            flat = out.reshape(-1)
            for k, v in enumerate(values.reshape(-1)):
                flat[k] = repr(float(v))
            return out
        if np.dtype(dtype).kind in "iu":
            info = np.iinfo(dtype)
            return np.clip(np.nan_to_num(values), info.min, info.max).astype(dtype)
        if np.dtype(dtype) == np.bool_:
            return values != 0
        return values.astype(dtype)


def as_float64(array):
    """The float64 values an entry point reads from ``array``."""
    with np.errstate(all="ignore"):
        if array.dtype == object:
            return np.vectorize(float, otypes=[np.float64])(array) if array.size else np.zeros(
                array.shape)
        if array.dtype.kind == "c":
            return array.real.astype(np.float64)
        return array.astype(np.float64)


# ---------------------------------------------------------------------------
# sparse containers, valid or corrupted

CORRUPTIONS = ["high", "negative", "huge", "indptr_decreasing", "indptr_beyond"]


def _split_duplicates(draw, rows, cols, vals):
    """Some entries stored as two pieces that add up to them."""
    if vals.size == 0 or vals.dtype == np.bool_:
        return rows, cols, vals
    chosen = draw(st.lists(st.integers(0, vals.size - 1), min_size=1, max_size=3, unique=True))
    extra_r, extra_c, extra_v = [], [], []
    vals = vals.copy()
    with np.errstate(all="ignore"):
        for k in chosen:
            v = vals[k]
            if vals.dtype.kind in "iu":
                first = vals.dtype.type(v // 2)
            else:
                first = vals.dtype.type(v * vals.dtype.type(0.25))
            vals[k] = vals.dtype.type(v - first)
            extra_r.append(rows[k])
            extra_c.append(cols[k])
            extra_v.append(first)
    return (
        np.concatenate([rows, np.array(extra_r, dtype=rows.dtype)]),
        np.concatenate([cols, np.array(extra_c, dtype=cols.dtype)]),
        np.concatenate([vals, np.array(extra_v, dtype=vals.dtype)]),
    )


@st.composite
def sparse_container(draw, fmt, shape, rows, cols, vals, *, corrupt=False, name="X"):
    """A sparse matrix holding the pieces ``(rows, cols, vals)``.

    Duplicates, explicit zeros and the order of the entries are drawn; with
    ``corrupt`` (formats csr, csc, coo, with at least one entry) an index
    array is made invalid, through the raw constructor or by changing it
    after construction. Returns ``(obj, code, pieces)``, ``pieces`` being the
    entries actually stored.
    """
    n_rows, n_cols = shape
    rows = np.asarray(rows, dtype=np.int64)
    cols = np.asarray(cols, dtype=np.int64)
    if fmt in ("csr", "csc", "coo", "csr_array", "coo_array") and draw(st.booleans()):
        rows, cols, vals = _split_duplicates(draw, rows, cols, vals)
    if n_rows and n_cols and draw(st.booleans()):
        k = draw(st.integers(1, 3))
        zr = np.array(draw(st.lists(st.integers(0, n_rows - 1), min_size=k, max_size=k)))
        zc = np.array(draw(st.lists(st.integers(0, n_cols - 1), min_size=k, max_size=k)))
        rows = np.concatenate([rows, zr])
        cols = np.concatenate([cols, zc])
        vals = np.concatenate([vals, np.zeros(k, dtype=vals.dtype)])
    if vals.size > 1:
        if draw(st.booleans()):
            order = np.lexsort((cols, rows))
        else:
            order = np.array(draw(st.permutations(range(vals.size))))
        rows, cols, vals = rows[order], cols[order], vals[order]
    pieces = (rows, cols, vals)
    index_dtype = np.int32 if draw(st.booleans()) else np.int64
    how = None
    if corrupt:
        assert vals.size and fmt in ("csr", "csc", "coo")
        how = draw(st.sampled_from(CORRUPTIONS[:3] if fmt == "coo" else CORRUPTIONS))
    which = draw(st.sampled_from(["row", "col"])) if fmt in ("coo", "coo_array") else None
    bound = n_cols if fmt in ("csr", "csr_array") or which == "col" else n_rows
    bad_index = {
        "high": bound + draw(st.integers(0, 3)),
        "negative": -draw(st.integers(1, bound + 2)),
        "huge": int(np.iinfo(np.int32).max),
    }.get(how)

    if fmt in ("coo", "coo_array"):
        ctor = "sp.coo_matrix" if fmt == "coo" else "sp.coo_array"
        r, c = rows.astype(index_dtype), cols.astype(index_dtype)
        obj = getattr(sp, ctor[3:])((vals, (r, c)), shape=shape)
        code = f"{name} = {ctor}(({lit(vals)}, ({lit(r)}, {lit(c)})), shape={shape})"
        if how:
            k = draw(st.integers(0, vals.size - 1))
            getattr(obj, which)[k] = bad_index
            code += f"\n{name}.{which}[{k}] = {bad_index}"
    elif fmt in ("csr", "csc", "csr_array"):
        major, minor = (rows, cols) if fmt != "csc" else (cols, rows)
        n_major = n_rows if fmt != "csc" else n_cols
        order = np.argsort(major, kind="stable")
        major, minor, data = major[order], minor[order], vals[order]
        indptr = np.zeros(n_major + 1, dtype=index_dtype)
        np.cumsum(np.bincount(major, minlength=n_major), out=indptr[1:])
        indices = minor.astype(index_dtype)
        ctor = {"csr": "sp.csr_matrix", "csc": "sp.csc_matrix", "csr_array": "sp.csr_array"}[fmt]
        raw = how in ("high", "negative", "huge") and draw(st.booleans())
        if raw:
            k = draw(st.integers(0, indices.size - 1))
            indices = indices.copy()
            indices[k] = bad_index
        obj = getattr(sp, ctor[3:])((data, indices, indptr), shape=shape)
        code = f"{name} = {ctor}(({lit(data)}, {lit(indices)}, {lit(indptr)}), shape={shape})"
        if how and not raw:
            if how in ("high", "negative", "huge"):
                k = draw(st.integers(0, indices.size - 1))
                obj.indices[k] = bad_index
                code += f"\n{name}.indices[{k}] = {bad_index}"
            elif how == "indptr_beyond" or n_major < 2:
                obj.indptr[-1] = obj.indptr[-1] + draw(st.integers(1, 5))
                code += f"\n{name}.indptr[-1] = {int(obj.indptr[-1])}"
            else:
                k = draw(st.integers(1, n_major - 1))
                obj.indptr[k] = int(obj.indptr[-1]) + 1
                code += f"\n{name}.indptr[{k}] = {int(obj.indptr[k])}"
    else:  # lil, dok: built from COO (duplicates summed by scipy)
        base = sp.coo_matrix((vals, (rows, cols)), shape=shape)
        obj = base.tolil() if fmt == "lil" else base.todok()
        code = (f"{name} = sp.coo_matrix(({lit(vals)}, ({lit(rows)}, {lit(cols)})), "
                f"shape={shape}).to{fmt}()")
    return obj, code, pieces


def summed_view(shape, pieces):
    """Dense float64 of the stored pieces, duplicates added."""
    rows, cols, vals = pieces
    if vals.dtype == np.float32:  # duplicates are added in the stored dtype
        out = np.zeros(shape, dtype=np.float32)
        with np.errstate(all="ignore"):
            np.add.at(out, (rows, cols), vals)
        return out.astype(np.float64)
    out = np.zeros(shape)
    with np.errstate(all="ignore"):
        np.add.at(out, (rows, cols), as_float64(vals))
    return out


def value_problems(pieces_values, view, problems, *, signed=False):
    """NaN / inf among the stored values, overflow of their sums, negatives."""
    values = as_float64(np.asarray(pieces_values))
    if np.isnan(values).any():
        problems.add("nan")
    if np.isinf(values).any():
        problems.add("inf")
    if view is not None and np.isfinite(values).all() and not np.isfinite(view).all():
        problems.add("overflow")
    if not signed and view is not None and (view < 0).any():
        problems.add("negative")
    return problems


def as_container(draw, V_in, container, name, corrupt=False):
    """``V_in`` (2-D, any dtype) in ``container``: (obj, code, pieces values, view)."""
    shape = V_in.shape
    if container == "dense":
        return V_in, f"{name} = {lit(V_in)}", V_in.reshape(-1), as_float64(V_in)
    if container == "list":
        code = f"{name} = {V_in.tolist()!r}"
        if V_in.dtype.kind in "fc":
            code = re.sub(r"\b(nan|inf)\b", r"float('\1')", code)
        return V_in.tolist(), code, V_in.reshape(-1), as_float64(V_in)
    if V_in.size:
        r, c = np.nonzero(V_in != 0)
    else:
        r = c = np.zeros(0, dtype=np.int64)
    obj, code, pieces = draw(sparse_container(container, shape, r, c, V_in[r, c],
                                              corrupt=corrupt, name=name))
    return obj, code, pieces[2], summed_view(shape, pieces)


# ---------------------------------------------------------------------------
# graphs

GRAPH_DENSE_DTYPES = ["float64"] * 3 + ["float32", "float16", "int64", "int32", "uint8", "bool"]
GRAPH_SPARSE_DTYPES = ["float64"] * 3 + ["float32", "int64", "int32", "bool"]
GRAPH_CONTAINERS = ["dense", "list", "csr", "csc", "coo", "lil", "dok", "csr_array",
                    "coo_array", "networkx"]
GRAPH_FAULTS = ["no_nodes", "one_node", "no_edges", "complex", "object", "nan", "inf",
                "negative", "asymmetric", "diagonal_nan", "corrupt"]


def symmetry_rtol(dtype):
    dtype = np.dtype(dtype) if dtype != "object" else np.dtype(np.float64)
    if dtype.kind == "f" and dtype.itemsize < 8:
        return max(1e-8, 8 * float(np.finfo(dtype).eps))
    return 1e-8


@st.composite
def graph_cases(draw, min_nodes=2, max_nodes=10, fault=False, containers=GRAPH_CONTAINERS):
    """A graph as users may hold it (see :class:`Case`); with ``fault``, one thing wrong."""
    which = draw(st.sampled_from(GRAPH_FAULTS)) if fault else None
    if which == "corrupt" and not CORRUPT:
        which = "nan"
    if which == "no_nodes":
        n = 0
    elif which == "one_node":
        n = 1
    else:
        n = draw(st.integers(max(min_nodes, 2), max(max_nodes, 2)))
    pool = containers
    if which == "corrupt":
        pool = [c for c in ("csr", "csc", "coo") if c in containers]
    elif which == "object":
        pool = ["dense", "list"]
    elif which in ("complex", "asymmetric"):
        pool = [c for c in containers if c != "networkx"]
    container = draw(st.sampled_from(pool))
    if container == "networkx":
        dtype = "float64"
    elif which == "complex":
        dtype = "complex128"
    elif which == "object":
        dtype = "object"
    elif which in ("nan", "inf", "diagonal_nan"):
        dtype = draw(st.sampled_from(["float64", "float32"] + (["float16"] if container in (
            "dense", "list") else [])))
    else:
        dtype = draw(st.sampled_from(GRAPH_DENSE_DTYPES if container in ("dense", "list")
                                     else GRAPH_SPARSE_DTYPES))
        if which == "negative" and dtype in ("uint8", "bool"):
            dtype = "int64"
    kind = np.dtype(dtype).kind if dtype != "object" else "O"
    magnitude = draw(st.sampled_from(MAGNITUDES))
    if kind in "iu":
        magnitude = "int"
    elif kind == "b":
        magnitude = "unit"

    if which == "no_edges":
        topology = "none"
    elif which == "corrupt":
        topology = "path"
    else:
        topology = draw(st.sampled_from(["path", "random", "complete", "star", "two"]))
    iu = np.triu_indices(n, 1)
    n_pairs = iu[0].size
    if topology == "path":
        mask = iu[1] == iu[0] + 1
    elif topology == "complete":
        mask = np.ones(n_pairs, dtype=bool)
    elif topology == "star":
        mask = iu[0] == 0
    elif topology == "two":
        mask = (iu[1] == iu[0] + 1) & (iu[0] != n // 2 - 1)
    elif topology == "none":
        mask = np.zeros(n_pairs, dtype=bool)
    else:
        mask = np.array(draw(st.lists(st.booleans(), min_size=n_pairs, max_size=n_pairs)),
                        dtype=bool)
    W = np.zeros((n, n))
    W[iu[0][mask], iu[1][mask]] = magnitude_values(draw, magnitude, int(mask.sum()))
    W = W + W.T
    if n and draw(st.booleans()):
        loops = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)))
        W[np.diag_indices(n)] = np.where(loops, magnitude_values(draw, magnitude, n), 0.0)

    if which in ("nan", "inf", "negative", "asymmetric", "diagonal_nan") and n:
        i = draw(st.integers(0, n - 1))
        j = (i + draw(st.integers(1, n - 1))) % n if n > 1 else i
        if which == "diagonal_nan":
            W[i, i] = np.nan
        elif which == "asymmetric":
            with np.errstate(all="ignore"):
                W[i, j] = W[i, j] * 3 + draw(st.sampled_from([1.0, 1e-300, 1e300]))
        else:
            value = {"nan": np.nan, "inf": np.inf, "negative": -draw(st.sampled_from(
                [1.0, 2.0, 1e-320, 1e308]))}[which]
            W[i, j] = W[j, i] = value

    V_in = cast(W, dtype)
    if dtype == "complex128" and draw(st.booleans()):
        V_in = V_in + 1j * (W != 0)
    problems = Problems()
    if container == "networkx":
        G = nx.Graph()
        G.add_nodes_from(range(n))
        r, c = np.nonzero(np.triu(W) != 0)
        edges = [(int(a), int(b), float(W[a, b])) for a, b in zip(r, c)]
        G.add_weighted_edges_from(edges)
        obj = G
        code = f"G = nx.Graph(); G.add_nodes_from(range({n})); " \
               f"G.add_weighted_edges_from({edges!r})"
        code = re.sub(r"\b(nan|inf)\b", r"float('\1')", code)
        view = np.zeros((n, n))
        with np.errstate(all="ignore"):
            for a, b, w in edges:
                view[a, b] = view[b, a] = w if a != b else 2 * w  # networkx doubles loops
        pieces_values = np.array([w for _, _, w in edges])
        if np.isfinite(pieces_values).all() and not np.isfinite(view).all():
            problems.add("overflow", strict=False)
            view[~np.isfinite(view)] = 0.0
    else:
        obj, code, pieces_values, view = as_container(draw, V_in, container, "G",
                                                      corrupt=which == "corrupt")

    if n == 0:
        problems.add("no_nodes")
        if container == "list":
            problems.add("shape")  # [] is 1-D
    if kind == "c":
        problems.add("complex")
    if kind == "O":
        problems.add("object", strict=False)
    if which == "corrupt":
        problems.add("corrupt")
        view = None
    value_problems(pieces_values, view, problems)
    if view is not None and n and np.isfinite(view).all() and not (view < 0).any():
        off = view - np.diag(np.diag(view))
        if not (off != 0).any():
            problems.add("no_edges")
        else:
            gap = np.max(np.abs(off - off.T))
            if gap > symmetry_rtol(dtype) * np.max(off):
                problems.add("asymmetric")
    return Case(obj=obj, code=code, view=view, problems=problems, n_rows=n, n_cols=n,
                work_dtype=np.float64)


def expected_adjacency(view):
    off = view - np.diag(np.diag(view))
    if (off != off.T).any():
        off = off / 2 + off.T / 2
    return off


def assert_canonical(A, dtype=np.float64):
    assert type(A) is sp.csr_matrix, type(A)
    assert A.dtype == dtype, A.dtype
    n = A.shape[0]
    assert A.shape == (n, n)
    assert A.indptr.size == n + 1 and A.indptr[0] == 0 and A.indptr[-1] == A.nnz
    assert (np.diff(A.indptr) >= 0).all()
    assert A.indices.size == A.nnz and A.data.size == A.nnz
    if A.nnz:
        assert A.indices.min() >= 0 and A.indices.max() < n
    for row in range(n):
        cols = A.indices[A.indptr[row]:A.indptr[row + 1]]
        assert (np.diff(cols) > 0).all(), "indices not sorted and unique"
    assert_finite(A, "adjacency")
    assert (A.data > 0).all(), "adjacency stores nonpositive weights"
    assert (A.diagonal() == 0).all(), "adjacency keeps self-loops"
    assert (A != A.T).nnz == 0, "adjacency is not exactly symmetric"


def add_param(problems, name, status):
    """Record a parameter value's status: None (valid), "invalid" or "maybe"."""
    if status == "invalid":
        problems.add(f"param:{name}")
    elif status == "maybe":
        problems.add(f"param:{name}", strict=False)
    return problems


@st.composite
def parameter(draw, name, valid, invalid=(), maybe=(), fault=False):
    """``(value, status)``: a valid value, or with ``fault`` an invalid or doubtful one."""
    if fault and (invalid or maybe):
        status = draw(st.sampled_from(["invalid"] * 3 * bool(invalid) + ["maybe"] * bool(maybe)))
        return draw(st.sampled_from(list(invalid if status == "invalid" else maybe))), status
    return draw(st.sampled_from(list(valid))), None


@st.composite
def parameters(draw, table, fault=False, max_changed=2):
    """Keyword arguments from ``table`` (name -> (valid, invalid, maybe)); with
    ``fault``, exactly one of them invalid or doubtful. Returns (params, problems)."""
    names = sorted(table)
    bad = draw(st.sampled_from([n for n in names if table[n][1] or table[n][2]])) if fault \
        else None
    chosen = set(draw(st.lists(st.sampled_from(names), max_size=max_changed, unique=True)))
    if bad:
        chosen.add(bad)
    params, problems = {}, Problems()
    for name in sorted(chosen):
        valid, invalid, maybe = table[name]
        value, status = draw(parameter(name, valid, invalid, maybe, fault=name == bad))
        params[name] = value
        add_param(problems, name, status)
    return params, problems


def target(draw, *inputs):
    """Which one input (or none) an example breaks: about half the examples are valid."""
    return draw(st.sampled_from(["none"] * len(inputs) + list(inputs)))


# ---------------------------------------------------------------------------
# as_adjacency

ADJ_DTYPE = (
    [np.float64, np.float32, "float64", "float32", np.dtype(np.float32)],
    [np.float16, np.int64, "complex", object, "x", bool],
    [None],
)


@examples("as_adjacency")
@given(data=st.data())
def test_as_adjacency(data):
    broken = target(data.draw, "graph", "dtype")
    case = data.draw(graph_cases(min_nodes=2, max_nodes=10, fault=broken == "graph"),
                     label="graph")
    dtype, status = data.draw(parameter("dtype", *ADJ_DTYPE, fault=broken == "dtype"),
                              label="dtype")
    problems = add_param(Problems(case.problems), "dtype", status)
    out_dtype = np.dtype(dtype) if status is None else None
    if out_dtype == np.float32 and case.view is not None:
        with np.errstate(all="ignore"):
            if (np.isfinite(case.view) & (np.abs(case.view) > F32_MAX)).any():
                problems.add("overflow", strict=False)  # self-loops, or before averaging
    expected = None
    if status is None and case.view is not None and not problems.strict():
        expected = expected_adjacency(case.view)
        if out_dtype == np.float32:
            if (np.abs(expected) > F32_MAX).any():
                problems.add("overflow")
            elif ((expected != 0) & (np.abs(expected) < F32_SMALLEST / 2)).any():
                problems.add("underflow", strict=False)
    before = snapshot(case.obj)
    A = run(lambda: as_adjacency(case.obj, dtype=dtype), problems)
    assert_unchanged(case.obj, before)
    if A is REFUSED:
        return
    if status == "maybe":
        out_dtype = A.dtype
    assert_canonical(A, out_dtype)
    if expected is None:
        return
    assert A.shape == expected.shape
    got = A.toarray().astype(np.float64)
    lost = (expected != 0) & (got == 0)
    assert not lost.any(), f"edges {np.argwhere(lost)[:3].tolist()} were dropped"
    assert not ((expected == 0) & (got != 0)).any(), "edges were added"
    low_precision = out_dtype == np.float32 or (
        hasattr(case.obj, "dtype") and case.obj.dtype in (np.float32, np.float16))
    rtol = 2e-6 if low_precision else 1e-12
    atol = 1.5e-45 if out_dtype == np.float32 else 1e-322
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol)
    assert as_adjacency(A, dtype=out_dtype) is A, "a canonical adjacency is not returned as is"


# ---------------------------------------------------------------------------
# knn_graph

POINT_DENSE_DTYPES = ["float64"] * 4 + ["float32", "float32", "float16", "int64", "bool"]
POINT_SPARSE_DTYPES = ["float64"] * 4 + ["float32", "int64", "bool"]
POINT_FAULTS = ["few_points", "no_features", "nan", "inf", "complex", "object", "corrupt"]


@st.composite
def point_cases(draw, fault=False):
    which = draw(st.sampled_from(POINT_FAULTS)) if fault else None
    if which == "corrupt" and not CORRUPT:
        which = "nan"
    m = draw(st.integers(0, 1)) if which == "few_points" else draw(st.integers(3, 14))
    d = 0 if which == "no_features" else draw(st.integers(1, 4))
    if which == "corrupt":
        container = draw(st.sampled_from(["csr", "csc", "coo"]))
    elif which == "object":
        container = draw(st.sampled_from(["dense", "list"]))
    else:
        container = draw(st.sampled_from(["dense", "dense", "list", "csr", "csc", "coo"]))
    if which == "complex":
        dtype = "complex128"
    elif which == "object":
        dtype = "object"
    elif which in ("nan", "inf"):
        dtype = draw(st.sampled_from(["float64", "float32"]))
    else:
        dtype = draw(st.sampled_from(POINT_DENSE_DTYPES if container in ("dense", "list")
                                     else POINT_SPARSE_DTYPES))
    magnitude = draw(st.sampled_from(["uniform", "uniform", "int", "duplicates"]
                                     + sorted(EXTREME)))
    size = m * d
    if magnitude == "int" or dtype in ("int64", "bool"):
        values = np.array(draw(st.lists(st.integers(-5, 5), min_size=size, max_size=size)),
                          dtype=np.float64)
    elif magnitude == "uniform":
        values = np.array(draw(st.lists(st.floats(-10, 10), min_size=size, max_size=size)))
    elif magnitude == "duplicates":
        base = np.array(draw(st.lists(st.floats(-3, 3), min_size=2 * d, max_size=2 * d)))
        picks = draw(st.lists(st.integers(0, 1), min_size=m, max_size=m))
        values = base.reshape(2, d)[picks].reshape(-1) if d else np.zeros(0)
    else:
        values = magnitude_values(draw, magnitude, size, signed=True)
    P = values.reshape(m, d)
    if which in ("nan", "inf"):
        P[draw(st.integers(0, m - 1)), draw(st.integers(0, d - 1))] = (
            np.nan if which == "nan" else -np.inf)
    if which == "corrupt" and not (P != 0).any():
        P[0, 0] = 1.0
    P_in = cast(P, dtype)
    obj, code, pieces_values, view = as_container(draw, P_in, container, "points",
                                                  corrupt=which == "corrupt")
    problems = Problems()
    if m < 2:
        problems.add("few_points")
    if d == 0:
        problems.add("shape")
    if dtype == "complex128":
        problems.add("complex")
    if dtype == "object":
        problems.add("object", strict=False)
    if which == "corrupt":
        problems.add("corrupt")
        view = None
    value_problems(pieces_values, view, problems, signed=True)
    if magnitude in EXTREME:
        problems.add("overflow", strict=False)
        problems.add("underflow", strict=False)
    work = np.float32 if dtype == "float32" and container != "list" else np.float64
    return Case(obj=obj, code=code, view=view, problems=problems, work_dtype=work,
                n_rows=m, n_cols=d)


def brute_distances(P, metric):
    """All pairwise distances, without underflow or overflow of squares."""
    from sklearn.metrics import pairwise_distances

    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        if metric == "cosine":
            return pairwise_distances(P, metric=metric)
        diff = np.abs(P[:, None, :] - P[None, :, :])
        if metric == "manhattan":
            return diff.sum(axis=2)
        peak = diff.max(axis=2, initial=0.0)
        if metric == "chebyshev":
            return peak
        safe = np.where(peak > 0, peak, 1.0)
        return peak * np.sqrt(((diff / safe[:, :, None]) ** 2).sum(axis=2))


def n_neighbors_values(low, high, fault=False):
    """``(k, status)``: a neighbour count in [low, high], or with ``fault`` a bad one."""
    if not fault:
        return st.tuples(st.one_of(st.integers(low, max(low, high)),
                                   st.integers(low, max(low, high)).map(np.int64)),
                         st.just(None))
    return st.tuples(
        st.one_of(st.sampled_from([low - 1, high + 1, -1, True, False, 2.0, None, "3"]),
                  st.sampled_from([np.True_, np.float64(2.0)])),
        st.just("invalid"),
    )


KNN_WEIGHTING = (["adaptive", "adaptive", "connectivity"], ["x", None, "Adaptive"], [])
KNN_METRIC = (["euclidean", "euclidean", "manhattan", "chebyshev", "cosine"],
              ["x", "cityblock2"], [])


@examples("knn_graph")
@given(data=st.data())
def test_knn_graph(data):
    broken = target(data.draw, "points", "n_neighbors", "weighting", "metric")
    case = data.draw(point_cases(fault=broken == "points"), label="points")
    m = case.n_rows
    k, k_status = data.draw(n_neighbors_values(1, m - 1, fault=broken == "n_neighbors"),
                            label="n_neighbors")
    if m < 2 and k_status is None:
        k_status = "maybe"
    weighting, w_status = data.draw(parameter("weighting", *KNN_WEIGHTING,
                                              fault=broken == "weighting"), label="weighting")
    metric, m_status = data.draw(parameter("metric", *KNN_METRIC, fault=broken == "metric"),
                                 label="metric")
    problems = Problems(case.problems)
    add_param(problems, "n_neighbors", k_status)
    add_param(problems, "weighting", w_status)
    add_param(problems, "metric", m_status)
    if sp.issparse(case.obj) and metric == "chebyshev":
        problems.add("param:metric", strict=False)  # no sparse chebyshev in scikit-learn
    before = snapshot(case.obj)
    A = run(lambda: knn_graph(case.obj, n_neighbors=k, weighting=weighting, metric=metric),
            problems)
    assert_unchanged(case.obj, before)
    if A is REFUSED:
        return
    out_dtype = np.dtype(case.work_dtype)
    assert_canonical(A, out_dtype)
    assert A.shape == (m, m)
    assert (A.data <= 1).all(), "weights above 1"
    assert (np.diff(A.indptr) >= k).all(), "a node has fewer than n_neighbors neighbours"
    if weighting == "connectivity":
        assert (A.data == 1).all()
        return
    P = case.view.astype(case.work_dtype)
    D = brute_distances(P.astype(np.float64), metric)
    if not np.isfinite(D).all() or metric == "cosine":
        return
    off = D + np.diag(np.full(m, np.inf))
    kth = np.sort(off, axis=1)[:, k - 1]
    largest = kth.max()
    floor = 1e-8 * largest if largest > 0 else 1.0
    sigma = np.maximum(kth, floor)
    for i in range(m):
        nearer = np.flatnonzero(off[i] < kth[i] * (1 - 1e-6) - 1e-300)
        stored = A.indices[A.indptr[i]:A.indptr[i + 1]]
        assert np.isin(nearer, stored).all(), f"node {i} misses a nearer neighbour"
    rows = np.repeat(np.arange(m), np.diff(A.indptr))
    cols = A.indices
    with np.errstate(all="ignore"):
        expected = np.maximum(
            np.exp(-(D[rows, cols] / sigma[rows]) * (D[rows, cols] / sigma[cols])),
            float(np.finfo(np.float32).tiny),
        )
    if out_dtype == np.float64:
        np.testing.assert_allclose(A.data, expected, rtol=1e-4, atol=1e-12)
    else:
        np.testing.assert_allclose(A.data, expected, rtol=1e-2, atol=1e-5)


# ---------------------------------------------------------------------------
# DiffusionOperator

ANISOTROPY = ([0, 0.0, 0.5, 1, 1.0, np.float32(0.25)],
              [True, False, float("nan"), -0.5, 1.5, float("inf"), "x", None], [])
WEIGHTED = ([False, True, np.True_, np.False_], ["no", None, "yes"], [1, 0])


def extreme_weights(view):
    """Whether a graph's weights reach magnitudes that may defeat float64 sums."""
    if view is None:
        return False
    with np.errstate(all="ignore"):
        values = np.abs(view[np.isfinite(view) & (view != 0)])
    return bool(values.size and (values.max() > 1e150 or values.min() < 1e-150))


def reference_walk(E, weighted, anisotropy, X, times):
    """mu_t = ((I + K D^-1) / 2)^t mu in float64, from the expected adjacency."""
    W = E.copy() if weighted else (E != 0).astype(np.float64)
    W = W / W.max() if W.max() > 0 else W
    q = W.sum(axis=1)
    isolated = q == 0
    qa = np.where(isolated, 1.0, q) ** -float(anisotropy)
    K = qa[:, None] * W * qa[None, :]
    d = K.sum(axis=0)
    P = np.where(isolated[None, :], 0.0, K / np.where(d == 0, 1.0, d)[None, :])
    P[isolated, isolated] = 1.0
    step = 0.5 * (np.eye(E.shape[0]) + P)
    out = []
    for t in times:
        out.append((np.linalg.matrix_power(step, int(t)) @ X.T).T)
    return np.stack(out)


@examples("DiffusionOperator")
@given(data=st.data())
def test_diffusion_operator(data):
    broken = target(data.draw, "graph", "anisotropy", "weighted")
    case = data.draw(graph_cases(min_nodes=2, max_nodes=10, fault=broken == "graph"),
                     label="graph")
    a, a_status = data.draw(parameter("anisotropy", *ANISOTROPY, fault=broken == "anisotropy"),
                            label="anisotropy")
    w, w_status = data.draw(parameter("weighted", *WEIGHTED, fault=broken == "weighted"),
                            label="weighted")
    problems = Problems(case.problems)
    add_param(problems, "anisotropy", a_status)
    add_param(problems, "weighted", w_status)
    if w and extreme_weights(case.view):
        problems.add("overflow", strict=False)
        problems.add("underflow", strict=False)
    before = snapshot(case.obj)
    op = run(lambda: DiffusionOperator(case.obj, anisotropy=a, weighted=w), problems)
    assert_unchanged(case.obj, before)
    if op is REFUSED:
        return
    n = case.n_rows
    assert op.n_nodes == n
    assert_finite(op.symmetric, "symmetric operator")
    assert_finite(op.sqrt_degree, "sqrt_degree")
    assert (op.sqrt_degree > 0).all()
    m = data.draw(st.integers(1, 3), label="n_signals")
    X = np.array(data.draw(st.lists(st.floats(0, 1), min_size=m * n, max_size=m * n),
                           label="signals")).reshape(m, n)
    X[:, 0] += 0.5
    times = data.draw(st.lists(st.sampled_from([0, 1, 2, 3, 8]), min_size=1, max_size=4),
                      label="times")
    out = run(lambda: op.diffuse(X, times))
    assert out.shape == (len(times), m, n)
    assert_finite(out, "diffusion")
    mass = X.sum(axis=1)
    np.testing.assert_allclose(out.sum(axis=2), np.broadcast_to(mass, (len(times), m)),
                               rtol=1e-9, err_msg="diffusion does not preserve mass")
    assert (out >= -1e-9 * mass.max()).all(), "diffusion of nonnegative mass went negative"
    if case.view is not None and not (w and extreme_weights(case.view)):
        E = expected_adjacency(case.view)
        ref = reference_walk(E, bool(w), float(a), X, times)
        np.testing.assert_allclose(out, ref, rtol=0, atol=1e-7 * mass.max(),
                                   err_msg="diffusion differs from the lazy walk")


# ---------------------------------------------------------------------------
# estimators: the graph parameter


def nonnegative_columns(est):
    """Columns that are masses (coarsest diffusion block, tree / subtree blocks)."""
    names = est.get_feature_names_out()
    coarsest = np.array([bool(re.match(r"^t\d+_(node|level\d+_cell)\d+$", str(s)))
                         for s in names])
    trees = np.array([str(s).startswith(("tree", "subtree")) for s in names])
    return coarsest | trees


def check_embedding(est, out, n_signals, work_dtype, what="embedding"):
    assert out.shape == (n_signals, est.n_features_out_), (out.shape, est.n_features_out_)
    assert out.dtype == np.dtype(work_dtype), f"{what} dtype {out.dtype}, expected {work_dtype}"
    assert_finite(out, what)
    values = dense(out).astype(np.float64)
    if values.size:
        scale = np.max(np.abs(values), axis=1, keepdims=True)
        slack = (2 * float(est.tol) + (1e-3 if work_dtype == np.float32 else 1e-9)) * scale
        masses = values[:, nonnegative_columns(est)]
        low = masses < -slack[:, :1]
        assert not low.any(), f"{what}: negative mass coordinates, min {masses.min()!r}"


def is_connected(E):
    from scipy.sparse.csgraph import connected_components

    return connected_components(sp.csr_matrix(E != 0), directed=False)[0] == 1


def _estimator_graph(balanced, data):
    cls = DiffusionEMD if balanced else UnbalancedDiffusionEMD
    broken = data.draw(st.sampled_from(["none", "none", "graph"]))
    case = data.draw(graph_cases(min_nodes=2, max_nodes=10, fault=broken == "graph"),
                     label="graph")
    weighted = data.draw(st.booleans(), label="weighted")
    compression = data.draw(st.sampled_from([None, 1]), label="compression")
    problems = Problems(case.problems)
    if balanced and case.view is not None and not problems.strict():
        if not is_connected(expected_adjacency(case.view)):
            problems.add("disconnected")
    if weighted and extreme_weights(case.view):
        problems.add("overflow", strict=False)
        problems.add("underflow", strict=False)
    n = max(case.n_rows, 2)
    m = data.draw(st.integers(2, 5), label="n_signals")
    X = np.array(data.draw(st.lists(st.floats(0, 1), min_size=m * n, max_size=m * n),
                           label="signals")).reshape(m, n)
    X[:, 0] += 0.25
    params = {"weighted": weighted}
    if compression is not None:
        params["compression"] = compression
    factory = data.draw(st.booleans(), label="graph given as a function of n_nodes")
    est = cls((lambda n_nodes: case.obj) if factory else case.obj, **params)
    before = snapshot(case.obj)
    if case.n_rows != n:
        problems.add("shape", strict=False)
    out = run(lambda: est.fit_transform(X), problems)
    assert_unchanged(case.obj, before)
    if out is REFUSED:
        return
    check_embedding(est, out, m, np.float64)
    assert_rows_close(est.transform(X), out, 1e-9, "transform after fit_transform")


@examples("estimator_graph")
@given(data=st.data())
def test_diffusion_emd_graph(data):
    _estimator_graph(True, data)


@examples("estimator_graph")
@given(data=st.data())
def test_unbalanced_diffusion_emd_graph(data):
    _estimator_graph(False, data)


# ---------------------------------------------------------------------------
# signals on graphs, and embeddings

SIGNAL_DENSE_DTYPES = ["float64"] * 4 + ["float32", "float32", "float16", "int64", "int32",
                                         "uint8", "bool"]
SIGNAL_SPARSE_DTYPES = ["float64"] * 4 + ["float32", "float32", "int64", "bool"]
SIGNAL_CONTAINERS = ["dense", "dense", "list", "csr", "csr", "csc", "coo", "csr_array"]
SIGNAL_FAULTS = ["wider", "narrower", "1-D", "3-D", "no_rows", "complex", "object", "nan",
                 "inf", "negative", "zero_row", "corrupt"]
SIGNAL_MAGNITUDES = ["uniform"] * 3 + ["int", "unit"] + sorted(EXTREME)


@st.composite
def signal_cases(draw, n_cols, *, fault=False, signed=False, min_rows=1, max_rows=6,
                 zero_rows=True, faults=SIGNAL_FAULTS, name="X"):
    """Signals (one per row) on ``n_cols`` nodes, or embeddings with ``signed``.

    Valid cases have no zero rows unless ``zero_rows``; with ``fault`` one
    thing from ``faults`` is wrong.
    """
    faults = [f for f in faults
              if not (signed and f in ("negative", "zero_row"))
              and not (zero_rows and f == "zero_row")
              and not (n_cols == 0 and f == "narrower")]
    which = draw(st.sampled_from(faults)) if fault else None
    if which == "corrupt" and not CORRUPT:
        which = "nan"
    m = 0 if which == "no_rows" else draw(st.integers(min_rows, max_rows))
    width = {"wider": n_cols + 1, "narrower": n_cols - 1}.get(which, n_cols)
    if which == "corrupt":
        container = draw(st.sampled_from(["csr", "csc", "coo"]))
        m, width = max(m, 1), max(width, 1)
    elif which == "object":
        container = draw(st.sampled_from(["dense", "list"]))
    elif which in ("1-D", "3-D"):
        container = "dense"
    else:
        container = draw(st.sampled_from(SIGNAL_CONTAINERS))
    if which == "complex":
        dtype = "complex128"
    elif which == "object":
        dtype = "object"
    elif which in ("nan", "inf"):
        dtype = draw(st.sampled_from(["float64", "float32"] + (["float16"] if container in (
            "dense", "list") else [])))
    else:
        dtype = draw(st.sampled_from(SIGNAL_DENSE_DTYPES if container in ("dense", "list")
                                     else SIGNAL_SPARSE_DTYPES))
        if (which == "negative" or signed) and dtype in ("uint8", "bool"):
            dtype = "int64"
    kind = np.dtype(dtype).kind if dtype != "object" else "O"
    magnitude = draw(st.sampled_from(SIGNAL_MAGNITUDES))
    if kind in "iu":
        magnitude = "int"
    elif kind == "b":
        magnitude = "unit"
    layouts = ["full", "random", "random", "one per row"] + (["one in all"] if zero_rows else [])
    layout = draw(st.sampled_from(layouts))
    if layout == "one in all":  # sparse enough for the local diffusion of sparse signals
        mask = np.zeros((m, width), dtype=bool)
        if m and width:
            mask[draw(st.integers(0, m - 1)), draw(st.integers(0, width - 1))] = True
    elif layout == "full":
        mask = np.ones((m, width), dtype=bool)
    elif layout == "random":
        mask = np.array(draw(st.lists(st.booleans(), min_size=m * width,
                                      max_size=m * width)), dtype=bool).reshape(m, width)
    else:
        mask = np.zeros((m, width), dtype=bool)
        if width:
            mask[np.arange(m), draw(st.lists(st.integers(0, width - 1), min_size=m,
                                             max_size=m))] = True
    if width and not zero_rows:
        empty = ~mask.any(axis=1)
        mask[empty, 0] = True
    elif width and m and draw(st.integers(0, 3)) == 0:
        mask[draw(st.integers(0, m - 1))] = False
    V = np.zeros((m, width))
    V[mask] = magnitude_values(draw, magnitude, int(mask.sum()), signed=signed)
    if which in ("nan", "inf", "negative", "zero_row", "corrupt") and m and width:
        i, j = draw(st.integers(0, m - 1)), draw(st.integers(0, width - 1))
        if which == "zero_row":
            V[i] = 0.0
        elif which == "corrupt":
            V[i, j] = V[i, j] or 1.0
        else:
            V[i, j] = {"nan": np.nan, "inf": np.inf, "negative": -(abs(V[i, j]) or 1.0)}[which]
    V_in = cast(V, dtype)
    if dtype == "complex128" and draw(st.booleans()):
        V_in = V_in + 1j * (V != 0)
    problems = Problems()
    if which in ("1-D", "3-D"):
        obj = V_in.reshape(-1) if which == "1-D" else V_in[None]
        code, pieces_values, view = f"{name} = {lit(obj)}", V_in.reshape(-1), None
        problems.add("shape")
    else:
        obj, code, pieces_values, view = as_container(draw, V_in, container, name,
                                                      corrupt=which == "corrupt")
    if width != n_cols:
        problems.add("shape")
    if m == 0:
        problems.add("no_rows", strict=False)
        if container == "list":
            problems.add("shape", strict=False)  # [] is 1-D
    if kind == "c":
        problems.add("complex")
    if kind == "O":
        problems.add("object", strict=False)
    if which == "corrupt":
        problems.add("corrupt")
        view = None
    value_problems(pieces_values, view, problems, signed=signed)
    if view is not None and m and np.isfinite(view).all():
        with np.errstate(all="ignore"):
            mass = np.abs(view).sum(axis=1)
            peak = np.abs(view).max(axis=1) if width else np.zeros(m)
        if not signed and (mass == 0).any():
            problems.add("zero_mass", strict=False)
        if not (mass <= 1e300).all():  # signals this large may be refused, with a clear message
            problems.add("overflow", strict=False)
        if ((peak > 0) & (peak < 1e-300)).any():  # and signals this small
            problems.add("underflow", strict=False)
    work = np.float32 if dtype == "float32" and container != "list" else np.float64
    return Case(obj=obj, code=code, view=view, problems=problems, work_dtype=work,
                n_rows=m, n_cols=width)


def signal_problems(case, *, balanced, fitting):
    """The problems of signals for an entry point: empty sets are refused when
    fitting, zero-mass signals in the balanced form."""
    problems = Problems(case.problems)
    if "no_rows" in problems:
        problems["no_rows"] = fitting
    if "zero_mass" in problems:
        problems["zero_mass"] = balanced
    return problems


# ---------------------------------------------------------------------------
# graphs for signals


def star_graph(n):
    rows = np.zeros(n - 1, dtype=np.int64)
    cols = np.arange(1, n)
    A = sp.coo_matrix((np.ones(n - 1), (rows, cols)), shape=(n, n))
    return as_adjacency(A + A.T)


def complete_graph(n):
    return as_adjacency(np.ones((n, n)) - np.eye(n))


def two_paths(a, b):
    second = path_graph(b) if b >= 2 else sp.csr_matrix((b, b))
    return as_adjacency(sp.block_diag([path_graph(a), second]))


def reweighted(A, seed):
    upper = sp.triu(A, 1).tocoo()
    w = np.random.default_rng(seed).uniform(0.1, 10.0, upper.nnz)
    W = sp.coo_matrix((w, (upper.row, upper.col)), shape=A.shape)
    return as_adjacency(W + W.T)


@dataclass(repr=False)
class GraphSpec:
    adjacency: object
    code: str
    n: int
    connected: bool

    def __repr__(self):
        return self.code


@st.composite
def family_graphs(draw, connected=True, max_nodes=30):
    kinds = ["path", "cycle", "grid", "tree", "tree", "star", "complete"]
    if not connected:
        kinds += ["two_paths", "two_paths"]
    kind = draw(st.sampled_from(kinds))
    if kind == "grid":
        r, c = draw(st.integers(2, 5)), draw(st.integers(2, 6))
        A, code = grid_graph(r, c), f"grid_graph({r}, {c})"
    elif kind == "two_paths":
        a, b = draw(st.integers(2, max_nodes // 2)), draw(st.integers(1, max_nodes // 2))
        A, code = two_paths(a, b), f"two_paths({a}, {b})"
    else:
        low = {"cycle": 3, "star": 3}.get(kind, 2)
        high = 12 if kind == "complete" else max_nodes
        n = draw(st.integers(low, high))
        if kind == "tree":
            seed = draw(st.integers(0, 1000))
            A, code = random_tree(n, random_state=seed), f"random_tree({n}, random_state={seed})"
        else:
            make = {"path": path_graph, "cycle": cycle_graph, "star": star_graph,
                    "complete": complete_graph}[kind]
            A, code = make(n), f"{make.__name__}({n})"
    if draw(st.integers(0, 3)) == 0:
        seed = draw(st.integers(0, 1000))
        A, code = reweighted(A, seed), f"reweighted({code}, {seed})"
    return GraphSpec(adjacency=A, code=code, n=A.shape[0], connected=kind != "two_paths")


def hops_of(adjacency):
    from scipy.sparse.csgraph import shortest_path

    return shortest_path(adjacency, directed=False, unweighted=True)


def exponents(view):
    """Per-row powers of two bringing each row's largest magnitude into [1, 2)."""
    with np.errstate(all="ignore"):
        peak = np.max(np.abs(view), axis=1) if view.shape[1] else np.zeros(view.shape[0])
    _, e = np.frexp(peak)
    return np.where(peak > 0, e - 1, 0).astype(np.int64)


# ---------------------------------------------------------------------------
# DiffusionEMD and UnbalancedDiffusionEMD: signals and parameters

NAN, INF = float("nan"), float("inf")
EMD_PARAMS = {
    "max_scale": (["auto", 0, 1, 3, 6, 12, np.int64(2)],
                  [-1, 41, 2.5, True, False, NAN, "big", None], []),
    "alpha": ([0.5, 0.25, 0.999, 1e-3], [0, 1, 1.5, -0.5, NAN, INF, True, "x", None], []),
    "anisotropy": ([0, 0.5, 1, 1.0], [-0.1, 1.1, NAN, INF, True, False, "x", None], []),
    "weighted": ([True, False, np.True_], ["yes", None, NAN, 2], [1, 0]),
    "tol": ([1e-7, 1e-3, 0.5, 1e-12], [0, 1, -1e-3, NAN, INF, True, None], [1e-300]),
    "n_calibration_signals": ([0, 1, 2, 5, 32, 10**6], [-1, 2.5, True, False, NAN, None], []),
    "compression": ([1, 1.0, 2, 4, 16.0, 1e6], [0.5, 0, -1, NAN, True, None], [INF]),
    "max_memory": ([None, 1, 100, 2**20, 2**40], [0, -1, 1.5, True, NAN], []),
    "n_jobs": ([None, 1, 2, -1, -2, np.int64(1)], [0, True, False, 1.5, NAN, "2"], [-100]),
    "progress": ([False, True, np.False_], [1, "yes", None], []),
    "random_state": ([None, 0, 7, 2**32 - 1], ["x", -1, 1.5, 2**32], [True]),
}
BALANCED_PARAMS = {
    "n_trees": (["auto", 0, 1, 3], [-1, 1.5, True, NAN, "x", None], []),
    "tree_weight": (["auto", 0, 0.0, 0.3, 1, 1.0], [-0.1, 1.1, NAN, True, "x", None], []),
}
UNBALANCED_PARAMS = {
    "mass_penalty": ([5.0, 0.3, 1, 2, 1e-3, 100.0, np.float32(2.5)],
                     [0, -1, NAN, INF, -INF, True, False, "x", None], [1e308, 1e-320, 1e300]),
}


@st.composite
def training_signals(draw, n, balanced):
    """Valid, well-scaled training signals (a dense float64 array)."""
    m = draw(st.integers(2, 8))
    X = np.array(draw(st.lists(st.sampled_from([0.0, 0.0, 0.5, 1.0, 2.0, 0.1, 1e-170, 5e-324]),
                               min_size=m * n, max_size=m * n))).reshape(m, n)
    X[np.arange(m), draw(st.lists(st.integers(0, n - 1), min_size=m, max_size=m))] += 1.0
    return X


def reference_embedding(est, view, work_dtype, balanced):
    """The embedding of ``view`` computed from rows rescaled by powers of two.

    Balanced embeddings ignore the scale of a signal; unbalanced ones are
    positively homogeneous. Returns (scaled input, its embedding, reference).
    """
    e = exponents(view)
    scaled = np.ldexp(view, -e[:, None]).astype(work_dtype)
    base = dense(run(lambda: est.transform(scaled))).astype(np.float64)
    with np.errstate(all="ignore"):
        ref = base if balanced else np.ldexp(base, e[:, None])
    return scaled, base, ref


def _emd_estimator(balanced, data):
    cls = DiffusionEMD if balanced else UnbalancedDiffusionEMD
    table = {**EMD_PARAMS, **(BALANCED_PARAMS if balanced else UNBALANCED_PARAMS)}
    broken = target(data.draw, "signals", "parameters")
    spec = data.draw(family_graphs(connected=balanced), label="graph")
    params, param_problems = data.draw(parameters(table, fault=broken == "parameters"),
                                       label="params")
    if not balanced and isinstance(params.get("mass_penalty"), float) and (
            params["mass_penalty"] >= 1e300 or params["mass_penalty"] < 1e-300):
        param_problems.add("overflow", strict=False)
        param_problems.add("underflow", strict=False)
    n = spec.n
    train = data.draw(training_signals(n, balanced), label="train")
    method = data.draw(st.sampled_from(["transform", "fit", "fit_transform"]), label="method")
    case = data.draw(signal_cases(n, fault=broken == "signals", zero_rows=not balanced),
                     label="X")
    est = cls(spec.adjacency, **params)
    rtol = 2e-3 if case.work_dtype == np.float32 else 1e-6
    tiny = 1e-30 if case.work_dtype == np.float32 else 1e-300
    lenient = Problems().merge(param_problems, strict=False)

    if method == "fit":
        problems = signal_problems(case, balanced=balanced, fitting=True).merge(param_problems)
        if case.n_cols < 2:
            problems.add("shape")
        before = snapshot(case.obj)
        fitted = run(lambda: est.fit(case.obj), problems)
        assert_unchanged(case.obj, before)
        if fitted is REFUSED:
            return
        assert fitted is est
        assert np.isfinite(est.hop_scale_) and est.hop_scale_ > 0, est.hop_scale_
        out = run(lambda: est.transform(train))
        check_embedding(est, out, train.shape[0], np.float64)
        return

    if method == "transform":
        if run(lambda: est.fit(train), lenient) is REFUSED:
            return
        problems = signal_problems(case, balanced=balanced, fitting=False).merge(param_problems)
    else:
        problems = signal_problems(case, balanced=balanced, fitting=True).merge(param_problems)
        if case.n_cols < 2:
            problems.add("shape")
    before = snapshot(case.obj)
    if method == "transform" and case.view is not None and case.n_rows and not problems.strict():
        scaled, base, ref = reference_embedding(est, case.view, case.work_dtype, balanced)
        with np.errstate(all="ignore"):
            if not (np.abs(ref) <= np.finfo(case.work_dtype).max).all():
                problems.add("overflow")
        out = run(lambda: est.transform(case.obj), problems)
    else:
        out = run(lambda: getattr(est, method)(case.obj), problems)
        if out is not REFUSED and case.view is not None and case.n_rows:
            scaled, base, ref = reference_embedding(est, case.view, case.work_dtype, balanced)
            again = run(lambda: est.transform(case.obj))
            assert_rows_close(again, out, rtol, "transform after fit_transform", tiny)
    assert_unchanged(case.obj, before)
    if out is REFUSED:
        return
    m = case.n_rows
    check_embedding(est, out, m, case.work_dtype)
    if case.view is None or not m:
        return
    assert_rows_close(out, ref, rtol, "embedding vs. the embedding of rescaled rows", tiny)
    if m >= 2:
        perm = np.array(data.draw(st.permutations(range(m)), label="permutation"))
        permuted = run(lambda: est.transform(scaled[perm]))
        assert_rows_close(permuted, base[perm], rtol, "embedding of permuted rows", tiny)
    if case.work_dtype == np.float64 and m:
        single = run(lambda: est.transform(scaled.astype(np.float32)))
        assert single.dtype == np.float32
        assert_finite(single, "float32 embedding")
        assert_rows_close(single, base, 2e-3, "float32 vs. float64 embedding", 1e-30)


@examples("DiffusionEMD")
@given(data=st.data())
def test_diffusion_emd(data):
    _emd_estimator(True, data)


@examples("UnbalancedDiffusionEMD")
@given(data=st.data())
def test_unbalanced_diffusion_emd(data):
    _emd_estimator(False, data)


# ---------------------------------------------------------------------------
# exact_emd and exact_kneighbors

PENALTY = ([None, None, None, 1.0, 0.3, 2.5, 3, 100.0, np.float32(1.5)],
           [0, -1.0, NAN, INF, True, False, "1"], [1e308, 1e300, 1e-320])
N_JOBS = ([None, 1, 2, -1, np.int64(1)], [0, True, 1.5, "2"], [-100])
PROGRESS = ([False, True, np.False_], [1, "yes", None], [])


def brute_emd(hops, X, Y, penalty):
    """Exact (unbalanced) EMD by one dense network simplex per pair."""
    import ot

    n = hops.shape[0]
    out = np.zeros((X.shape[0], Y.shape[0]))
    if penalty is not None:
        big = np.zeros((n + 1, n + 1))
        big[:n, :n] = np.minimum(hops, 2.0 * penalty)
        big[:n, n] = big[n, :n] = penalty
    for i, x in enumerate(X):
        for j, y in enumerate(Y):
            if penalty is None:
                a, b = x / x.sum(), y / y.sum()
                ka, kb = a > 0, b > 0
                assert ka.any() and kb.any() and np.isfinite(a).all() and np.isfinite(b).all(), \
                    f"brute force on unusable rows {x!r}, {y!r}"
                out[i, j] = ot.emd2(a[ka], b[kb], np.ascontiguousarray(hops[np.ix_(ka, kb)]),
                                    check_marginals=False)
            else:
                a, b = np.append(x, y.sum()), np.append(y, x.sum())
                assert np.isfinite(a).all() and np.isfinite(b).all() and np.isfinite(big).all(), \
                    f"brute force on unusable rows {x!r}, {y!r}"
                total = a.sum()
                if total > 0:  # POT's simplex is solved at unit mass (tiny masses crash it)
                    out[i, j] = total * ot.emd2(a / total, b / total, big, check_marginals=False)
    return out


def reference_emd(hops, X, Y, penalty):
    """Brute-force EMD of views rescaled by powers of two (None when unreliable)."""
    if penalty is None:
        sx = np.ldexp(X, -exponents(X)[:, None])
        sy = np.ldexp(Y, -exponents(Y)[:, None])
        return brute_emd(hops, sx, sy, None)
    if not 1e-200 < penalty < 1e200:
        return None
    both = np.vstack([X, Y])
    e = int(exponents(np.abs(both).max(keepdims=True).reshape(1, 1))[0]) if both.size else 0
    with np.errstate(all="ignore"):
        return np.ldexp(brute_emd(hops, np.ldexp(X, -e), np.ldexp(Y, -e), penalty), e)


@examples("exact_emd")
@given(data=st.data())
def test_exact_emd(data):
    broken = target(data.draw, "X", "Y", "mass_penalty", "n_jobs", "progress")
    penalty, p_status = data.draw(parameter("mass_penalty", *PENALTY,
                                            fault=broken == "mass_penalty"), label="mass_penalty")
    balanced = penalty is None
    spec = data.draw(family_graphs(connected=balanced or data.draw(st.booleans()),
                                   max_nodes=16), label="graph")
    n = spec.n
    X = data.draw(signal_cases(n, fault=broken == "X", max_rows=5, zero_rows=not balanced,
                               name="X"), label="X")
    has_y = broken == "Y" or data.draw(st.booleans(), label="with Y")
    Y = data.draw(signal_cases(n, fault=broken == "Y", max_rows=4, zero_rows=not balanced,
                               name="Y"), label="Y") if has_y else None
    n_jobs, j_status = data.draw(parameter("n_jobs", *N_JOBS, fault=broken == "n_jobs"),
                                 label="n_jobs")
    progress, g_status = data.draw(parameter("progress", *PROGRESS, fault=broken == "progress"),
                                   label="progress")
    problems = signal_problems(X, balanced=balanced, fitting=False)
    if has_y:
        problems.merge(signal_problems(Y, balanced=balanced, fitting=False))
    add_param(problems, "mass_penalty", p_status)
    if p_status == "maybe":
        problems.add("overflow", strict=False)
        problems.add("underflow", strict=False)
    add_param(problems, "n_jobs", j_status)
    add_param(problems, "progress", g_status)
    if balanced and not spec.connected:
        problems.add("disconnected")
    views = [X.view] + ([Y.view] if has_y else [])
    valid_views = all(v is not None for v in views)
    hops = hops_of(spec.adjacency)
    ref = None
    if valid_views and not problems.strict() and p_status is None:
        ref = reference_emd(hops, X.view, Y.view if has_y else X.view, penalty)
        if ref is not None and not np.isfinite(ref).all():
            problems.add("overflow")
    before = [snapshot(X.obj)] + ([snapshot(Y.obj)] if has_y else [])
    D = run(lambda: exact_emd(spec.adjacency, X.obj, Y.obj if has_y else None,
                              mass_penalty=penalty, n_jobs=n_jobs, progress=progress), problems)
    assert_unchanged(X.obj, before[0])
    if has_y:
        assert_unchanged(Y.obj, before[1])
    if D is REFUSED:
        return
    my = Y.n_rows if has_y else X.n_rows
    assert D.shape == (X.n_rows, my) and D.dtype == np.float64
    assert_finite(D, "distances")
    scale = float(np.abs(D).max()) if D.size else 0.0
    assert (D >= -1e-12 * scale).all(), "negative distances"
    if not has_y:
        assert np.array_equal(D, D.T), "exact_emd(X) is not symmetric"
        assert (np.diag(D) == 0).all(), "exact_emd(X) has a nonzero diagonal"
        for j in range(D.shape[0]):
            assert (D <= D[:, [j]] + D[[j], :] + 1e-9 * scale + 1e-300).all(), \
                "triangle inequality"
    if balanced and D.size:
        diameter = hops[np.isfinite(hops)].max()
        assert scale <= diameter * (1 + 1e-9), "balanced EMD beyond the diameter"
    # signals are read in float64: duplicates of float32 sparse input are added in float64,
    # and the views (added in float32) are that close
    rtol = 1e-6 if any(c.work_dtype == np.float32 for c in [X] + ([Y] if has_y else [])) \
        else 1e-9
    if ref is not None:
        assert_rows_close(D, ref, max(rtol, 1e-7), "exact_emd vs. brute force", 1e-300)
    if not has_y and X.view is not None and X.n_rows >= 2:
        perm = np.array(data.draw(st.permutations(range(X.n_rows)), label="permutation"))
        permuted = run(lambda: exact_emd(spec.adjacency, X.view[perm], mass_penalty=penalty))
        assert_rows_close(permuted, D[np.ix_(perm, perm)], rtol, "exact_emd of permuted rows")


ORDER_FAULTS = ["outside", "negative", "shape", "float"]


@examples("exact_kneighbors")
@given(data=st.data())
def test_exact_kneighbors(data):
    broken = target(data.draw, "queries", "data", "n_neighbors", "mass_penalty", "order",
                    "n_landmarks", "n_jobs")
    penalty, p_status = data.draw(parameter("mass_penalty", *PENALTY,
                                            fault=broken == "mass_penalty"), label="mass_penalty")
    balanced = penalty is None
    spec = data.draw(family_graphs(connected=balanced or data.draw(st.booleans()),
                                   max_nodes=16), label="graph")
    n = spec.n
    Q = data.draw(signal_cases(n, fault=broken == "queries", max_rows=4,
                               zero_rows=not balanced, name="queries"), label="queries")
    has_data = broken == "data" or data.draw(st.booleans(), label="with data")
    S = data.draw(signal_cases(n, fault=broken == "data", max_rows=6, zero_rows=not balanced,
                               name="data"), label="data") if has_data else Q
    exclude_self = (not has_data) and data.draw(st.booleans(), label="exclude_self")
    available = S.n_rows - exclude_self
    k, k_status = data.draw(n_neighbors_values(1, available, fault=broken == "n_neighbors"),
                            label="n_neighbors")
    if available < 1 and k_status is None:
        k_status = "invalid"
    order = None
    o_status = None
    if broken == "order" or data.draw(st.booleans(), label="with order"):
        width = data.draw(st.integers(0, 4), label="n_candidates")
        order = np.array(data.draw(st.lists(st.integers(0, max(S.n_rows - 1, 0)),
                                            min_size=Q.n_rows * width,
                                            max_size=Q.n_rows * width)),
                         dtype=np.int64).reshape(Q.n_rows, width)
        if broken == "order":
            o_status = "invalid"
            how = data.draw(st.sampled_from(ORDER_FAULTS), label="order fault")
            if how == "outside" or (how == "negative" and not order.size):
                order = np.full((Q.n_rows, 1), S.n_rows + 2)
            elif how == "negative":
                order.flat[0] = -1
            elif how == "shape":
                order = order.reshape(-1)
            else:
                order = order.astype(np.float64) + 0.5
    landmarks, l_status = data.draw(parameter("n_landmarks", [0, 1, 3, 16, 100],
                                              [-1, 1.5, True, None, "4"], [],
                                              fault=broken == "n_landmarks"), label="n_landmarks")
    n_jobs, j_status = data.draw(parameter("n_jobs", *N_JOBS, fault=broken == "n_jobs"),
                                 label="n_jobs")
    problems = signal_problems(Q, balanced=balanced, fitting=False)
    if has_data:
        problems.merge(signal_problems(S, balanced=balanced, fitting=True))
    for name, status in (("mass_penalty", p_status), ("n_neighbors", k_status),
                         ("order", o_status), ("n_landmarks", l_status), ("n_jobs", j_status)):
        add_param(problems, name, status)
    if p_status == "maybe":
        problems.add("overflow", strict=False)
        problems.add("underflow", strict=False)
    if balanced and not spec.connected:
        problems.add("disconnected")
    hops = hops_of(spec.adjacency)
    ref = None
    if Q.view is not None and S.view is not None and not problems.strict() and p_status is None:
        ref = reference_emd(hops, Q.view, S.view, penalty)
        if ref is not None and not np.isfinite(ref).all():
            problems.add("overflow")
    result = run(lambda: exact_kneighbors(
        spec.adjacency, Q.obj, S.obj if has_data else None, n_neighbors=k,
        mass_penalty=penalty, order=order, exclude_self=exclude_self, n_landmarks=landmarks,
        n_jobs=n_jobs, random_state=0), problems)
    if result is REFUSED:
        return
    distances, indices, n_solves = result
    q = Q.n_rows
    assert distances.shape == indices.shape == (q, k)
    assert n_solves.shape == (q,) and (n_solves >= 0).all() and (n_solves <= S.n_rows).all()
    assert_finite(distances, "distances")
    assert (np.diff(distances, axis=1) >= 0).all(), "distances not sorted"
    assert ((indices >= 0) & (indices < S.n_rows)).all(), "indices out of range"
    for i in range(q):
        assert np.unique(indices[i]).size == k, "a neighbour is repeated"
        if exclude_self:
            assert i not in indices[i], "the query is its own neighbour"
    if ref is not None:
        scale = np.abs(ref).max() if ref.size else 0.0
        tol = 1e-7 * scale + 1e-300
        allowed = ref.copy()
        if exclude_self:
            allowed[np.arange(q), np.arange(q)] = np.inf
        best = np.sort(allowed, axis=1)[:, :k]
        assert (np.abs(distances - best) <= tol).all(), "not the exact nearest distances"
        got = np.take_along_axis(ref, indices, axis=1)
        assert (np.abs(distances - got) <= tol).all(), "distances do not match their indices"


# ---------------------------------------------------------------------------
# EMDNeighbors

EMBEDDINGS = {
    "None": lambda: None,
    "precomputed": lambda: "precomputed",
    "unbalanced": lambda: UnbalancedDiffusionEMD(mass_penalty=2.0),
    "diffusion": lambda: DiffusionEMD(compression=1, n_trees=0),
    "x": lambda: "x",
    "int": lambda: 3,
}
EMDN_PARAMS = {
    "embedding": (["None", "None", "precomputed", "unbalanced", "diffusion"], ["x", "int"], []),
    "mode": (["distance", "connectivity"], ["x", None], []),
    "algorithm": (["auto", "exact", "approximate"], ["x", None, "brute"], []),
    "n_probes": ([1, 2, 8, 100], [0, -1, True, 1.5, None], []),
    "refine": ([None, None, "exact"], ["x", "approx", True], []),
    "n_candidates": ([1, 4, 32], [0, -1, True, 2.5], []),
    "n_jobs": ([None, 1, 2, -1], [0, True, 1.5, "2"], []),
    "random_state": ([None, 0, 3], ["x", -1, 1.5], []),
}


def brute_l1(A, B):
    with np.errstate(all="ignore"):
        return np.abs(A[:, None, :] - B[None, :, :]).sum(axis=2)


def check_neighbours(distances, indices, n_queries, k, n_fit, exclude_self, rtol):
    assert distances.shape == indices.shape == (n_queries, k), (distances.shape, k)
    assert indices.dtype.kind == "i"
    assert_finite(distances, "distances")
    assert (distances >= 0).all(), "negative distances"
    assert (np.diff(distances, axis=1) >= -rtol * np.abs(distances).max(initial=0)).all(), \
        "distances not sorted"
    assert ((indices >= 0) & (indices < n_fit)).all(), "indices out of range"
    for i in range(n_queries):
        assert np.unique(indices[i]).size == k, "a neighbour is repeated"
        if exclude_self:
            assert i not in indices[i], "a training sample is its own neighbour"


def check_against(distances, indices, D, rtol, exact_search, exclude_self=False):
    """Distances match their indices in ``D``; with ``exact_search``, they are the smallest."""
    scale = np.abs(D).max(initial=0.0)
    tol = rtol * scale + 1e-300
    got = np.take_along_axis(D, indices, axis=1)
    assert (np.abs(distances - got) <= tol).all(), "distances do not match their indices"
    if exact_search:
        allowed = D.copy()
        if exclude_self:
            allowed[np.arange(D.shape[0]), np.arange(D.shape[0])] = np.inf
        best = np.sort(allowed, axis=1)[:, :distances.shape[1]]
        assert (np.abs(distances - best) <= tol).all(), "not the nearest neighbours"


def check_affinity(K, n, dtype):
    assert type(K) is sp.csr_matrix and K.shape == (n, n)
    assert K.dtype == dtype, K.dtype
    assert_finite(K, "affinity")
    assert (K.data > 0).all() and (K.data <= 1).all(), "affinity outside (0, 1]"
    assert (K.diagonal() == 1).all(), "affinity diagonal is not 1"
    assert (K != K.T).nnz == 0, "affinity is not symmetric"


@examples("EMDNeighbors")
@given(data=st.data())
def test_emd_neighbors(data):
    broken = target(data.draw, "X", "parameters", "n_neighbors", "query", "query_k")
    params, param_problems = data.draw(parameters(EMDN_PARAMS, fault=broken == "parameters",
                                                  max_changed=3), label="params")
    embedding_name = params.pop("embedding", "None")
    params["embedding"] = EMBEDDINGS[embedding_name]()
    precomputed = embedding_name == "precomputed"
    balanced = embedding_name in ("None", "diffusion")
    if precomputed and params.get("refine") == "exact":
        param_problems.add("param:refine")
    spec = data.draw(family_graphs(connected=True, max_nodes=14), label="graph")
    width = data.draw(st.integers(1, 8), label="n_features") if precomputed else spec.n
    X = data.draw(signal_cases(width, fault=broken == "X", signed=precomputed, max_rows=7,
                               zero_rows=not balanced), label="X")
    m = X.n_rows
    k, k_status = data.draw(n_neighbors_values(1, max(m - 1, 1), fault=broken == "n_neighbors"),
                            label="n_neighbors")
    method = data.draw(st.sampled_from(["kneighbors", "kneighbors", "kneighbors_query",
                                        "kneighbors_graph", "transform", "fit_transform"]),
                       label="method")
    est = EMDNeighbors(graph=spec.adjacency, n_neighbors=k, **params)
    fit_problems = signal_problems(X, balanced=balanced and not precomputed, fitting=True)
    if not precomputed and X.n_cols < 2:
        fit_problems.add("shape")
    if k_status:
        param_problems.add("param:n_neighbors")
    mode = params.get("mode", "distance")
    if method == "fit_transform":
        needed = k + 1 if mode == "distance" else k
        if k_status is None and needed > m:
            fit_problems.add("param:n_neighbors")
        G = run(lambda: est.fit_transform(X.obj), fit_problems.merge(param_problems))
        if G is REFUSED:
            return
        assert type(G) is sp.csr_matrix and G.shape == (m, m)
        assert (np.diff(G.indptr) == needed).all()
        assert_finite(G, "graph")
        assert (G.data >= 0).all()
        if mode == "distance" and k >= 1:
            K = run(lambda: knn_affinity(G))
            check_affinity(K, m, np.float32 if G.dtype == np.float32 else np.float64)
        return

    fitted = run(lambda: est.fit(X.obj), Problems(fit_problems).merge(param_problems,
                                                                     strict=False))
    if fitted is REFUSED:
        return
    problems = Problems(param_problems)
    if method == "kneighbors":
        Q, q_obj, n_q = None, None, m
        if k_status is None and k > m - 1:
            problems.add("param:n_neighbors")
    else:
        Q = data.draw(signal_cases(width, fault=broken == "query", signed=precomputed,
                                   max_rows=4, zero_rows=not balanced, name="Xq"), label="query")
        q_obj, n_q = Q.obj, Q.n_rows
        problems.merge(signal_problems(Q, balanced=balanced and not precomputed, fitting=False))
        if k_status is None and k > m:
            problems.add("param:n_neighbors")
    query_k = k
    if method == "transform":
        query_k = k + 1 if mode == "distance" else k
        if k_status is None and query_k > m:
            problems.add("param:n_neighbors")
        result = run(lambda: est.transform(q_obj), problems)
    elif method == "kneighbors_graph":
        graph_mode = data.draw(st.sampled_from(["connectivity", "distance"]), label="graph mode")
        result = run(lambda: est.kneighbors_graph(q_obj, mode=graph_mode), problems)
    else:
        given_k, gk_status = None, None
        if broken == "query_k" or data.draw(st.booleans(), label="kneighbors n_neighbors"):
            high = m - 1 if Q is None else m
            given_k, gk_status = data.draw(n_neighbors_values(1, high, fault=broken == "query_k"),
                                           label="kneighbors(n_neighbors=)")
            if given_k is None:  # the default: the estimator's n_neighbors
                given_k, gk_status = k, k_status
            problems.pop("param:n_neighbors", None)
            if k_status:
                problems.add("param:n_neighbors", strict=False)
            if high < 1 and gk_status is None:
                gk_status = "invalid"
            add_param(problems, "n_neighbors", gk_status)
            k = given_k
        result = run(lambda: est.kneighbors(q_obj, n_neighbors=given_k), problems)
    if result is REFUSED:
        return
    if method in ("transform", "kneighbors_graph"):
        assert type(result) is sp.csr_matrix and result.shape == (n_q, m)
        assert (np.diff(result.indptr) == query_k).all()
        assert_finite(result, "graph")
        assert (result.data >= 0).all()
        return
    distances, indices = result
    low = est.fit_embedding_.dtype == np.float32
    rtol = 1e-4 if low else 1e-9
    check_neighbours(distances, indices, n_q, k, m, Q is None, rtol)
    if params.get("refine") == "exact":
        penalty = getattr(est.embedder_, "mass_penalty", None)
        hops = hops_of(spec.adjacency)
        ref = reference_emd(hops, X.view if Q is None else Q.view, X.view, penalty)
        check_against(distances, indices, ref, 1e-7, True, Q is None)
        return
    F = dense(est.fit_embedding_).astype(np.float64)
    if Q is None:
        E = F
    elif precomputed:
        E = Q.view.astype(est.fit_embedding_.dtype).astype(np.float64)
    else:
        E = dense(est.embedder_.transform(q_obj)).astype(np.float64)
    check_against(distances, indices, brute_l1(E, F), rtol, est.algorithm_ == "exact",
                  Q is None)


# ---------------------------------------------------------------------------
# l1_kneighbors and l1_distances

EMBEDDING_FAULTS = ["1-D", "3-D", "complex", "object", "nan", "inf", "corrupt"]


def out_dtype_of(*cases):
    return np.float32 if all(c.work_dtype == np.float32 for c in cases) else np.float64


@examples("l1_kneighbors")
@given(data=st.data())
def test_l1_kneighbors(data):
    broken = target(data.draw, "queries", "data", "width", "n_neighbors", "n_jobs")
    d = data.draw(st.integers(0, 6), label="n_features")
    Q = data.draw(signal_cases(d, signed=True, fault=broken == "queries", min_rows=0,
                               faults=EMBEDDING_FAULTS, name="queries"), label="queries")
    has_data = broken in ("data", "width") or data.draw(st.booleans(), label="with data")
    width = d + 1 if broken == "width" else d
    S = data.draw(signal_cases(width, signed=True, fault=broken == "data", min_rows=1,
                               faults=EMBEDDING_FAULTS, name="data"), label="data") \
        if has_data else Q
    exclude_self = (not has_data or data.draw(st.booleans())) and data.draw(st.booleans(),
                                                                           label="exclude_self")
    available = S.n_rows - exclude_self
    k, k_status = data.draw(n_neighbors_values(1, available, fault=broken == "n_neighbors"),
                            label="n_neighbors")
    n_jobs, j_status = data.draw(parameter("n_jobs", *N_JOBS, fault=broken == "n_jobs"),
                                 label="n_jobs")
    problems = Problems(Q.problems)
    problems.pop("no_rows", None)
    if has_data:
        problems.merge(S.problems)
        if broken == "width":
            problems.add("shape")
        if exclude_self and S.n_rows != Q.n_rows:
            problems.add("param:exclude_self")
    if available < 1 and k_status is None:
        k_status = "invalid"
    add_param(problems, "n_neighbors", k_status)
    add_param(problems, "n_jobs", j_status)
    dtype = out_dtype_of(Q, S)
    D = None
    if Q.view is not None and S.view is not None and not problems.strict():
        D = brute_l1(Q.view.astype(dtype).astype(np.float64),
                     S.view.astype(dtype).astype(np.float64))
        with np.errstate(all="ignore"):
            D32 = D.astype(dtype)
        allowed = D32.astype(np.float64)
        if exclude_self:
            allowed[np.arange(Q.n_rows), np.arange(Q.n_rows)] = -np.inf
        if not np.isfinite(allowed[np.isfinite(allowed) | (allowed > 0)]).all():
            kth = np.sort(np.where(allowed == -np.inf, np.inf, allowed), axis=1)[:, k - 1] \
                if Q.n_rows else np.zeros(0)
            problems.add("overflow", strict=not np.isfinite(kth).all())
    before = [snapshot(Q.obj)] + ([snapshot(S.obj)] if has_data else [])
    result = run(lambda: l1_kneighbors(Q.obj, S.obj if has_data else None, k, n_jobs=n_jobs,
                                       exclude_self=exclude_self), problems)
    assert_unchanged(Q.obj, before[0])
    if has_data:
        assert_unchanged(S.obj, before[1])
    if result is REFUSED:
        return
    distances, indices = result
    assert distances.dtype == dtype, (distances.dtype, dtype)
    assert indices.dtype == np.int64
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    check_neighbours(distances, indices, Q.n_rows, k, S.n_rows, exclude_self, rtol)
    if D is not None and Q.n_rows:
        check_against(distances.astype(np.float64), indices, D, rtol, True, exclude_self)


@examples("l1_distances")
@given(data=st.data())
def test_l1_distances(data):
    broken = target(data.draw, "A", "B", "width", "n_jobs")
    d = data.draw(st.integers(0, 6), label="n_features")
    A = data.draw(signal_cases(d, signed=True, fault=broken == "A", min_rows=0,
                               faults=EMBEDDING_FAULTS, name="A"), label="A")
    has_b = broken in ("B", "width") or data.draw(st.booleans(), label="with B")
    B = data.draw(signal_cases(d + 1 if broken == "width" else d, signed=True,
                               fault=broken == "B", min_rows=0, faults=EMBEDDING_FAULTS,
                               name="B"), label="B") if has_b else A
    n_jobs, j_status = data.draw(parameter("n_jobs", *N_JOBS, fault=broken == "n_jobs"),
                                 label="n_jobs")
    problems = Problems(A.problems).merge(B.problems)
    problems.pop("no_rows", None)
    if broken == "width":
        problems.add("shape")
    add_param(problems, "n_jobs", j_status)
    dtype = out_dtype_of(A, B)
    D = None
    if A.view is not None and B.view is not None and not problems.strict():
        D = brute_l1(A.view.astype(dtype).astype(np.float64),
                     B.view.astype(dtype).astype(np.float64))
        with np.errstate(all="ignore"):
            if not np.isfinite(D.astype(dtype)).all():
                problems.add("overflow")
    before = [snapshot(A.obj), snapshot(B.obj)]
    out = run(lambda: l1_distances(A.obj, B.obj if has_b else None, n_jobs=n_jobs), problems)
    assert_unchanged(A.obj, before[0])
    assert_unchanged(B.obj, before[1])
    if out is REFUSED:
        return
    assert out.shape == (A.n_rows, B.n_rows)
    assert out.dtype == dtype, (out.dtype, dtype)
    assert_finite(out, "distances")
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    if D is not None and D.size:
        assert (np.abs(out - D) <= rtol * D + 1e-300).all(), "l1_distances vs. brute force"
    if not has_b:
        assert (np.diag(out) == 0).all()
        assert np.allclose(out, out.T, rtol=rtol, atol=0)


# ---------------------------------------------------------------------------
# knn_affinity

AFFINITY_FAULTS = ["not_sparse", "non_square", "nan", "inf", "negative", "complex", "corrupt",
                   "lonely_row"]
WORDS["not_sparse"] = ("sparse",)
WORDS["lonely_row"] = ("neighbour", "neighbor")


@st.composite
def distance_graph_cases(draw, fault=False):
    which = draw(st.sampled_from(AFFINITY_FAULTS)) if fault else None
    if which == "corrupt" and not CORRUPT:
        which = "nan"
    n = draw(st.integers(2, 10)) if which != "lonely_row" else draw(st.integers(3, 10))
    cols_n = n + 1 if which == "non_square" else n
    if which == "corrupt":
        container = draw(st.sampled_from(["csr", "csc", "coo"]))
    elif which == "not_sparse":
        container = draw(st.sampled_from(["dense", "list"]))
    else:
        container = draw(st.sampled_from(["csr", "csr", "csc", "coo", "lil", "dok", "csr_array",
                                          "coo_array"]))
    if which == "complex":
        dtype = "complex128"
    elif which in ("nan", "inf"):
        dtype = draw(st.sampled_from(["float64", "float32"]))
    else:
        dtype = draw(st.sampled_from(["float64"] * 3 + ["float32"] * 2 + ["int64", "bool"]))
    magnitude = draw(st.sampled_from(SIGNAL_MAGNITUDES + ["zeros"]))
    if dtype in ("int64",):
        magnitude = "int"
    elif dtype == "bool":
        magnitude = "unit"
    V = np.zeros((n, cols_n))
    present = np.zeros((n, cols_n), dtype=bool)
    for i in range(n):
        others = [j for j in range(cols_n) if j != i]
        count = draw(st.integers(1, len(others)))
        chosen = draw(st.lists(st.sampled_from(others), min_size=count, max_size=count,
                               unique=True))
        present[i, chosen] = True
    if draw(st.booleans()):
        present[np.arange(n), np.arange(n)] = draw(st.booleans())
    if which == "lonely_row":
        present[draw(st.integers(0, n - 1))] = False
    size = int(present.sum())
    values = np.zeros(size) if magnitude == "zeros" else magnitude_values(draw, magnitude, size)
    if magnitude != "zeros" and draw(st.booleans()) and size:
        values[draw(st.integers(0, size - 1))] = 0.0  # a duplicated sample
    V[present] = values
    if which in ("nan", "inf", "negative"):
        r, c = np.argwhere(present)[draw(st.integers(0, size - 1))]
        V[r, c] = {"nan": np.nan, "inf": np.inf, "negative": -1.0}[which]
    V_in = cast(V, dtype)
    problems = Problems()
    if container in ("dense", "list"):
        obj = V_in if container == "dense" else V_in.tolist()
        code = f"G = {lit(V_in)}" + (".tolist()" if container == "list" else "")
        pieces_values, view = V_in.reshape(-1), as_float64(V_in)
        problems.add("not_sparse")
    else:
        r, c = np.nonzero(present)
        obj, code, pieces = draw(sparse_container(container, (n, cols_n), r, c, V_in[r, c],
                                                  corrupt=which == "corrupt", name="G"))
        pieces_values, view = pieces[2], summed_view((n, cols_n), pieces)
    if which == "non_square":
        problems.add("shape")
    if dtype == "complex128":
        problems.add("complex")
    if which == "corrupt":
        problems.add("corrupt")
        view = None
    if which == "lonely_row":
        problems.add("lonely_row")
    value_problems(pieces_values, view, problems)
    work = np.float32 if dtype == "float32" else np.float64
    return Case(obj=obj, code=code, view=view, problems=problems, work_dtype=work,
                n_rows=n, n_cols=cols_n)


def reference_affinity(G, k, decay, symmetrize):
    """The adaptive kernel of knn_affinity's docstring, from the stored entries of G."""
    G = sp.csr_matrix(G, dtype=np.float64, copy=True)
    G.sum_duplicates()
    n = G.shape[0]
    rows = np.repeat(np.arange(n), np.diff(G.indptr))
    off = G.indices != rows
    r, c, d = rows[off], G.indices[off], G.data[off]
    counts = np.bincount(r, minlength=n)
    if k is None:
        k = int(counts.min())
    sigma = np.array([np.sort(d[r == i])[k - 1] for i in range(n)])
    positive = sigma[sigma > 0]
    sigma = np.where(sigma > 0, sigma, positive.min() if positive.size else 1.0)
    K = np.zeros((n, n))
    stored = np.zeros((n, n), dtype=bool)
    with np.errstate(all="ignore"):
        K[r, c] = np.exp(-((d / sigma[r]) ** float(decay)))
    stored[r, c] = True
    if symmetrize == "mean":
        K = (K + K.T) / 2
    elif symmetrize == "max":
        K = np.maximum(K, K.T)
    else:
        K = np.minimum(K, K.T)
    K[np.arange(n), np.arange(n)] = 1.0
    return K


AFFINITY_DECAY = ([2.0, 1, 0.5, 10, 1e-3, np.float32(2.0)], [0, -1, NAN, True, "x", None],
                  [INF])
AFFINITY_SYMMETRIZE = (["mean", "max", "min"], ["x", None, "Mean"], [])


@examples("knn_affinity")
@given(data=st.data())
def test_knn_affinity(data):
    broken = target(data.draw, "graph", "n_neighbors", "decay", "symmetrize")
    case = data.draw(distance_graph_cases(fault=broken == "graph"), label="graph")
    n = case.n_rows
    fewest = None
    if case.view is not None and not case.problems.strict():
        G = sp.csr_matrix(case.obj, copy=True)
        G.sum_duplicates()
        rows = np.repeat(np.arange(n), np.diff(G.indptr))
        fewest = int(np.bincount(rows[G.indices != rows], minlength=n).min())
    if broken == "n_neighbors":
        k, k_status = data.draw(n_neighbors_values(1, fewest or 1, fault=True),
                                label="n_neighbors")
        if k is None:  # the default: the smallest number of neighbours in a row
            k_status = None
    elif fewest and data.draw(st.booleans(), label="n_neighbors given"):
        k, k_status = data.draw(n_neighbors_values(1, fewest), label="n_neighbors")
    else:
        k, k_status = None, None
    decay, d_status = data.draw(parameter("decay", *AFFINITY_DECAY, fault=broken == "decay"),
                                label="decay")
    sym, s_status = data.draw(parameter("symmetrize", *AFFINITY_SYMMETRIZE,
                                        fault=broken == "symmetrize"), label="symmetrize")
    problems = Problems(case.problems)
    add_param(problems, "n_neighbors", k_status)
    add_param(problems, "decay", d_status)
    add_param(problems, "symmetrize", s_status)
    before = snapshot(case.obj)
    K = run(lambda: knn_affinity(case.obj, n_neighbors=k, decay=decay, symmetrize=sym),
            problems)
    assert_unchanged(case.obj, before)
    if K is REFUSED:
        return
    check_affinity(K, n, case.work_dtype)
    if case.view is not None and d_status is None:
        ref = reference_affinity(case.obj, k, decay, sym)
        rtol, atol = (1e-5, 1e-30) if case.work_dtype == np.float32 else (1e-9, 1e-300)
        np.testing.assert_allclose(K.toarray(), ref, rtol=rtol, atol=atol)


# ---------------------------------------------------------------------------
# files: open_signals and transform_file

N_FILE = 6
WORDS["several"] = ("several", "key")

FILE_KINDS = ["npy", "npy", "npy_fortran", "npz_csr", "npz_csr", "npz_csc", "npz_coo",
              "npz_dense", "npz_dense_keyed"]
FILE_FAULTS = ["random_bytes", "empty_file", "text", "truncated", "truncated", "flipped",
               "indices_high", "indices_negative", "indptr_decreasing", "indptr_short",
               "indices_float", "data_short", "shape_mismatch", "ndim", "object", "complex",
               "several_arrays", "wrong_suffix"]
VALUE_FAULTS = ["nan", "inf", "negative", "zero_row", "no_rows", "wider"]
RAW_CSR_FAULTS = {"indices_high", "indices_negative", "indptr_decreasing", "indptr_short",
                  "indices_float", "data_short", "shape_mismatch"}


def _bytes_of(save, *args, **kwargs):
    import io

    buffer = io.BytesIO()
    save(buffer, *args, **kwargs)
    return buffer.getvalue()


@dataclass(repr=False)
class FileCase:
    """File contents, and what reading them should give."""

    content: bytes
    suffix: str
    code: str
    matrix: object = None          # expected dense float64 values, None if unreadable
    dtype: object = None           # stored dtype
    file_problems: Problems = field(default_factory=Problems)
    value_problems: Problems = field(default_factory=Problems)

    def __repr__(self):
        return self.code


@st.composite
def signal_files(draw, fault=False, value_fault=False, balanced=True):
    which = draw(st.sampled_from(FILE_FAULTS)) if fault else None
    if which in RAW_CSR_FAULTS and not CORRUPT:
        which = "truncated"
    values_wrong = draw(st.sampled_from(VALUE_FAULTS)) if value_fault else None
    if values_wrong == "zero_row" and not balanced:
        values_wrong = "negative"
    if which in ("random_bytes", "empty_file", "text"):
        content = {"random_bytes": draw(st.binary(min_size=1, max_size=200)),
                   "empty_file": b"", "text": b"1,2,3\n4,5,6\n"}[which]
        suffix = draw(st.sampled_from([".npy", ".npz"]))
        case = FileCase(content, suffix, f"open(path, 'wb').write({content!r})  # {suffix}")
        case.file_problems.add("file")
        return case
    kind = draw(st.sampled_from(FILE_KINDS))
    if which in RAW_CSR_FAULTS:
        kind = "npz_raw_csr"
    elif which == "several_arrays":
        kind = "npz_several"
    elif which in ("ndim", "object", "complex"):
        kind = draw(st.sampled_from(["npy", "npz_dense"]))
    m = 0 if values_wrong == "no_rows" else draw(st.integers(1, 6))
    n = N_FILE + 1 if values_wrong == "wider" else N_FILE
    sparse_kind = kind in ("npz_csr", "npz_csc", "npz_coo", "npz_raw_csr")
    if which == "complex":
        dtype = "complex128"
    elif which == "object":
        dtype = "object"
    elif sparse_kind:
        dtype = draw(st.sampled_from(["float64", "float64", "float32", "int32"]))
    else:
        dtype = draw(st.sampled_from(["float64", "float64", "float32", "float16", "int32",
                                      "uint8", "bool"]))
    if values_wrong in ("nan", "inf") and dtype not in ("float64", "float32"):
        dtype = "float64"
    if values_wrong == "negative" and dtype in ("uint8", "bool"):
        dtype = "int32"
    magnitude = draw(st.sampled_from(["uniform", "uniform", "int", "huge", "subnormal"]))
    if np.dtype(dtype if dtype != "object" else "O").kind in "iub":
        magnitude = "int"
    mask = np.array(draw(st.lists(st.booleans(), min_size=m * n, max_size=m * n)),
                    dtype=bool).reshape(m, n)
    mask[:, 0] |= ~mask.any(axis=1)
    V = np.zeros((m, n))
    V[mask] = magnitude_values(draw, magnitude, int(mask.sum()))
    if values_wrong in ("nan", "inf", "negative", "zero_row") and m:
        i, j = draw(st.integers(0, m - 1)), draw(st.integers(0, n - 1))
        if values_wrong == "zero_row":
            V[i] = 0.0
        else:
            V[i, j] = {"nan": np.nan, "inf": np.inf, "negative": -1.0}[values_wrong]
    V_in = cast(V, dtype)
    if dtype == "complex128":
        V_in = V_in + 1j
    matrix = as_float64(V_in) if dtype not in ("object", "complex128") else None
    code_m = f"X = {lit(V_in)}"
    compressed = draw(st.booleans())
    savez = np.savez_compressed if compressed else np.savez
    suffix = ".npz"
    file_problems = Problems()
    if kind == "npy" or kind == "npy_fortran":
        stored = np.asfortranarray(V_in) if kind == "npy_fortran" else V_in
        if which == "ndim":
            stored = draw(st.sampled_from([V_in.reshape(-1), V_in[None]]))
            file_problems.add("file")
        content = _bytes_of(np.save, stored, allow_pickle=True)
        suffix = ".npy"
        saved = "np.asfortranarray(X)" if kind == "npy_fortran" else "X"
        code = f"{code_m}\nnp.save(path, {saved})"
    elif kind in ("npz_dense", "npz_dense_keyed", "npz_several"):
        key = {"npz_dense": "arr_0", "npz_dense_keyed": draw(st.sampled_from(["signals", "X"])),
               "npz_several": "a"}[kind]
        stored = V_in
        if which == "ndim":
            stored = draw(st.sampled_from([V_in.reshape(-1), V_in[None]]))
            file_problems.add("file")
        arrays = {key: stored}
        if kind == "npz_several":
            arrays["b"] = V_in
            file_problems.add("several")
        content = _bytes_of(savez, allow_pickle=True, **arrays) if dtype == "object" else \
            _bytes_of(savez, **arrays)
        names = ", ".join(f"{k!r}: X" for k in arrays)
        code = f"{code_m}\nnp.{savez.__name__}(path, **{{{names}}})"
    elif kind in ("npz_csr", "npz_csc", "npz_coo"):
        fmt = kind[4:]
        matrix_sp = getattr(sp, f"{fmt}_matrix")(V_in)
        content = _bytes_of(sp.save_npz, matrix_sp, compressed=compressed)
        code = f"{code_m}\nsp.save_npz(path, sp.{fmt}_matrix(X), compressed={compressed})"
    else:  # raw CSR arrays, one of them wrong
        csr = sp.csr_matrix(V_in)
        if csr.nnz == 0:
            V_in[0, 0] = 1
            csr = sp.csr_matrix(V_in)
        arrays = {"data": csr.data.copy(), "indices": csr.indices.astype(np.int32),
                  "indptr": csr.indptr.astype(np.int32), "format": np.array(b"csr"),
                  "shape": np.array([m, n])}
        k = draw(st.integers(0, csr.nnz - 1))
        if which == "indices_high":
            arrays["indices"][k] = n + draw(st.integers(0, 3))
        elif which == "indices_negative":
            arrays["indices"][k] = -1
        elif which == "indptr_decreasing" and m >= 2:
            arrays["indptr"][1] = arrays["indptr"][-1] + 1
        elif which in ("indptr_short", "indptr_decreasing"):
            arrays["indptr"] = arrays["indptr"][:-1]
        elif which == "indices_float":
            arrays["indices"] = arrays["indices"].astype(np.float64) + 0.5
        elif which == "data_short":
            arrays["data"] = arrays["data"][:-1]
        else:
            arrays["shape"] = np.array(draw(st.sampled_from([[m + 3, n], [m, 1]])))
        content = _bytes_of(savez, **arrays)
        code = f"{code_m}\nnp.{savez.__name__}(path, **{{k: v for k, v in {arrays!r}.items()}})"
        file_problems.add("file")
        file_problems.add("corrupt")
        matrix = None
    if which == "object":
        file_problems.add("object", strict=False)
        file_problems.add("file", strict=False)
    if which == "complex":
        file_problems.add("complex")
    if which in ("truncated", "flipped") and content:
        if which == "truncated":
            cut = draw(st.integers(0, len(content) - 1))
            content = content[:cut]
            code += f"\ndata = open(path, 'rb').read()[:{cut}]; open(path, 'wb').write(data)"
            file_problems.add("file")
        else:
            positions = draw(st.lists(st.integers(0, len(content) - 1), min_size=1,
                                      max_size=3, unique=True))
            flipped = bytearray(content)
            for p in positions:
                flipped[p] ^= 0xFF
            content = bytes(flipped)
            code += f"\n# bytes {positions} of the file inverted (xor 0xFF)"
            file_problems.add("file", strict=False)
            file_problems.add("nan", strict=False)
            file_problems.add("inf", strict=False)
            matrix = None
    if which == "wrong_suffix":
        suffix = draw(st.sampled_from([".csv", ".txt", ""]))
        file_problems.add("file")
    values = Problems()
    if matrix is not None:
        value_problems(V_in.reshape(-1), matrix, values)
        if m == 0:
            values.add("no_rows")
        if n != N_FILE:
            values.add("shape")
        if m and (matrix.sum(axis=1) == 0).any():
            values.add("zero_mass", strict=balanced)
        if magnitude in ("huge", "subnormal"):
            values.add("overflow", strict=False)
    elif which == "flipped":
        values.add("negative", strict=False)
        values.add("shape", strict=False)
        values.add("zero_mass", strict=False)
        values.add("overflow", strict=False)
    return FileCase(content, suffix, code, matrix=matrix,
                    dtype=np.dtype(dtype) if dtype != "object" else np.dtype("O"),
                    file_problems=file_problems, value_problems=values)


def assert_well_formed(batch, n_rows, n_cols):
    """A batch read from a file: an ndarray, or a CSR matrix whose index arrays are valid."""
    assert batch.shape == (n_rows, n_cols), (batch.shape, (n_rows, n_cols))
    if sp.issparse(batch):
        assert batch.format == "csr"
        indptr, indices = batch.indptr, batch.indices
        assert indptr.size == n_rows + 1 and indptr[0] == 0 and (np.diff(indptr) >= 0).all()
        assert indices.size >= indptr[-1] and batch.data.size >= indptr[-1]
        used = indices[:indptr[-1]]
        assert used.size == 0 or (used.min() >= 0 and used.max() < n_cols), \
            "a batch read from a file holds out-of-range indices"
    else:
        assert isinstance(batch, np.ndarray) and batch.ndim == 2


@contextlib.contextmanager
def written(case):
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "signals" + case.suffix)
        with open(path, "wb") as f:
            f.write(case.content)
        yield tmp, path


@examples("open_signals")
@given(data=st.data())
def test_open_signals(data):
    source = data.draw(st.sampled_from(["file", "file", "file", "array"]), label="source")
    broken = target(data.draw, source)
    batch_size = data.draw(st.integers(1, 7), label="batch_size")

    def read_everything(source):
        with open_signals(source) as reader:
            shape = tuple(reader.shape)
            batches = list(reader.iter_batches(batch_size))
            middle = reader.read(shape[0] // 3, shape[0])
            picked = reader.take([shape[0] - 1, 0] if shape[0] else [])
            return shape, reader.dtype, reader.sparse, batches, middle, picked

    if source == "file":
        case = data.draw(signal_files(fault=broken == "file"), label="file")
        with written(case) as (_, path):
            result = run(lambda: read_everything(path), case.file_problems)
        expected, expected_dtype = case.matrix, case.dtype
    else:
        array = data.draw(signal_cases(N_FILE, signed=True, min_rows=0, fault=broken == "array",
                                       faults=["1-D", "3-D", "complex", "object", "corrupt"]),
                          label="array")
        problems = Problems({k: v for k, v in array.problems.items()
                             if k in ("shape", "complex", "object", "corrupt")})
        if isinstance(array.obj, list):
            problems.add("param:source", strict=False)
        before = snapshot(array.obj)
        result = run(lambda: read_everything(array.obj), problems)
        assert_unchanged(array.obj, before)
        expected = array.view
        expected_dtype = getattr(array.obj, "dtype", None)
    if result is REFUSED:
        return
    shape, dtype, sparse, batches, middle, picked = result
    assert len(shape) == 2
    assert sum(b.shape[0] for b in batches) == shape[0]
    for b in batches:
        assert_well_formed(b, b.shape[0], shape[1])
        assert sp.issparse(b) == sparse
    assert_well_formed(middle, shape[0] - shape[0] // 3, shape[1])
    assert_well_formed(picked, min(shape[0], 2) if shape[0] > 1 else shape[0], shape[1])
    if expected is None:
        return
    assert shape == expected.shape, (shape, expected.shape)
    if expected_dtype is not None:
        assert np.dtype(dtype) == expected_dtype, (dtype, expected_dtype)
    if batches:
        stacked = np.vstack([dense(b) for b in batches]).astype(np.float64)
        assert np.array_equal(stacked, expected, equal_nan=True), "batches differ from the source"
    assert np.array_equal(dense(middle).astype(np.float64), expected[shape[0] // 3:],
                          equal_nan=True)


_FITTED = {}


def fitted_estimator(balanced):
    if balanced not in _FITTED:
        X = np.random.default_rng(0).uniform(size=(12, N_FILE))
        cls = DiffusionEMD if balanced else UnbalancedDiffusionEMD
        _FITTED[balanced] = cls(path_graph(N_FILE)).fit(X)
    return _FITTED[balanced]


BATCH_SIZE = ([None, 1, 2, 5, 1000], [0, -1, True, 1.5, "2"], [])
FILE_DTYPE = ([None, np.float32, np.float64, "float32"], [np.int64, np.float16, "x"], [])
OUTPUT = (["none", "none", "file"], ["txt", "missing_dir"], [])


@examples("transform_file")
@given(data=st.data())
def test_transform_file(data):
    broken = target(data.draw, "file", "signals", "batch_size", "dtype", "output")
    balanced = data.draw(st.booleans(), label="balanced")
    case = data.draw(signal_files(fault=broken == "file", value_fault=broken == "signals",
                                  balanced=balanced), label="file")
    batch_size, b_status = data.draw(parameter("batch_size", *BATCH_SIZE,
                                               fault=broken == "batch_size"), label="batch_size")
    dtype, d_status = data.draw(parameter("dtype", *FILE_DTYPE, fault=broken == "dtype"),
                                label="dtype")
    output, o_status = data.draw(parameter("output", *OUTPUT, fault=broken == "output"),
                                 label="output")
    est = fitted_estimator(balanced)
    problems = Problems(case.file_problems).merge(case.value_problems)
    add_param(problems, "batch_size", b_status)
    add_param(problems, "dtype", d_status)
    add_param(problems, "output", o_status)
    if output == "missing_dir":
        problems.add("missing")
    work = None
    if d_status is None and case.matrix is not None:
        work = np.dtype(dtype) if dtype is not None else (
            case.dtype if case.dtype in (np.float32, np.float64) else np.dtype(np.float64))
        with np.errstate(all="ignore"):
            cast_matrix = case.matrix.astype(work).astype(np.float64)
            if work == np.float32 and (np.abs(case.matrix) > F32_MAX).any():
                problems.add("inf")
            if case.matrix.shape[0] and balanced and (cast_matrix.sum(axis=1) == 0).any():
                problems.add("zero_mass")
    ref = None
    if work is not None and not problems.strict():
        X = case.matrix.astype(work)
        ref = run(lambda: est.transform(X), Problems().merge(problems, strict=False))
    with written(case) as (tmp, path):
        target_path = {"none": None, "file": os.path.join(tmp, "out.npy"),
                       "txt": os.path.join(tmp, "out.txt"),
                       "missing_dir": os.path.join(tmp, "missing", "out.npy")}[output]
        kwargs = {"batch_size": batch_size, "dtype": dtype, "progress": False}
        if target_path is not None:
            kwargs["output"] = target_path
        out = run(lambda: transform_file(est, path, **kwargs), problems)
        if out is REFUSED:
            if target_path is not None:
                assert not os.path.exists(target_path), "a failed run left its output file"
            return
        if target_path is not None:
            assert isinstance(out, np.ndarray)
            out = np.array(out)
        if case.matrix is None:
            assert out.shape[1] == est.n_features_out_
            assert_finite(out, "embedding")
            return
        assert out.shape == (case.matrix.shape[0], est.n_features_out_)
        assert_finite(out, "embedding")
        if ref is not None and ref is not REFUSED:
            assert dense(out).dtype == dense(ref).dtype, (dense(out).dtype, dense(ref).dtype)
            rtol = 1e-4 if work == np.float32 else 1e-9
            assert_rows_close(out, ref, rtol, "transform_file vs. transform", 1e-300)
        elif ref is REFUSED:
            raise AssertionError("transform_file accepted signals that transform refuses")
