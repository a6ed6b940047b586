"""pgdl: deep learning inside PostgreSQL, next to the data.

The server reaches Python through `pgdl.dispatch` (the only PL/Python entry
point).  `pgdl.foreign` holds the Multicorn-API classes behind foreign
tables; `pgdl.multicorn` is the Multicorn2 API they are written against.
"""

__version__ = "0.1.0"
