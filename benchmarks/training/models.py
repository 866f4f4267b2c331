"""The models the benchmark compares, built and compiled alike, and their FLOPs."""

import keras

from benchmarks.training.baseline import DATA_DIM, DECODER_UNITS, ENCODER_UNITS, BaselineVAE
from keras_svae import SparseVAE

LAPLACE = dict(prior="laplace", kl="analytic")

# (row label, SparseVAE keyword arguments); None is the hand-written baseline.
MODELS = (
    ("baseline (keras.ops, normal)", None),
    ("SparseVAE normal", dict(prior="normal", kl="auto")),
    ("SparseVAE laplace, closed-form KL", LAPLACE),
    ("SparseVAE laplace, sampled KL", dict(prior="laplace", kl="sampled")),
    ("SparseVAE cauchy", dict(prior="cauchy", kl="auto")),
)


def optimizer():
    """SparseVAE.compile()'s default optimizer, given to every model."""
    return keras.optimizers.Adam(learning_rate=1e-3, global_clipnorm=10.0)


def build_model(
    spec,
    latent_dim=10,
    n_samples=1,
    jit_compile=True,
    steps_per_execution=32,
    seed=0,
    fuse_steps=True,
):
    """The baseline (spec None) or a SparseVAE; ``fuse_steps`` is SparseVAE's
    (the baseline always runs Keras' own loop)."""
    if spec is None:
        model = BaselineVAE(latent_dim, seed=seed)
        model.compile(
            optimizer=optimizer(), jit_compile=jit_compile, steps_per_execution=steps_per_execution
        )
        return model
    model = SparseVAE(
        latent_dim,
        likelihood="bernoulli",
        encoder="mlp",
        decoder="mlp",
        encoder_units=ENCODER_UNITS,
        decoder_units=DECODER_UNITS,
        data_shape=(DATA_DIM,),
        n_samples=n_samples,
        seed=seed,
        **spec,
    )
    model.compile(
        optimizer=optimizer(),
        jit_compile=jit_compile,
        steps_per_execution=steps_per_execution,
        fuse_steps=fuse_steps,
    )
    return model


def train_flops_per_example(latent_dim, n_samples=1):
    """2 * in * out per dense layer forward, x3 for forward + backward.

    The decoder runs once per latent sample. Elementwise work (activations,
    sampling, log-densities, Adam) is not counted; the first layer's unneeded
    input gradient is (the x3 convention), which overstates the work by ~12%.
    """
    enc = (DATA_DIM, *ENCODER_UNITS, 2 * latent_dim)
    dec = (latent_dim, *DECODER_UNITS, DATA_DIM)
    macs = sum(a * b for a, b in zip(enc, enc[1:]))
    macs += n_samples * sum(a * b for a, b in zip(dec, dec[1:]))
    return 3 * 2 * macs
