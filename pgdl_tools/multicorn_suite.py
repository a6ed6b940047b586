"""Runs multicorn2's own regression suite against pgdl_fdw.

    python -m pgdl_tools.multicorn_suite /path/to/multicorn2 [--diffs DIR]

Each SQL file of the suite (test-3.9/sql by default) runs in a fresh
database of a throwaway cluster, as pg_regress runs it (psql -a, the
Postgres DateStyle, the PST8PDT time zone).  Only names are rewritten, in
the SQL and in the expected output alike: the extension `multicorn` becomes
`pgdl`, the wrapper `multicorn` becomes `pgdl_fdw`, and the suite's wrapper
modules (`multicorn.testfdw`, `multicorn.fsfdw`, `multicorn.sqlalchemyfdw`)
are loaded verbatim from the checkout as `multicorn_suite.*`.  The output is
cut into statements and each is compared with multicorn2's expected output;
per file it prints how many statements give identical output and how many
differ.  With --diffs, each file's differing statements go to DIR/<file>.diff.

It needs the suite, so it is a tool for migrating users and for pgdl's
developers, not part of `make test`.
"""

import argparse
import difflib
import os
import re
import shutil
import subprocess
import sys

from pgdl_tools.cluster import PG_BIN, sql_ident, throwaway

WRAPPER_MODULES = ("testfdw.py", "fsfdw", "sqlalchemyfdw.py")

# (pattern, replacement) applied to the SQL and to the expected output
RENAMES = [
    (re.compile(r"\b(create|drop)(\s+extension\s+(?:if\s+(?:not\s+)?exists\s+)?)multicorn\b",
                re.I), r"\1\2pgdl"),
    (re.compile(r"\b(foreign\s+data\s+wrapper\s+)multicorn\b", re.I), r"\1pgdl_fdw"),
    (re.compile(r"\bmulticorn\.(testfdw|fsfdw|sqlalchemyfdw)\b"), r"multicorn_suite.\1"),
]


def rename(text):
    for pattern, replacement in RENAMES:
        text = pattern.sub(replacement, text)
    return text


def statements(sql):
    """The first line of each statement or psql command of a script, in order."""
    starts, inside, quote, dollar, depth = [], False, None, None, 0
    for line in sql.splitlines():
        if not inside:
            stripped = line.strip()
            if not stripped or stripped.startswith("--"):
                continue
            starts.append(line)
            if stripped.startswith("\\"):
                continue
            inside = True
        i = 0
        while i < len(line):
            char = line[i]
            if dollar:
                if line.startswith(dollar, i):
                    i, dollar = i + len(dollar), None
                    continue
            elif quote:
                if char == quote:
                    quote = None
            elif line.startswith("--", i):
                break
            elif char in "'\"":
                quote = char
            elif char == "$":
                match = re.match(r"\$[A-Za-z_]*\$", line[i:])
                if match:
                    dollar = match.group(0)
                    i += len(dollar)
                    continue
            elif char == "(":
                depth += 1
            elif char == ")":
                depth -= 1
            elif char == ";" and depth <= 0:
                inside, depth = False, 0
            i += 1
    return starts


def split_output(output, starts):
    """The output cut at each statement's echoed first line: one chunk per
    statement (a chunk runs up to the next statement's echo)."""
    lines = output.splitlines()
    positions, at = [], 0
    for start in starts:
        try:
            at = lines.index(start, at)
        except ValueError:
            positions.append(None)
            continue
        positions.append(at)
        at += 1
    chunks = []
    for index, position in enumerate(positions):
        if position is None:
            chunks.append(None)
            continue
        following = [p for p in positions[index + 1:] if p is not None]
        chunks.append(lines[position:following[0] if following else len(lines)])
    return chunks


def compare(expected, actual, starts):
    """(identical, differing, diff lines) of one file's statements."""
    identical, differing, diff = 0, 0, []
    for number, (want, got) in enumerate(zip(split_output(expected, starts),
                                             split_output(actual, starts)), 1):
        if want is not None and want == got:
            identical += 1
            continue
        differing += 1
        diff.extend(difflib.unified_diff(want or [], got or [], "multicorn2", "pgdl_fdw",
                                         "statement %d" % number, lineterm=""))
    return identical, differing, diff


