"""The documentation site builds with warnings as errors, and every example in it runs.

The site is built once per session, with Sphinx in a subprocess, from a copy of
``docs/`` and ``examples/`` in a temporary folder: so nothing is written into the
checkout, every example runs afresh (sphinx-gallery skips examples it ran before), and
the build imports the *installed* fastrelu (the copy has no ``src/`` beside it).  Sphinx,
sphinx-gallery, numpydoc, the theme and scikit-learn come with the ``docs`` extra; a
missing one is a failure, never a skip.  The built pages are then opened in Debian's
Chromium, headless, as tests/test_html.py does.
"""

import ast
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tarfile
import time

import pytest

import fastrelu

ROOT = pathlib.Path(__file__).resolve().parent.parent
DOCS, EXAMPLES = ROOT / "docs", ROOT / "examples"
GALLERIES = {"auto_examples": sorted(EXAMPLES.glob("plot_*.py")), "auto_tutorial": sorted((DOCS / "tutorial").glob("plot_*.py"))}
GENERATED = ("_build", "auto_examples", "auto_tutorial", "generated", "sg_execution_times.rst")
BROWSER_VIEWPORT = {"width": 1280, "height": 1000}  # the browser fixture (conftest.py): the site's width


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """Build the site (``-W --keep-going``) from a fresh copy; return the HTML folder."""
    for module in ("sphinx", "sphinx_gallery", "numpydoc", "furo", "myst_parser", "sklearn"):
        try:
            __import__(module)
        except ImportError as e:
            pytest.fail(f"the docs extra is needed to build the site (pip install '.[docs]'): {e}")
    work = tmp_path_factory.mktemp("site")
    ignore = shutil.ignore_patterns(*GENERATED, "__pycache__")
    shutil.copytree(DOCS, work / "docs", ignore=ignore)
    shutil.copytree(EXAMPLES, work / "examples", ignore=ignore)
    out = work / "html"
    t0 = time.perf_counter()
    run = subprocess.run([sys.executable, "-m", "sphinx", "--no-color", "-W", "--keep-going", "-b", "html", "docs", str(out)],
                         cwd=work, capture_output=True, text=True)
    # the build's time and each example's, for the record: printed (pytest -s), never asserted
    print(f"\ndocs build: {time.perf_counter() - t0:.1f} s")
    for page in sorted(out.glob("auto_*/plot_*.html")):
        took = re.search(r"Total running time of the script:.*?\((\d+) minutes ([\d.]+) seconds\)", page.read_text(), re.S)
        print(f"  {page.stem}: {int(took[1]) * 60 + float(took[2]):.1f} s" if took else f"  {page.stem}: ?")
    # docstrings that do not render cleanly are reported by the build, not fatal (docs/conf.py)
    report = run.stdout.find("docstrings that do not render cleanly")
    if report >= 0:
        print(run.stdout[report:])
    assert run.returncode == 0, f"sphinx-build failed:\n{run.stdout[-4000:]}\n{run.stderr[-6000:]}"
    (work / "build.log").write_text(run.stdout)
    return out


def test_the_site_builds_with_warnings_as_errors(site):
    assert (site / "index.html").exists()
    # the docstrings' slips are listed apart by the build (docs/conf.py), and fail here: the
    # API reference is rendered from them, so a slip is a page that renders wrong
    log = (site.parent / "build.log").read_text()
    assert "docstrings that do not render cleanly" not in log, log[log.find("docstrings that do not render"):]
    for page in ("getting_started", "api", "auto_examples/index", "auto_tutorial/index"):
        assert (site / f"{page}.html").exists(), page


def test_a_broken_example_or_page_fails_the_build_and_a_docstring_slip_is_reported(tmp_path):
    # what CI relies on: an example that raises, or a reST error in a page, fails the build
    # (only the broken example runs, to keep this quick); a docstring's slip is listed.
    # --no-color: with CI set, Sphinx colours its output, and the escapes split the messages
    ignore = shutil.ignore_patterns(*GENERATED, "__pycache__")
    shutil.copytree(DOCS, tmp_path / "docs", ignore=ignore)
    shutil.copytree(EXAMPLES, tmp_path / "examples", ignore=ignore)
    (tmp_path / "examples" / "plot_zz_broken.py").write_text('"""\nBroken\n======\n"""\n\nraise RuntimeError("rotten example")\n')
    twice = "\n    Returns\n    -------\n    int\n"
    (tmp_path / "docs" / "slip.py").write_text('def f():\n    """A slip: *emphasis never closed."""\n\n\n'
                                               f'def g():\n    """A section twice.\n{twice}{twice}    """\n')
    with open(tmp_path / "docs" / "api.rst", "a") as f:
        f.write("\n.. autofunction:: slip.f\n\n.. autofunction:: slip.g\n\nA `link never closed.\n")
    env = {**os.environ, "FASTRELU_DOCS_EXAMPLES": "plot_zz_broken"}
    run = subprocess.run([sys.executable, "-m", "sphinx", "--no-color", "-W", "--keep-going", "-b", "html", "docs", str(tmp_path / "html")],
                         cwd=tmp_path, capture_output=True, text=True, env=env)
    log = run.stdout + run.stderr
    assert run.returncode != 0
    assert "plot_zz_broken.py failed" in log and "rotten example" in log
    assert re.search(r"api\.rst:\d+: WARNING: Inline interpreted text", log)
    report = log[log.index("docstrings that do not render cleanly"):]
    assert re.search(r"docstring of slip\.f.*Inline emphasis", report) and re.search(r"slip\.g.*appears twice", report)
    # the docstrings' slips are not among the build's warnings
    assert not re.search(r"WARNING.*slip\.[fg]", log)


