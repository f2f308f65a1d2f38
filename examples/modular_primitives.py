"""Frozen recurrent primitives: reuse modules trained on other tasks for a new one.

Five 8-unit tanh RNN modules are trained, one per task (delay, go_nogo,
integration, delayed_integration, match); the held-out task 'anti_delay' is
then learned with the modules frozen (only the input map and read-out
trained), and by a 40-unit RNN trained from scratch. The script prints
accuracy, trained parameters and accuracy with 10 of the 40 units silenced.
The three-seed run over three held-out tasks is
``benchmarks/modular_primitives.py`` (``benchmarks/results/modular_primitives.md``).

Run: python examples/modular_primitives.py   (about 30 seconds)
"""

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from graphsig.datasets import make_neuroscience_task
from graphsig.models import RecurrentPrimitivesClassifier

warnings.filterwarnings("ignore", category=ConvergenceWarning)
train = dict(learning_rate_init=1e-2, batch_size=50, max_iter=100, random_state=0)
modules = []
for i, task in enumerate(("delay", "go_nogo", "integration", "delayed_integration", "match")):
    X, y = make_neuroscience_task(task, 500, random_state=i)
    modules.append(RecurrentPrimitivesClassifier(8, **train).fit(X, y))
    print(f"module {task:20s} accuracy on its own task {modules[-1].score(X, y):.3f}")

X, y = make_neuroscience_task("anti_delay", 200, random_state=50)
X_test, y_test = make_neuroscience_task("anti_delay", 1000, random_state=51)
silenced = np.random.default_rng(0).choice(40, 10, replace=False)
print("\nheld-out task 'anti_delay'")
for name, model in (("frozen primitives", RecurrentPrimitivesClassifier(primitives=modules,
                                                                        **train)),
                    ("full RNN", RecurrentPrimitivesClassifier(40, **train))):
    model.fit(X, y)
    print(f"  {name:18s} trained parameters {model.n_trainable_params_:5d}, accuracy "
          f"{model.score(X_test, y_test):.3f}, 10 units silenced "
          f"{model.score_ablated(X_test, y_test, silenced):.3f}")
