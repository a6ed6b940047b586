"""Files and configurations users hand to pgdl are data, never code."""

import json
import os
import pickle

import psycopg
import pytest

from pgdl.engine.keras_loader import keras


def server_folder(cluster, name):
    folder = os.path.join(cluster.directory, name)
    os.makedirs(folder, exist_ok=True)
    os.chmod(folder, 0o777)
    return folder


class RunsCode:
    """Unpickling this would run a shell command as the server's OS user."""

    def __init__(self, witness):
        self.witness = witness

    def __reduce__(self):
        return (os.system, ("touch %s" % self.witness,))


def test_a_cifar_batch_cannot_run_code(db, cluster):
    folder = server_folder(cluster, "evil-cifar")
    witness = os.path.join(folder, "ran")
    with open(os.path.join(folder, "data_batch_1"), "wb") as handle:
        pickle.dump({b"data": RunsCode(witness), b"labels": [1]}, handle, protocol=2)
    os.chmod(os.path.join(folder, "data_batch_1"), 0o644)
    with pytest.raises(psycopg.errors.BadCopyFileFormat) as caught:
        db.execute("SELECT * FROM pgdl.load_dataset('cifar10', 'c', path => %s)", (folder,))
    assert caught.value.diag.message_primary.endswith("it names posix.system")
    assert not os.path.exists(witness)


def test_an_image_folder_reads_image_formats_only(db, cluster):
    folder = server_folder(cluster, "eps")
    os.makedirs(os.path.join(folder, "cats"), exist_ok=True)
    with open(os.path.join(folder, "cats", "one.eps"), "w") as handle:
        handle.write("%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 1 1\nshowpage\n")
    os.chmod(os.path.join(folder, "cats"), 0o755)
    with pytest.raises(psycopg.errors.BadCopyFileFormat) as caught:
        db.execute("SELECT * FROM pgdl.load_dataset('images', 'i', path => %s)", (folder,))
    assert "is not an image pgdl reads" in caught.value.diag.message_primary


def dense_json():
    k = keras()
    return json.loads(k.Sequential([k.Input((4,)), k.layers.Dense(2)]).to_json())


def with_layer(config, layer):
    config["config"]["layers"].append(layer)
    return json.dumps(config)


@pytest.mark.parametrize("keras_json, message", [
    (with_layer(dense_json(), {"module": "os", "class_name": "system",
                               "config": {"command": "true"}, "registered_name": None}),
     'keras_json of architecture "evil" names module "os"; pgdl builds Keras\'s own classes '
     "only"),
    (with_layer(dense_json(), {"module": "keras.layers", "class_name": "Lambda",
                               "config": {"function": {"class_name": "__lambda__"}},
                               "registered_name": None}),
     'keras_json of architecture "evil" holds a Lambda, which carries Python code'),
    (with_layer(dense_json(), {"module": "keras.layers", "class_name": "Dense",
                               "config": {"units": 1}, "registered_name": "evil>Dense"}),
     'keras_json of architecture "evil" names registered object "evil>Dense"; pgdl builds '
     "Keras's own classes only"),
])
def test_an_architecture_is_data_not_code(roles, keras_json, message):
    alice, bob = roles
    with pytest.raises(psycopg.errors.InvalidParameterValue) as caught:
        alice.execute("INSERT INTO pgdl.architectures (name, keras_json) VALUES ('evil', %s)",
                      (keras_json,))
    assert caught.value.diag.message_primary == message
