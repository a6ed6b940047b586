"""Helpers the integration tests share: models, training jobs, rows as arrays."""

import json
import os
import pathlib
import re
import time
from decimal import Decimal

import numpy as np

from pgdl.engine.keras_loader import keras

COMPILE = {"optimizer": "adam", "loss": "categorical_crossentropy", "metrics": ["accuracy"]}

# the version CREATE EXTENSION pgdl installs
DEFAULT_VERSION = re.search(r"default_version = '(.+)'", (
    pathlib.Path(__file__).parents[1] / "pgdl.control").read_text()).group(1)


def architecture(db, name, layers, input_shape):
    k = keras()
    model = k.Sequential([k.Input(input_shape)] + layers)
    db.execute("INSERT INTO pgdl.architectures (name, keras_json) VALUES (%s, %s)",
               (name, model.to_json()))
    return model


def train(db, model, architecture_name, source, iterations=2, segments=2, method="average",
          validation=None, compile_params=None, fit_params=None, **extra):
    columns = {"model": model, "architecture": architecture_name, "source": source,
               "validation_source": validation,
               "compile_params": json.dumps(compile_params or COMPILE),
               "fit_params": json.dumps(fit_params or {"batch_size": 32, "epochs": 1}),
               "iterations": iterations, "segments": segments, "method": method, "seed": 42}
    columns.update(extra)
    names = ", ".join(columns)
    marks = ", ".join(["%s"] * len(columns))
    cur = db.execute("INSERT INTO pgdl.model_training (%s) VALUES (%s) RETURNING *"
                     % (names, marks), list(columns.values()))
    return dict(zip([c.name for c in cur.description], cur.fetchone()))


def images(db, table, shape):
    rows = db.execute("SELECT image, label FROM %s ORDER BY id" % table).fetchall()
    x = np.stack([np.frombuffer(image, np.uint8) for image, _ in rows]).reshape([-1] + shape)
    return x.astype(np.float32), np.array([label for _, label in rows])


