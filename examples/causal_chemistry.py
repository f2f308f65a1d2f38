"""Chemistry environments on a chain, a collider and the full DAG.

``make_causal_chemistry`` orients an undirected graph by a causal order and
draws random conditionals; an action sets one object's colour and its
descendants follow. This script shows one transition, then compares, on 200
training transitions, a model given the DAG (each descendant predicted from
its parents) with a monolithic one (each object predicted from the whole state
and the action), both made of the same small MLPs. The three-seed comparison
over training sizes is ``benchmarks/causal_chemistry.py``
(``benchmarks/results/causal_chemistry.md``).

Run: python examples/causal_chemistry.py   (about 30 seconds)
"""

import sys
import warnings
from pathlib import Path

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from graphsig.datasets import make_causal_chemistry
from graphsig.graphs import path_graph

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from causal_chemistry import graphs, monolithic, structured  # noqa: E402

warnings.filterwarnings("ignore", category=ConvergenceWarning)
data = make_causal_chemistry(path_graph(5), n_samples=1, random_state=0)
print("chain 0 -> 1 -> 2 -> 3 -> 4")
print("state", data.states[0], " do(object", data.actions[0, 0], ":= colour",
      data.actions[0, 1], ") ->", data.next_states[0])

print("\nexact next-state accuracy on 2000 held-out transitions, 200 for training")
for name, graph in graphs().items():
    data = make_causal_chemistry(graph, n_samples=2200, random_state=0)
    arrays = (data.states, data.actions, data.next_states)
    train = tuple(x[:200] for x in arrays)
    test = tuple(x[200:] for x in arrays)
    s = np.all(structured(train, test, data, 0) == test[2], axis=1).mean()
    m = np.all(monolithic(train, test, 0) == test[2], axis=1).mean()
    print(f"  {name:9s} given the DAG {s:.3f}   monolithic {m:.3f}")
