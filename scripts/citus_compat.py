"""Guards Citus's own have_createdb_privilege() in pg_version_compat.h, for
PostgreSQL 15 headers that export that function themselves (15.14 on)."""

import re
import sys

path = sys.argv[1]
text = open(path).read()
if "PGDL_GUARD" in text:
    sys.exit(0)                 # guarded already
pattern = re.compile(r"static inline bool\nhave_createdb_privilege\(void\)\n\{.*?\n\}\n", re.S)
found = pattern.search(text)
if found is None:
    sys.exit("no have_createdb_privilege() in %s" % path)
guarded = ("/* PGDL_GUARD: PostgreSQL's headers export this function */\n#if 0\n"
           + found.group(0) + "#endif\n")
open(path, "w").write(text[:found.start()] + guarded + text[found.end():])
