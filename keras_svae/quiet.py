"""Import TensorFlow so that ``TF_CPP_MIN_LOG_LEVEL`` holds for its start-up lines.

TensorFlow's C++ libraries log a few lines while they load ("All log messages
before absl::InitializeLog() is called are written to STDERR", oneDNN, CUDA
probing) before Abseil's logging is initialised, so ``TF_CPP_MIN_LOG_LEVEL``
does not filter them (an upstream Abseil behaviour). When the variable is set
(1 hides INFO, 2 also WARNING, 3 also ERROR), ``import_tensorflow`` captures
the process's stderr while TensorFlow loads and finds its devices, and writes
back every line the level does not hide. Unset, nothing is captured.

Standard library only until TensorFlow itself is imported.
"""

import os
import re
import sys
import tempfile

# Abseil's prefix: severity letter, MMDD, then time and thread, e.g. "I0000 00:00:17...".
_ABSL_LINE = re.compile(r"^([IWEF])\d{4} ")
_SEVERITY = {"I": 0, "W": 1, "E": 2, "F": 3}
_PREAMBLE = "WARNING: All log messages before absl::InitializeLog() is called"
_CPU_GUARD_TAIL = "To enable the following instructions:"


def hidden(line, level):
    """True when TensorFlow's start-up ``line`` is below ``TF_CPP_MIN_LOG_LEVEL``."""
    match = _ABSL_LINE.match(line)
    if match:
        return _SEVERITY[match.group(1)] < level
    return level >= 1 and (line.startswith(_PREAMBLE) or line.startswith(_CPU_GUARD_TAIL))


def log_level():
    """``TF_CPP_MIN_LOG_LEVEL`` as an int (0 when unset or not a number)."""
    try:
        return int(os.environ.get("TF_CPP_MIN_LOG_LEVEL", "0"))
    except ValueError:
        return 0


def import_tensorflow():
    """Import TensorFlow and list its physical devices with the start-up lines
    filtered by ``TF_CPP_MIN_LOG_LEVEL`` (see the module docstring)."""
    level = log_level()
    if level < 1 or "tensorflow" in sys.modules:
        import tensorflow

        return tensorflow
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import tensorflow

            tensorflow.config.list_physical_devices()
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
        captured.seek(0)
        lines = captured.read().decode("utf-8", errors="replace").splitlines()
    kept = [line for line in lines if not hidden(line, level)]
    if kept:
        print("\n".join(kept), file=sys.stderr, flush=True)
    return tensorflow
