"""The house in layers: the import graph has no cycle, and the layer order the README
shows is the one import-linter enforces (``lint-imports`` in CI)."""

import pathlib
import re
import shutil
import subprocess
import sys

import grimp
import tomllib

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _readme_layers():
    text = (ROOT / "README.md").read_text()
    block = text.split("<!-- layers -->", 1)[1]
    return re.findall(r"^\d+\. `(\w+)`", block.lstrip("\n").split("\n\n", 1)[0], flags=re.M)


def test_readme_lists_the_contract_s_layers():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    (contract,) = [c for c in config["contracts"] if c["type"] == "layers"]
    assert _readme_layers() == contract["layers"]
    package = ROOT / "src" / "fastrelu"
    folders = sorted(p.name for p in package.iterdir() if (p / "__init__.py").exists())
    assert folders == sorted(contract["layers"]), "every subpackage is a layer"
    assert sorted(p.name for p in package.glob("_*.py")) == ["__init__.py", "__main__.py"], "no private module at the top"


def _cycles(graph):
    """Strongly connected components of more than one module (Tarjan, iteratively)."""
    index, low, stack, on, found, counter = {}, {}, [], set(), [], [0]
    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = counter[0]
        counter[0] += 1
        stack.append(root)
        on.add(root)
        while work:
            v, children = work[-1]
            for w in children:
                if w not in index:
                    index[w] = low[w] = counter[0]
                    counter[0] += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(graph.find_modules_directly_imported_by(w)))))
                    break
                if w in on:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    component = []
                    while True:
                        w = stack.pop()
                        on.discard(w)
                        component.append(w)
                        if w == v:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return found


def test_no_import_cycle_counting_imports_inside_functions():
    graph = grimp.build_graph("fastrelu", cache_dir=None)  # grimp reads every import statement
    assert _cycles(graph) == []
    below_root = [m for m in graph.modules if m != "fastrelu" and "fastrelu" in graph.find_modules_directly_imported_by(m)]
    assert below_root == [], "no module imports the package root"


def test_the_cycle_finder_finds_a_cycle():
    class Graph:  # a -> b -> c -> a, and d alone
        modules = {"a", "b", "c", "d"}

        @staticmethod
        def find_modules_directly_imported_by(m):
            return {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}[m]

    assert _cycles(Graph) == [["a", "b", "c"]]


def test_lint_imports_keeps_the_contract():
    exe = shutil.which("lint-imports") or str(pathlib.Path(sys.executable).parent / "lint-imports")
    out = subprocess.run([exe, "--config", str(ROOT / "pyproject.toml"), "--no-cache"], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "1 kept, 0 broken" in out.stdout
