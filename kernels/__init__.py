"""Compiled kernels of pgdl (Cython), with a numpy reference for each.

`pgdl.kernels.reference` holds plain numpy versions with the same names and
errors; the tests compare the two.
"""

from pgdl.kernels._pack import scale_bytes  # noqa: F401
