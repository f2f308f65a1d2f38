"""Sphinx configuration of the graphsig documentation.

Build (warnings are errors)::

    python -m sphinx -W --keep-going -b html docs docs/_build/html
"""

import os
import sys
import warnings

import graphsig

project = "graphsig"
author = "graphsig developers"
copyright = "graphsig developers"
version = release = graphsig.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
templates_path = ["_templates"]
exclude_patterns = ["_build", "_templates", "README.md", "gallery/README.rst", "auto_examples/*.ipynb",
                    "auto_examples/*.py", "auto_examples/*.zip", "auto_examples/*.md5",
                    "auto_examples/*.json"]

# Markdown pages: heading anchors for links such as page.md#section
myst_heading_anchors = 3
myst_enable_extensions = ["dollarmath"]

# API reference: one page per public name, generated from the docstrings
autosummary_generate = True
autosummary_imported_members = True
# scikit-learn adds set_*_request methods (metadata routing) to every
# estimator class; their docstrings refer to scikit-learn's own glossary.
autodoc_default_options = {
    "exclude-members": ",".join(
        f"set_{method}_request" for method in
        ("fit", "partial_fit", "predict", "predict_proba", "score", "transform",
         "inverse_transform", "split", "decision_function")
    ),
}
autodoc_typehints = "none"

# numpydoc renders the docstrings. Class pages list their members through
# autosummary templates, not numpydoc's member tables (which would need a
# stub page per inherited scikit-learn method); the docstrings' style is
# checked by the test suite, not at build time.
numpydoc_show_class_members = False
numpydoc_show_inherited_class_members = False
numpydoc_class_members_toctree = False
numpydoc_validation_checks = set()
numpydoc_xref_param_type = False

# Executed examples with their figures
sphinx_gallery_conf = {
    "examples_dirs": "gallery",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "download_all_examples": False,
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
    "image_scrapers": ("matplotlib",),
    "matplotlib_animations": False,
    "show_memory": False,
    "abort_on_example_error": True,
}

html_theme = "alabaster"
html_static_path = []
html_title = f"graphsig {release}"

# Examples and docstrings run headless
os.environ.setdefault("MPLBACKEND", "Agg")
warnings.filterwarnings("ignore", category=UserWarning,
                        message="Matplotlib is currently using agg")

# the repository's top level (benchmarks/results for the gallery)
sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..")))
