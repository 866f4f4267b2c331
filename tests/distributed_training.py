"""Training runs for tests/test_distribute.py, each in its own process: a
collective strategy must be a process's first TensorFlow work, and only one
strategy may live in a process (TensorFlow 2.21: a second MirroredStrategy's
collectives mix with the first's).

    python tests/distributed_training.py single OUT        # one device
    python tests/distributed_training.py mirrored OUT      # 2 logical CPUs
    python tests/distributed_training.py multi-worker OUT  # TF_CONFIG's cluster

Each writes OUT/<mode>[-<worker>].npz with, for every prior and optimizer,
the per-epoch losses and the final weights of the same seeded run: 50 examples
with sample weights, global batches of 16 (so the last batch, of 2, splits
1 + 1), a model built lazily (inside the strategy's scope).
"""

import contextlib
import os
import sys

import numpy as np

MODE, OUT = sys.argv[1], sys.argv[2]
PRIORS = ("normal", "laplace", "cauchy")
OPTIMIZERS = ("sgd", "default")

import tensorflow as tf  # noqa: E402

if MODE == "mirrored":
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
elif MODE == "multi-worker":
    from keras_svae.distribute import make_strategy

    strategy = make_strategy("multi-worker")
else:
    strategy = None

import keras  # noqa: E402

from keras_svae import SparseVAE  # noqa: E402


def optimizer(name, prior):
    if name == "default":
        return None  # Adam(1e-3), global gradient norm clipped at 10
    # Plain SGD; for the Cauchy posterior (whose draws are heavy-tailed) the
    # global norm is clipped, as no Cauchy model trains without clipping.
    return keras.optimizers.SGD(1e-3, global_clipnorm=10.0 if prior == "cauchy" else None)


rng = np.random.default_rng(0)
x = rng.normal(size=(50, 25)).astype("float32")
weights = rng.uniform(0.5, 2.0, size=50).astype("float32")
results = {}
for prior in PRIORS:
    for name in OPTIMIZERS:
        with strategy.scope() if strategy else contextlib.nullcontext():
            model = SparseVAE(
                latent_dim=4, prior=prior, decoder="linear", encoder_units=(16,), seed=1
            )
            model.compile(optimizer=optimizer(name, prior))
        history = model.fit(
            x, sample_weight=weights, batch_size=16, epochs=3, shuffle=False, verbose=0
        )
        results[f"{prior}-{name}-loss"] = np.array(history.history["loss"])
        for i, variable in enumerate(model.trainable_weights):
            results[f"{prior}-{name}-weight{i}"] = np.array(variable)

task = os.environ.get("TASK_INDEX")
np.savez(os.path.join(OUT, MODE + (f"-{task}" if task else "") + ".npz"), **results)
