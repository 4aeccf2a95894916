# Only the part of the build that pyproject.toml cannot declare: the cffi C kernel.
from setuptools import setup

setup(cffi_modules=["csrc/build_ckernel.py:ffibuilder"])
