"""The server package holds what the server runs: nothing in pgdl imports
pgdl_tools (clusters, the demo, the Greenplum mapping), the kernels are
compiled into it, and only the engine modules that keep the model store
touch plpy."""

import ast
import pathlib

import pgdl
import pgdl_tools

SERVER = pathlib.Path(pgdl.__file__).parent
STORE = {"catalog", "registry", "importing", "evaluation", "training", "selection", "apart"}


def imports(path):
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update("%s.%s" % (node.module, alias.name) for alias in node.names)
    return names


def test_the_server_package_imports_no_tool():
    for path in SERVER.rglob("*.py"):
        assert not [n for n in imports(path) if n.split(".")[0] == "pgdl_tools"], path


def test_the_tools_live_outside_the_server_package():
    for name in ("cluster", "citus", "demo", "greenplum"):
        assert not (SERVER / (name + ".py")).exists()
        assert (pathlib.Path(pgdl_tools.__file__).parent / (name + ".py")).exists()


def test_the_kernels_are_compiled_into_the_server_package():
    from pgdl import kernels
    assert pathlib.Path(kernels._pack.__file__).parent == SERVER / "kernels"
    assert kernels._pack.__file__.endswith(".so")


def test_only_the_model_store_reaches_plpy():
    """engine/__init__.py's two layers: computation reaches pgdl.server only
    to report progress (segment, hopper), never plpy."""
    for path in (SERVER / "engine").glob("*.py"):
        if path.stem in STORE or path.stem == "__init__":
            continue
        assert "plpy" not in path.read_text(), path
        if "pgdl.server" in imports(path):
            assert path.stem in ("segment", "hopper"), path
