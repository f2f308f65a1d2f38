"""Relevancy screening: gradients across 200 steps, and the cost of attending.

On copy-task sequences of 220 steps (``make_copy_task(delay=200)``), three
untrained networks of 32 tanh units: a plain RNN, an RNN attending to a
buffer of its 5 last states and a memory of the 10 most relevant older ones,
and an RNN attending to every past state. For the loss on the 10 output
steps, ``graphsig.dynamics.gradient_propagation`` gives the norm of
``dL/dh_t`` at each step; the script prints it at lags 10, 50, 100 and 210
from the end (relative to the last step), and the most states each network
attends at one step. Training on the copy task, three seeds, is
``benchmarks/relevancy_screening.py``
(``benchmarks/results/relevancy_screening.md``).

Run: python examples/relevancy_screening.py   (a few seconds)
"""

import numpy as np

from graphsig.datasets import make_copy_task
from graphsig.dynamics import gradient_propagation
from graphsig.models import RelevancyScreeningRNNClassifier

X, y = make_copy_task(20, delay=200, random_state=0)
T = X.shape[1]
print("attention   |dL/dh| at lag 10, 50, 100, 210 (relative to lag 0)   states attended")
for attention in ("none", "relevancy", "full"):
    clf = RelevancyScreeningRNNClassifier(32, attention=attention, buffer_size=5, memory_size=10,
                                          random_state=0)
    clf.partial_fit(X[:2], y[:2], classes=np.arange(9))   # one small step: builds the network
    norms = gradient_propagation(clf, X, y, steps=np.arange(T - 10, T))
    lags = "  ".join(f"{norms[T - 1 - lag] / norms[-1]:.1e}" for lag in (10, 50, 100, 210))
    cost = max(clf.network_.attended_states(t) for t in range(T))
    print(f"{attention:10s}  {lags}   {cost}")
