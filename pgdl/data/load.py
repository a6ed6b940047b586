"""pgdl.load_dataset: a data set into ordinary tables (id, image, label)."""

import numpy as np

from pgdl import names, server, sql
from pgdl.data import datasets
from pgdl.errors import PgdlError
from pgdl.privilege import user_path

CHUNK = 5000


def _may_read_files():
    row = server.plpy.execute(
        "SELECT rolsuper OR pg_has_role(current_user, 'pg_read_server_files', 'MEMBER') AS ok "
        "FROM pg_roles WHERE rolname = current_user")
    return bool(row and row[0]["ok"])


def _create(name, images, labels, description):
    plpy = server.plpy
    target = names.new_relation(name, "table")
    plpy.execute("CREATE TABLE %s (id int4 PRIMARY KEY, image bytea NOT NULL, "
                 "label int4 NOT NULL)" % target)
    plpy.execute("COMMENT ON TABLE %s IS %s" % (target, sql.literal(description)))
    insert = plpy.prepare("INSERT INTO %s SELECT * FROM unnest($1::int4[], $2::bytea[], "
                          "$3::int4[])" % target, ["int4[]", "bytea[]", "int4[]"])
    flat = images.reshape(len(images), -1)
    for start in range(0, len(images), CHUNK):
        stop = min(start + CHUNK, len(images))
        plpy.execute(insert, [list(range(start + 1, stop + 1)),
                              [row.tobytes() for row in flat[start:stop]],
                              labels[start:stop].tolist()])
    with user_path():       # the name as the user writes it
        shown = plpy.execute("SELECT %s::regclass::text AS name" % sql.literal(target))[0]["name"]
    return {"table_name": shown, "rows": len(images), "image_shape": list(images.shape[1:])}


def load_dataset(name, target, path=None, test_fraction=None, seed=0):
    if target is None:
        raise PgdlError("pgdl.load_dataset needs a target table name, not NULL", sqlstate="22004")
    if name not in datasets.NAMES:
        raise PgdlError('unknown data set "%s"' % name,
                        hint="Data sets: %s." % ", ".join(datasets.NAMES), sqlstate="22023")
    if name in ("cifar10", "images"):
        if path is None:
            raise PgdlError('data set "%s" needs a path' % name, sqlstate="22023")
        if not _may_read_files():
            raise PgdlError("only superusers and members of pg_read_server_files may load "
                            "files of the server", sqlstate="42501")
    classes = None
    if name == "digits":
        images, labels = datasets.digits()
    elif name == "mnist":
        images, labels = datasets.mnist()
    elif name == "cifar10":
        images, labels = datasets.cifar10(path)
    else:
        images, labels, classes = datasets.images(path)
    shape = "x".join(str(d) for d in images.shape[1:])
    description = "%s: uint8 images %s (height x width x channels), integer labels" % (name, shape)
    if classes:
        description += "; label i is class %s" % ", ".join(
            "%d %s" % (i, class_name) for i, class_name in enumerate(classes))
    if test_fraction is None:
        order = np.random.default_rng(seed).permutation(len(images))
        return [_create(target, images[order], labels[order], description)]
    train, test = datasets.split(images, labels, test_fraction, seed)
    return [_create(target + "_train", *train, description),
            _create(target + "_test", *test, description)]