def _suite_package(checkout, port):
    def before_start(directory):
        target = os.path.join(directory, "suite", "multicorn_suite")
        os.makedirs(target)
        source = os.path.join(checkout, "python", "multicorn")
        for name in WRAPPER_MODULES:
            path = os.path.join(source, name)
            if os.path.isdir(path):
                shutil.copytree(path, os.path.join(target, name))
            elif os.path.exists(path):
                shutil.copy(path, target)
        with open(os.path.join(target, "__init__.py"), "w") as init:
            init.write("from multicorn import *  # noqa\n")
        with open(os.path.join(target, "utils.py"), "w") as utils:
            utils.write("from multicorn.utils import *  # noqa\n")
        for root, dirs, files in os.walk(os.path.join(directory, "suite")):
            os.chmod(root, 0o755)
            for name in files:
                path = os.path.join(root, name)
                if name.endswith(".py"):
                    with open(path) as handle:
                        code = rename(handle.read())
                    with open(path, "w") as handle:
                        handle.write(code)
                os.chmod(path, 0o644)
        # the SQLAlchemy tests connect to postgresql://user@localhost/db
        return {"PYTHONPATH": os.path.join(directory, "suite"), "PGPORT": str(port())}
    return before_start


def run_file(cluster, checkout, path, scratch):
    name = os.path.splitext(os.path.basename(path))[0]
    dbname = "suite_" + name
    cluster.psql("DROP DATABASE IF EXISTS %s" % sql_ident(dbname))
    cluster.psql("CREATE DATABASE %s" % sql_ident(dbname))
    with open(path) as handle:
        sql = rename(handle.read())
    # pgdl needs PL/Python: installed beforehand, as multicorn2 needs nothing
    # (a file that installs it itself then differs there)
    cluster.psql("CREATE EXTENSION plpython3u", dbname)
    script = os.path.join(scratch, name + ".sql")
    with open(script, "w") as handle:
        handle.write(sql)
    # a statement blocked by a session the wrapper left open fails, not hangs
    env = dict(os.environ, PGTZ="PST8PDT", PGDATESTYLE="Postgres, MDY", LC_MESSAGES="C",
               PGOPTIONS="-c intervalstyle=postgres_verbose -c lock_timeout=10s")
    with open(script) as stdin:
        try:
            output = subprocess.run(
                [os.path.join(PG_BIN, "psql"), "-X", "-a", "-q", "-h", cluster.host,
                 "-p", str(cluster.port), "-U", "postgres", "-d", dbname],
                stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                cwd=checkout, env=env, timeout=300).stdout
        except subprocess.TimeoutExpired as expired:
            output = expired.stdout or ""
            if isinstance(output, bytes):
                output = output.decode("utf-8", "replace")
    cluster.psql("DROP DATABASE IF EXISTS %s WITH (FORCE)" % sql_ident(dbname))
    return sql, output


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkout", help="a clone of github.com/pgsql-io/multicorn2")
    parser.add_argument("--tests", default="test-3.9", help="the suite's folder (test-3.9)")
    parser.add_argument("--diffs", help="write each file's differing statements here")
    parser.add_argument("files", nargs="*", help="only these files (names without .sql)")
    args = parser.parse_args(argv)
    checkout = os.path.abspath(args.checkout)
    sql_dir = os.path.join(checkout, args.tests, "sql")
    expected_dir = os.path.join(checkout, args.tests, "expected")
    if not os.path.isdir(sql_dir):
        parser.error("%s has no %s/sql folder" % (checkout, args.tests))
    names = sorted(f[:-4] for f in os.listdir(sql_dir) if f.endswith(".sql"))
    if args.files:
        names = [name for name in names if name in args.files]
    if args.diffs:
        os.makedirs(args.diffs, exist_ok=True)
    totals = [0, 0]
    suite = throwaway()
    suite.before_start = _suite_package(checkout, lambda: suite.cluster.port)
    with suite as cluster:
        print("%-36s %9s %9s" % ("file", "identical", "differing"))
        for name in names:
            sql, output = run_file(cluster, checkout, os.path.join(sql_dir, name + ".sql"),
                                   cluster.directory)
            starts = statements(sql)
            # multicorn2 keeps alternative expected files (name_1.out, ...): the closest counts
            best = None
            for candidate in sorted(os.listdir(expected_dir)):
                if re.fullmatch(re.escape(name) + r"(_\d+)?\.out", candidate):
                    with open(os.path.join(expected_dir, candidate)) as handle:
                        result = compare(rename(handle.read()), output, starts)
                    if best is None or result[0] > best[0]:
                        best = result
            if best is None:
                continue
            identical, differing, diff = best
            totals[0] += identical
            totals[1] += differing
            print("%-36s %9d %9d" % (name, identical, differing))
            if args.diffs:
                with open(os.path.join(args.diffs, name + ".diff"), "w") as handle:
                    handle.write("\n".join(diff) + "\n")
        print("%-36s %9d %9d" % ("total", totals[0], totals[1]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
