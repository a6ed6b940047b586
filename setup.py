"""Compiles pgdl/kernels/*.pyx into pgdl.kernels; the rest is in pyproject.toml.

Two packages install: pgdl, what the server imports (pgdl.venv), kernels
included, and pgdl_tools, what runs outside the server (throwaway clusters,
the demo, the Greenplum mapping).
"""

import platform

import numpy
from Cython.Build import cythonize
from setuptools import Extension, find_packages, setup

# x86-64-v2 (SSSE3, SSE4.2) lets the compiler vectorize byte swaps; every
# x86-64 server of the last decade has it.
FLAGS = ["-O3"] + (["-march=x86-64-v2"] if platform.machine() == "x86_64" else [])

kernels = [
    Extension("pgdl.kernels.%s" % name, ["pgdl/kernels/%s.pyx" % name],
              include_dirs=[numpy.get_include()], extra_compile_args=FLAGS)
    for name in ("_pack", "_merge")
]

setup(
    packages=find_packages(include=["pgdl", "pgdl.*", "pgdl_tools"]),
    ext_modules=cythonize(kernels, language_level=3),
)
