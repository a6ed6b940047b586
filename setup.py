"""Compiles kernels/*.pyx into pgdl.kernels; the rest is in pyproject.toml."""

import platform

import numpy
from Cython.Build import cythonize
from setuptools import Extension, find_packages, setup

# x86-64-v2 (SSSE3, SSE4.2) lets the compiler vectorize byte swaps; every
# x86-64 server of the last decade has it.
FLAGS = ["-O3"] + (["-march=x86-64-v2"] if platform.machine() == "x86_64" else [])

kernels = [
    Extension("pgdl.kernels.%s" % name, ["kernels/%s.pyx" % name],
              include_dirs=[numpy.get_include()], extra_compile_args=FLAGS)
    for name in ("_pack", "_merge")
]

setup(
    packages=find_packages(include=["pgdl", "pgdl.*"]) + ["pgdl.kernels"],
    package_dir={"pgdl.kernels": "kernels"},
    ext_modules=cythonize(kernels, language_level=3),
)