def test_the_build_documents_the_installed_package(site):
    # the fastrelu these tests import (in CI the installed wheel), not a src/ put on the path
    log = (site.parent / "build.log").read_text()
    assert f"documenting fastrelu {fastrelu.__version__} from {pathlib.Path(fastrelu.__file__).resolve().parent}\n" in log


@pytest.mark.parametrize("gallery, path", [(g, p) for g, ps in GALLERIES.items() for p in ps], ids=lambda v: getattr(v, "stem", v))
def test_every_example_ran_and_drew_a_figure(site, gallery, path):
    page = site / gallery / f"{path.stem}.html"
    assert page.exists(), f"{path.name} has no page"
    text = page.read_text()
    # a figure of this example, saved by the scraper and shown on its page
    figures = re.findall(rf'src="[^"]*sphx_glr_{re.escape(path.stem)}_(\d+)\.png"', text)
    assert figures, f"{path.name} drew no figure"
    for n in figures:
        assert (site / "_images" / f"sphx_glr_{path.stem}_{n}.png").stat().st_size > 5000


def test_there_is_a_gallery_and_a_tutorial():
    assert len(GALLERIES["auto_examples"]) >= 6 and len(GALLERIES["auto_tutorial"]) >= 1
    tutorial = GALLERIES["auto_tutorial"][0].read_text()
    assert "load_digits" in tutorial and "torch.optim" in tutorial  # a model trained on the bundled digits


@pytest.mark.parametrize("name", fastrelu.__all__)
def test_every_public_name_has_a_reference_page(site, name):
    # api.rst lists no names: each comes from fastrelu.__all__ on every build
    page = site / "generated" / f"fastrelu.{name}.html"
    assert page.exists(), f"fastrelu.{name} has no page in the API reference"
    assert f"fastrelu.{name}" in (site / "generated" / "fastrelu.html").read_text()


def test_the_getting_started_code_runs(tmp_path, monkeypatch):
    """Every ``.. code-block:: python`` of the getting-started page, in order, in one namespace."""
    text = (DOCS / "getting_started.rst").read_text()
    blocks = re.findall(r"\.\. code-block:: python\n\n((?:    .*\n|\n)+)", text)
    assert len(blocks) >= 3
    monkeypatch.chdir(tmp_path)
    namespace = {}
    for block in blocks:
        code = "\n".join(line[4:] for line in block.splitlines())
        ast.parse(code)
        exec(compile(code, "getting_started.rst", "exec"), namespace)
    assert (tmp_path / "sweep.png").stat().st_size > 5000


def test_the_sdist_carries_the_site_sources(tmp_path):
    subprocess.run([sys.executable, "-m", "build", "--sdist", "--no-isolation", "-o", str(tmp_path), str(ROOT)],
                   capture_output=True, text=True, check=True)
    (sdist,) = tmp_path.glob("fastrelu-*.tar.gz")
    with tarfile.open(sdist) as tar:
        names = {pathlib.PurePosixPath(n).relative_to(pathlib.PurePosixPath(n).parts[0]).as_posix() for n in tar.getnames()}
    wanted = {p.relative_to(ROOT).as_posix() for p in [*DOCS.glob("*.rst"), *DOCS.glob("*.py"), *DOCS.glob("*.png"),
                                                       *DOCS.glob("_templates/*"), *DOCS.glob("_static/*"),
                                                       *DOCS.glob("tutorial/*"), *DOCS.glob("guide/*"),
                                                       *EXAMPLES.glob("*")] if p.is_file()}
    assert wanted and wanted <= names, sorted(wanted - names)
    assert not any(n.startswith(tuple(f"docs/{g}" for g in GENERATED)) for n in names)


def _open(browser, path):
    page = browser.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
    page.on("console", lambda m: errors.append(f"console {m.type}: {m.text}") if m.type in ("error", "warning") else None)
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    return page, errors


@pytest.mark.parametrize("name", ["index", "getting_started", "api", "auto_examples/index", "auto_tutorial/plot_digits",
                                  "generated/fastrelu.sweep", "guide/index", "guide/planes", "guide/architecture"])
def test_pages_open_in_a_browser_with_their_images(site, browser, name):
    page, errors = _open(browser, site / f"{name}.html")
    # every image on the page loads and decodes (lazy ones too: they are asked for now)
    broken = page.evaluate("""async () => {
        const bad = [];
        for (const i of document.images) {
            i.loading = "eager";
            try { await i.decode(); } catch (e) { bad.push(i.src); }
        }
        return bad;
    }""")
    assert broken == [] and errors == [], (broken, errors)
    page.close()


def test_the_interactive_page_runs_inside_the_gallery(site, browser):
    page, errors = _open(browser, site / "auto_examples" / "plot_interactive_page.html")
    frame = page.locator("iframe")
    assert frame.count() == 1
    frame.scroll_into_view_if_needed()
    inner = next(f for f in page.frames if f.url == "about:srcdoc")
    inner.wait_for_function("() => window.Bokeh && Bokeh.documents.length > 0 && Bokeh.index.find_one("
                            "Bokeh.documents[0].roots()[0]) != null && Bokeh.index.find_one("
                            "Bokeh.documents[0].roots()[0]).is_idle", timeout=60_000)
    assert inner.evaluate("() => Bokeh.documents[0].get_model_by_name('output') != null")
    # the page is given its full width (it scrolls sideways in the column instead of being cut)
    assert page.evaluate("() => document.querySelector('iframe').getBoundingClientRect().width") >= 1000
    assert errors == []
    page.close()
