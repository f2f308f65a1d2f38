"""Nearest neighbours and distances over embeddings of graph signals."""

from ._distances import l1_distances

__all__ = ["l1_distances"]
