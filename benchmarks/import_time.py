"""Import cost of graphsig beyond numpy, scipy.sparse, scikit-learn and numba.

Each measurement is a fresh interpreter (so nothing is cached in-process);
best of N runs. Run::

    python benchmarks/import_time.py
"""

import json
import os
import subprocess
import sys
from pathlib import Path

BASE = "import numpy, scipy.sparse, sklearn, numba"
CASES = {
    "numpy + scipy.sparse + sklearn + numba": ("", BASE),
    "import graphsig, after those": (BASE, "import graphsig"),
    "graphsig.DiffusionEMD (first use), after those": (
        BASE, "import graphsig; graphsig.DiffusionEMD"),
}


def time_import(case, repeats):
    before, code = case
    program = (f"{before}\nimport time; t = time.perf_counter(); {code}; "
               "print(time.perf_counter() - t)")
    runs = [
        float(subprocess.run([sys.executable, "-c", program], capture_output=True, text=True,
                             check=True).stdout)
        for _ in range(repeats)
    ]
    return min(runs)


def main(repeats=7):
    load = os.getloadavg()
    times = {name: time_import(code, repeats) for name, code in CASES.items()}
    extra = times["import graphsig, after those"]
    lines = [
        "# Import time",
        "",
        f"Command: `python benchmarks/import_time.py`; best of {repeats} fresh interpreters; "
        f"load average at start {[round(x, 2) for x in load]}.",
        "",
        "| imports | seconds |",
        "|---|---|",
        *[f"| {name} | {seconds:.3f} |" for name, seconds in times.items()],
        "",
        f"`import graphsig` costs {extra:.3f} s once numpy, scipy.sparse, scikit-learn and "
        "numba are imported (target <= 0.3 s); on its own it loads none of them, nor POT, "
        "pygsp or networkx (tests/test_package.py).",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    out = Path(__file__).with_name("results")
    out.mkdir(exist_ok=True)
    (out / "import_time.md").write_text(text)
    (out / "import_time.json").write_text(json.dumps({"seconds": times, "extra": extra}, indent=2))


if __name__ == "__main__":
    main()
