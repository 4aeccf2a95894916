# Only the part of the build that pyproject.toml cannot declare: the cffi C kernel,
# built when it can be.  A machine without a C compiler (or with one that cannot
# build it) still gets a working fastrelu: the install goes on without the C
# kernel, and fastrelu.backends() says why "cffi" is unavailable.
import sys

from setuptools import setup
from setuptools.command.build_ext import build_ext


class OptionalBuildExt(build_ext):
    """build_ext that reports a failed C build instead of failing the install."""

    def run(self):
        try:
            super().run()
        except Exception as exc:  # no compiler at all: distutils raises before compiling
            self._skip(exc)

    def build_extension(self, ext):
        try:
            super().build_extension(ext)
        except Exception as exc:  # the compiler or the linker failed
            self._skip(exc)

    def _skip(self, exc):
        print(
            f"WARNING: fastrelu's C kernel was not built ({type(exc).__name__}: {exc}); "
            "the cffi backend will be unavailable and the others will run",
            file=sys.stderr,
        )


setup(cffi_modules=["csrc/build_c.py:ffibuilder"], cmdclass={"build_ext": OptionalBuildExt})