def onnx_model(nodes, name, inputs, outputs, initializers):
    """ONNX bytes of a graph from x (n, inputs floats) to out (n, outputs floats)."""
    from onnx import TensorProto, helper
    graph = helper.make_graph(
        nodes, name,
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", inputs])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, ["n", outputs])],
        initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    return model.SerializeToString()


def logistic_onnx(weights, bias, softmax=True):
    """A hand-built ONNX model: softmax(x W + b) (or its logits)."""
    from onnx import helper, numpy_helper
    nodes = [helper.make_node("MatMul", ["x", "W"], ["xw"]),
             helper.make_node("Add", ["xw", "b"], ["logits" if softmax else "out"])]
    if softmax:
        nodes.append(helper.make_node("Softmax", ["logits"], ["out"], axis=1))
    return onnx_model(nodes, "logistic", weights.shape[0], weights.shape[1],
                      [numpy_helper.from_array(weights.astype(np.float32), "W"),
                       numpy_helper.from_array(bias.astype(np.float32), "b")])


def digit_model(seed=0):
    """A logistic model over the 64 pixels of a digit: ONNX bytes and weights."""
    rng = np.random.default_rng(seed)
    weights, bias = rng.normal(size=(64, 10)), rng.normal(size=10)
    return logistic_onnx(weights, bias), weights, bias


def import_digit_model(conn, name, seed=0):
    data, weights, bias = digit_model(seed)
    version, = conn.execute(
        "SELECT pgdl.import_onnx(%s, %s, class_values => '{0,1,2,3,4,5,6,7,8,9}', "
        "features => '{image}', normalizing_const => 16)", (name, data)).fetchone()
    return version, weights, bias


def external_data_onnx(location="global/1260"):
    """digit_model with its weights kept in a file outside the model."""
    from onnx import TensorProto, load_from_string
    model = load_from_string(digit_model()[0])
    weights = model.graph.initializer[0]
    weights.ClearField("raw_data")
    weights.ClearField("float_data")
    weights.data_location = TensorProto.EXTERNAL
    for key, value in (("location", location), ("offset", "0"), ("length", "2560")):
        entry = weights.external_data.add()
        entry.key, entry.value = key, value
    return model.SerializeToString()


def looping_onnx(trips=10 ** 12):
    """A digit model that first adds 1 to its input `trips` times (a Loop)."""
    from onnx import TensorProto, helper, numpy_helper
    body = helper.make_graph(
        [helper.make_node("Identity", ["cond_in"], ["cond_out"]),
         helper.make_node("Add", ["acc_in", "one"], ["acc_out"])],
        "body",
        [helper.make_tensor_value_info("i", TensorProto.INT64, []),
         helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
         helper.make_tensor_value_info("acc_in", TensorProto.FLOAT, ["n", 64])],
        [helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
         helper.make_tensor_value_info("acc_out", TensorProto.FLOAT, ["n", 64])],
        [numpy_helper.from_array(np.array(1, np.float32), "one")])
    nodes = [helper.make_node("Loop", ["trips", "go", "x"], ["acc"], body=body),
             helper.make_node("MatMul", ["acc", "W"], ["logits"]),
             helper.make_node("Softmax", ["logits"], ["out"], axis=1)]
    return onnx_model(nodes, "looping", 64, 10,
                      [numpy_helper.from_array(np.array(trips, np.int64), "trips"),
                       numpy_helper.from_array(np.array(True), "go"),
                       numpy_helper.from_array(np.zeros((64, 10), np.float32), "W")])


def hungry_onnx(floats):
    """A digit model that first fills a tensor of `floats` float32 values per
    row (its shape follows the input's, so nothing folds it away early)."""
    from onnx import TensorProto, helper, numpy_helper
    nodes = [helper.make_node("Shape", ["x"], ["rows_by_64"]),
             helper.make_node("Mul", ["rows_by_64", "scale"], ["shape"]),
             helper.make_node("ConstantOfShape", ["shape"], ["big"],
                              value=helper.make_tensor("v", TensorProto.FLOAT, [1], [0.0])),
             helper.make_node("ReduceSum", ["big"], ["nothing"], keepdims=0),
             helper.make_node("MatMul", ["x", "W"], ["xw"]),
             helper.make_node("Add", ["xw", "nothing"], ["logits"]),
             helper.make_node("Softmax", ["logits"], ["out"], axis=1)]
    return onnx_model(nodes, "hungry", 64, 10,
                      [numpy_helper.from_array(np.array([1, floats // 64], np.int64), "scale"),
                       numpy_helper.from_array(np.zeros((64, 10), np.float32), "W")])


def reported(messages, prefix, tuples_at=()):
    """The last server message starting with prefix: a list of entries, read
    back from the JSON the test wrappers write (bytes and Decimal tagged).
    Each entry becomes a tuple, and so do its lists at positions tuples_at."""
    texts = [text for _, text, _ in messages if text.startswith(prefix)]

    def untag(item):
        if set(item) == {"bytes"}:
            return bytes.fromhex(item["bytes"])
        if set(item) == {"Decimal"}:
            return Decimal(item["Decimal"])
        return item

    def as_tuple(entry):
        return tuple(tuple(part) if isinstance(part, list) and index in tuples_at else part
                     for index, part in enumerate(entry))
    return [as_tuple(entry) for entry in json.loads(texts[-1][len(prefix):],
                                                    object_hook=untag)]


def parent(pid):
    with open("/proc/%d/stat" % pid) as stat:
        return int(stat.read().rsplit(")", 1)[1].split()[1])


def children(pid):
    """Processes whose parent is `pid` (this machine runs the test cluster)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if parent(int(entry)) == pid:
                    found.append(int(entry))
            except (OSError, IndexError, ValueError):
                pass
    return found


def segment_server(backend_pid):
    """The pid of the segment server of the cluster whose backend is
    backend_pid, or None."""
    postmaster = str(parent(backend_pid))
    for entry in os.listdir("/proc"):
        try:
            with open("/proc/%s/comm" % entry) as comm:
                if comm.read().strip() != "pgdl-segments":
                    continue
            with open("/proc/%s/cmdline" % entry) as cmdline:
                arguments = cmdline.read().split("\0")
        except OSError:
            continue
        if len(arguments) > 3 and arguments[-3] == postmaster:
            return int(entry)
    return None


def eventually(check, seconds=10):
    """Whether check() holds within `seconds`."""
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True
