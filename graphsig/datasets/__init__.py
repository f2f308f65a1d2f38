"""Data sets: loaders for the data bundled with graphsig, and task generators.

Names are loaded on first use.
"""

from .._lazy import attach

# public name -> private module defining it
_LAZY = {
    # bundled real data
    "load_pbmc68k": "graphsig.datasets._pbmc",
    # synthetic signals on graphs
    "make_clustered_signals": "graphsig.datasets._signals",
    # synthetic ontologies (polyhierarchies) and annotations on them
    "make_polyhierarchy": "graphsig.datasets._ontology",
    "make_annotation_signals": "graphsig.datasets._ontology",
    # task generators for the learning-dynamics models
    "make_shifted_moons": "graphsig.datasets._dynamics_tasks",
    "make_colored_digits": "graphsig.datasets._dynamics_tasks",
    "make_copy_task": "graphsig.datasets._dynamics_tasks",
    "copy_task_baseline": "graphsig.datasets._dynamics_tasks",
    # relational tasks and contextual retrieval
    "RELATIONAL_TASKS": "graphsig.datasets._relational",
    "make_random_objects": "graphsig.datasets._relational",
    "load_digit_objects": "graphsig.datasets._relational",
    "split_identities": "graphsig.datasets._relational",
    "make_relational_task": "graphsig.datasets._relational",
    "make_relational_split": "graphsig.datasets._relational",
    "make_contextual_retrieval": "graphsig.datasets._relational",
    # causal-induction environments
    "make_causal_chemistry": "graphsig.datasets._causal",
    # neuroscience-style tasks for recurrent networks
    "NEUROSCIENCE_TASKS": "graphsig.datasets._neuro_tasks",
    "make_neuroscience_task": "graphsig.datasets._neuro_tasks",
}

__getattr__, __dir__, __all__ = attach(__name__, _LAZY)
