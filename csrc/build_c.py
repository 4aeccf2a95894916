"""cffi build script for the C kernel, ``fastrelu.kernels._c`` (API mode).

Wired into the build through setuptools' ``cffi_modules`` (see setup.py).  We chose
that over ``cffi-gen-src`` plus a compiled build backend because it is the wiring
cffi documents, needs nothing beyond setuptools and cffi at build time, and works
the same for ``pip install .`` and ``pip install -e .``.

Environment variables read at build time:

FASTRELU_MARCH_NATIVE=1
    compile for the build machine (``-march=native``) instead of the portable
    build whose hot loop is cloned for AVX-512, AVX2 and baseline x86-64.

The kernels' blocking and chunk sizes (``C_CONSTANTS``) come from
src/fastrelu/utils/config.py, shared with the Numba twins, as macros of the same names.
"""

import os
import pathlib
import runpy
import sys

from cffi import FFI

HERE = pathlib.Path(__file__).resolve().parent
# setuptools wants source paths relative to the project root, where it runs us;
# run as a script (ffibuilder.compile works in its own folder) they must be absolute.
SRC = str(HERE) if __name__ == "__main__" else os.path.relpath(HERE)
CONFIG_PY = os.path.join(SRC, os.pardir, "src", "fastrelu", "utils", "config.py")

ffibuilder = FFI()
# the declarations of every kernel: kernels.h, and the plane and deep walks' own headers
ffibuilder.cdef((HERE / "kernels.h").read_text() + (HERE / "plane_c.h").read_text() + (HERE / "walk_c.h").read_text())
ffibuilder.cdef((HERE / "graph_c.h").read_text())  # the graph twins' sweep


def _config_macros():
    """``(name, value)`` for each number of config.py's ``C_CONSTANTS``: the C files hold no copy.

    config.py is run by its path, not imported as ``fastrelu.utils.config``: this
    script runs before fastrelu is installed (setuptools' ``cffi_modules``, or by hand).
    """
    config = runpy.run_path(CONFIG_PY)
    macros = []
    for name in config["C_CONSTANTS"]:
        value = config[name]
        if type(value) is not int or value <= 0:
            raise ValueError(f"{name} = {value!r} in {CONFIG_PY}: the C kernels need a positive int")
        macros.append((name, str(value)))
    return macros


def _accepts(flags):
    """Whether the C compiler setuptools will use compiles and links a program with ``flags``."""
    import tempfile

    from setuptools._distutils import ccompiler, sysconfig

    cc = ccompiler.new_compiler()
    sysconfig.customize_compiler(cc)
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "probe.c")
        with open(src, "w") as f:
            f.write("#include <omp.h>\nint main(void) { return omp_get_max_threads() > 0 ? 0 : 1; }\n")
        try:
            objs = cc.compile([src], output_dir=tmp, extra_postargs=flags)
            cc.link_executable(objs, "probe", output_dir=tmp, extra_postargs=flags)
        except Exception:
            return False
    return True


# OpenMP when the compiler has it (GCC; clang with libomp); without it the kernels
# still build and run on one thread (fastrelu.backends() says so).
OPENMP = ["-fopenmp"] if _accepts(["-fopenmp"]) else []
# -ffp-contract=fast lets the multiply-adds fuse, as Numba's fastmath={"contract"}
# does in the twin (see src/fastrelu/utils/config.py); nothing else of -ffast-math:
# NaN and inf keep their meaning.
# -fvisibility=hidden: the module exports only its PyInit function, so no symbol of
# ours (sweep_kernel_f64, get_num_threads, ...) can clash with another library's.
compile_args = ["-O3", *OPENMP, "-ffp-contract=fast", "-std=c99", "-fvisibility=hidden"]
macros = _config_macros()
# the linker exports PyInit__c alone (csrc/exports.map): -fvisibility=hidden does not reach
# the resolvers GCC makes for functions cloned per instruction set (target_clones)
link_args = list(OPENMP)
if sys.platform.startswith("linux"):
    link_args.append("-Wl,--version-script=" + os.path.join(SRC, "exports.map"))
if os.environ.get("FASTRELU_MARCH_NATIVE", "0") not in ("", "0"):
    compile_args.append("-march=native")
    macros.append(("FASTRELU_NATIVE", "1"))

ffibuilder.set_source(
    "fastrelu.kernels._c",
    '#include "kernels.h"\n#include "plane_c.h"\n#include "walk_c.h"\n#include "graph_c.h"\n',
    sources=[os.path.join(SRC, "dense_c.c"), os.path.join(SRC, "exact_c.c"), os.path.join(SRC, "plane_c.c"),
             os.path.join(SRC, "plane_cut.c"),
             os.path.join(SRC, "walk_c.c"),
             os.path.join(SRC, "graph_c.c")],
    include_dirs=[SRC],
    define_macros=macros,
    extra_compile_args=compile_args,
    extra_link_args=link_args,
    depends=[
        *(os.path.join(SRC, name) for name in ("kernels.h", "eft.h", "rounded.h", "dense_c_sweep.inc", "dense_c_vec.inc", "dense_c_deep.inc", "exact_c_evaluate.inc",
                                               "plane_c.h", "plane_c.c", "plane_cut.c", "walk_c.h", "walk_c.c",
                                               "exports.map",
                                               "graph_c.h", "graph_c.c", "graph_c_sweep.inc")),
        CONFIG_PY,  # a changed constant rebuilds the module
    ],
)

if __name__ == "__main__":  # pragma: no cover - manual build for development
    ffibuilder.compile(verbose=True, tmpdir=sys.argv[1] if len(sys.argv) > 1 else ".")
