"""TF_CPP_MIN_LOG_LEVEL holds for TensorFlow's start-up lines once keras_svae imports it."""

import os
import subprocess
import sys

import pytest

from keras_svae.quiet import hidden

# Multi-process, long training or benchmarks: outside the fast loop (`-m "not slow"`).
pytestmark = pytest.mark.slow

CODE = "import keras_svae, tensorflow as tf; print(int(tf.constant(1) + 1))"


def _run(level):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL=level)
    return subprocess.run([sys.executable, "-c", CODE], env=env, capture_output=True, text=True,
                          timeout=300)  # fmt: skip


def test_level_3_silences_tensorflows_start_up_lines():
    quiet = _run("3")
    assert quiet.returncode == 0 and quiet.stdout.strip() == "2"
    assert quiet.stderr.strip() == "", quiet.stderr
    loud = _run("0")  # the same lines are there when nothing is asked
    assert "I0000" in loud.stderr or "WARNING: All log messages" in loud.stderr


@pytest.mark.parametrize(
    "line,level,expected",
    [
        ("I0000 00:00:1.0  1 port.cc:153] oneDNN custom operations are on.", 1, True),
        ("I0000 00:00:1.0  1 port.cc:153] oneDNN custom operations are on.", 0, False),
        ("W0000 00:00:1.0  1 x.cc:1] a warning", 1, False),
        ("W0000 00:00:1.0  1 x.cc:1] a warning", 2, True),
        ("E0000 00:00:1.0  1 cuda_platform.cc:52] failed call to cuInit", 2, False),
        ("E0000 00:00:1.0  1 cuda_platform.cc:52] failed call to cuInit", 3, True),
        ("WARNING: All log messages before absl::InitializeLog() is called are written", 1, True),
        ("Traceback (most recent call last):", 3, False),
    ],
)
def test_hidden_follows_the_level(line, level, expected):
    assert hidden(line, level) is expected
