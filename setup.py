"""Builds the pgdl Python package and compiles kernels/*.pyx into pgdl.kernels."""

import numpy
from Cython.Build import cythonize
from setuptools import Extension, find_packages, setup

kernels = [
    Extension("pgdl.kernels.%s" % name, ["kernels/%s.pyx" % name],
              include_dirs=[numpy.get_include()], extra_compile_args=["-O3"])
    for name in ("_pack", "_merge")
]

setup(
    name="pgdl",
    version="0.1.0",
    description="Deep learning inside PostgreSQL, next to the data",
    python_requires=">=3.11",
    packages=find_packages(include=["pgdl", "pgdl.*"]) + ["pgdl.kernels"],
    package_dir={"pgdl.kernels": "kernels"},
    ext_modules=cythonize(kernels, language_level=3),
    install_requires=["numpy>=1.26"],
)
