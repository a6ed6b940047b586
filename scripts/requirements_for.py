"""The Python requirements for this machine: requirements.txt as it is
(the CPU builds), or with the GPU builds where there is an NVIDIA GPU.

  tensorflow-cpu  ->  tensorflow[and-cuda]   the same TensorFlow, with the CUDA
                                             libraries from PyPI: segments keep
                                             the Keras backend and the ONNX
                                             export path they have on the CPU
  onnxruntime     ->  onnxruntime-gpu        CUDAExecutionProvider for scoring

PGDL_GPU=1 asks for the GPU builds, PGDL_GPU=0 for the CPU builds; unset,
the driver decides (/proc/driver/nvidia/gpus, PGDL_GPU_PROC in tests).
Prints the requirements to stdout and what it chose to stderr.
"""

import glob
import os
import re
import sys

GPU_BUILDS = {"tensorflow-cpu": "tensorflow[and-cuda]", "onnxruntime": "onnxruntime-gpu"}


def gpus():
    root = os.environ.get("PGDL_GPU_PROC", "/proc/driver/nvidia/gpus")
    return len(glob.glob(os.path.join(root, "*")))


def want_gpu(found):
    asked = os.environ.get("PGDL_GPU", "").strip()
    if asked not in ("", "0", "1"):
        sys.exit("setup: PGDL_GPU must be 0 or 1, not %r" % asked)
    if asked == "1" and not found:
        print("setup: PGDL_GPU=1 but this machine has no NVIDIA GPU (no driver under "
              "/proc/driver/nvidia/gpus): installing the CPU builds", file=sys.stderr)
        return False
    return found > 0 if asked == "" else asked == "1"


def gpu_line(line):
    match = re.match(r"\s*([A-Za-z0-9_.-]+)(.*)$", line)
    if not match or match.group(1) not in GPU_BUILDS:
        return line
    return GPU_BUILDS[match.group(1)] + match.group(2)


def main(path):
    found = gpus()
    gpu = want_gpu(found)
    with open(path) as requirements:
        lines = requirements.read().splitlines()
    if gpu:
        lines = [gpu_line(line) for line in lines]
    print("setup: %s builds of TensorFlow and ONNX Runtime (%d NVIDIA GPU%s found)"
          % ("GPU" if gpu else "CPU", found, "" if found == 1 else "s"), file=sys.stderr)
    print("\n".join(lines))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "requirements.txt")
