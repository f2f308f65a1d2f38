"""Graphs in: one validated sparse adjacency from what users hold.

:func:`as_adjacency` turns scipy.sparse matrices, dense arrays, networkx
graphs and pygsp graphs into a canonical symmetric ``scipy.sparse.csr_matrix``;
:func:`knn_graph` builds one over a point cloud; the generators build small
standard graphs (paths, cycles, grids, random trees).

Importing this subpackage loads only numpy and scipy.sparse; networkx,
pygsp and scikit-learn are used only when needed.
"""

from ._adjacency import as_adjacency, check_connected, connected_components, largest_component
from ._generators import cycle_graph, grid_graph, path_graph, random_tree
from ._knn import knn_graph
from ._partition import PartitionPyramid, partition_pyramid

__all__ = [
    "as_adjacency",
    "check_connected",
    "connected_components",
    "cycle_graph",
    "grid_graph",
    "knn_graph",
    "largest_component",
    "partition_pyramid",
    "PartitionPyramid",
    "path_graph",
    "random_tree",
]
