"""Sphinx configuration of fastrelu's documentation site.

Build it from the repository's root (after ``pip install ".[docs]"``)::

    sphinx-build -W --keep-going -b html docs docs/_build/html

The site documents the *installed* package: nothing here puts ``src/`` on the path,
so CI's build reads the wheel it installed, as the tests do.  The gallery
(``examples/``) and the tutorial (``docs/tutorial/``) are run on every build by
sphinx-gallery, so an example that stops working fails the build.
"""

import logging
import os
import sys

import matplotlib

import fastrelu

matplotlib.use("Agg")  # no window, no display: the examples' figures are scraped from Agg
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # docs/ itself, for gallery_scraper
# which fastrelu this build documents (tests/test_docs_site.py checks it is the installed one)
print(f"documenting fastrelu {fastrelu.__version__} from {os.path.dirname(os.path.realpath(fastrelu.__file__))}")

project = "fastrelu"
author = "fastrelu's authors"
copyright = "fastrelu's authors, MIT licence"
release = version = fastrelu.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "myst_parser",  # the user guide (docs/guide/*.md) is Markdown, as the README it grew out of
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
myst_heading_anchors = 3  # "#how-results-are-checked"-style links between the guide's pages

templates_path = ["_templates"]
exclude_patterns = ["_build", "tutorial/README.rst", "generated/*.examples", "auto_*/*.ipynb", "auto_*/*.py", "auto_*/*.zip"]
html_theme = "furo"
html_title = f"fastrelu {release}"
html_static_path = ["_static"]
html_css_files = ["fastrelu.css"]

# --- API reference: autosummary pages from each module's __all__ -----------------------
# Whatever fastrelu.__all__ exports gets its page, with no edit here (see api.rst and
# _templates/autosummary_module.rst).
autosummary_generate = True
autosummary_ignore_module_all = False
autosummary_imported_members = True
autodoc_default_options = {"members": True, "inherited-members": False}
autodoc_typehints = "none"  # the numpydoc sections say the types

# numpydoc renders the docstrings' sections; a class's members are documented in full on
# its own page (_templates/autosummary_class.rst), so numpydoc adds no tables of them.
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
# numpydoc's own checks (GL08 a missing docstring, PR01 a parameter not documented...)
# are left to tests/test_docs.py (a docstring and a running example for every public name).
numpydoc_validation_checks = set()

# --- the gallery and the tutorial --------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": ["tutorial", "../examples"],
    "gallery_dirs": ["auto_tutorial", "auto_examples"],
    # every plot_*.py runs (all of them); FASTRELU_DOCS_EXAMPLES=REGEX runs only those whose
    # path matches, for a quicker build while writing one
    "filename_pattern": os.environ.get("FASTRELU_DOCS_EXAMPLES", r"/plot_"),
    # an example that fails fails the build, at its end, with every failing example listed
    "abort_on_example_error": False,
    "only_warn_on_example_error": False,
    "capture_repr": (),  # examples print what they mean to; the page example embeds its page itself
    "remove_config_comments": True,
    "download_all_examples": False,
    "min_reported_time": 0,
    "matplotlib_animations": False,
    "reset_modules": ("matplotlib",),
    "show_memory": False,
    "write_computation_times": False,  # its page loads scripts from a CDN; tests/test_docs_site.py times the build
    # fastrelu's figures are not pyplot's: see gallery_scraper.py (named by a string, so
    # that the configuration stays picklable)
    "image_scrapers": ("gallery_scraper.scrape",),
}


# --- strict for the site's own pages; docstrings reported apart ---------------------------
# -W fails the build on any warning of the pages and examples.  A docstring that does not
# render cleanly (a reST slip in a module's docstring) is reported at the end of the build
# instead, with its place, and does not fail it: the docstrings belong to the modules, and
# tests/test_docs.py checks them (each has an example that runs).  An object that cannot be
# imported or documented at all still fails the build.
_docstring_warnings = []


def _where(record):
    location = getattr(record, "location", None)
    source = getattr(location, "source", None) or (location if isinstance(location, str) else "")
    return source or ""


class _DocstringWarnings(logging.Filter):
    def filter(self, record):
        # a reST slip is placed in a docstring; numpydoc's own complaints (a section twice)
        # come through autodoc with "in the docstring of ..." in their message
        if record.levelno >= logging.WARNING and ("docstring of " in _where(record) or "docstring of " in record.getMessage()):
            _docstring_warnings.append(f"{_where(record)}: {record.getMessage()}".lstrip(": "))
            return False
        return True


def _report(app, exception):
    if _docstring_warnings:
        lines = "\n".join(f"  {w}" for w in dict.fromkeys(_docstring_warnings))
        print(f"docstrings that do not render cleanly (reported, not fatal):\n{lines}")


def setup(app):
    # on Sphinx's handlers, ahead of the filter that counts warnings: a logger's own filter
    # would miss the records its child loggers pass up
    for handler in logging.getLogger("sphinx").handlers:
        handler.filters.insert(0, _DocstringWarnings())
    app.connect("build-finished", _report)
