"""The training benchmark (``python -m benchmarks.bench_training``), one part a module.

- ``baseline``: the shared MNIST MLP architecture and ``BaselineVAE``, the
  hand-written Keras 3 VAE every row is compared with;
- ``data``: MNIST and the input pipelines;
- ``models``: the models compared (``MODELS``), how each is built and
  compiled, and its dense-layer FLOPs per example;
- ``timing``: the clocks (epochs, interleaved rounds, the matmul peak, peak
  memory) and the plain-text table;
- ``priors``, ``optimisations``, ``profile``, ``scaling``: sections 1 to 4 of
  the printout.
"""

import os

# As when the parts lived in bench_training.py: TensorFlow's C++ logging is
# quiet whichever module of the benchmark is imported first.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
