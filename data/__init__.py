"""Data sets bundled with graphsig (see README.md in this folder)."""
