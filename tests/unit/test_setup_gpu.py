"""scripts/requirements_for.py: the CPU builds here, the GPU builds where
the NVIDIA driver reports a GPU, and PGDL_GPU=0/1 over both."""

import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(ROOT, "scripts", "requirements_for.py")
REQUIREMENTS = os.path.join(ROOT, "requirements.txt")


def choose(tmp_path, gpus, asked=None):
    proc = tmp_path / "gpus"
    proc.mkdir(exist_ok=True)
    for index in range(gpus):
        (proc / ("0000:%02d:00.0" % index)).mkdir(exist_ok=True)
    env = dict(os.environ, PGDL_GPU_PROC=str(proc))
    env.pop("PGDL_GPU", None)
    if asked is not None:
        env["PGDL_GPU"] = asked
    return subprocess.run([sys.executable, SCRIPT, REQUIREMENTS], env=env,
                          capture_output=True, text=True)


def test_without_a_gpu_the_requirements_are_installed_as_written(tmp_path):
    done = choose(tmp_path, 0)
    with open(REQUIREMENTS) as f:
        assert done.stdout == f.read()
    assert "CPU builds" in done.stderr


def test_a_gpu_gets_tensorflow_with_cuda_and_onnxruntime_gpu(tmp_path):
    done = choose(tmp_path, 2)
    lines = done.stdout.splitlines()
    assert "tensorflow[and-cuda]>=2.16; platform_machine == 'x86_64'" in lines
    assert "onnxruntime-gpu>=1.17" in lines
    assert not any(line.startswith(("tensorflow-cpu", "onnxruntime>")) for line in lines)
    assert "onnx>=1.15" in lines and "tf2onnx>=1.16" in lines      # untouched
    assert "GPU builds" in done.stderr and "2 NVIDIA GPUs found" in done.stderr


def test_pgdl_gpu_overrides_what_the_driver_says(tmp_path):
    assert "onnxruntime-gpu" not in choose(tmp_path, 1, "0").stdout
    assert "onnxruntime-gpu" in choose(tmp_path, 1, "1").stdout


def test_pgdl_gpu_1_without_a_gpu_says_so_and_installs_the_cpu_builds(tmp_path):
    done = choose(tmp_path, 0, "1")
    assert done.returncode == 0 and "onnxruntime-gpu" not in done.stdout
    assert "PGDL_GPU=1 but this machine has no NVIDIA GPU" in done.stderr


@pytest.mark.parametrize("asked", ["yes", "2"])
def test_pgdl_gpu_other_than_0_or_1_is_an_error(tmp_path, asked):
    done = choose(tmp_path, 0, asked)
    assert done.returncode != 0 and "PGDL_GPU must be 0 or 1" in done.stderr
