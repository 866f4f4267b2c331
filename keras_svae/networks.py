"""Encoder and decoder builders: MLP, linear (sparse coding) and small conv nets.

An encoder maps x of shape [batch, *data_shape] to [batch, 2 * latent_dim]:
the posterior's location, then its unconstrained scale. A decoder maps
z of shape [batch, latent_dim] to [batch, *data_shape] likelihood parameters.
"""

import math

import keras

from keras_svae.names import DECODERS, ENCODERS, lookup


def _initializer(seed, index):
    """A Glorot initializer whose seed derives from the model's seed."""
    return keras.initializers.GlorotUniform(seed=None if seed is None else seed + index)


@keras.saving.register_keras_serializable(package="keras_svae")
class UnitNormInitializer(keras.initializers.Initializer):
    """Another initializer's matrix with each row scaled to unit norm."""

    def __init__(self, base):
        self.base = keras.initializers.get(base)

    def __call__(self, shape, dtype=None):
        kernel = self.base(shape, dtype=dtype)
        return kernel / keras.ops.norm(kernel, axis=-1, keepdims=True)

    def get_config(self):
        return {"base": keras.initializers.serialize(self.base)}


def _check_conv_shape(data_shape):
    if len(data_shape) != 3 or data_shape[0] % 4 or data_shape[1] % 4:
        raise ValueError(
            f"The conv networks need images of shape (height, width, channels) with "
            f"height and width divisible by 4; got data shape {tuple(data_shape)}. "
            "Use encoder='mlp' / decoder='mlp', or reshape the data."
        )


def build_encoder(
    kind, data_shape, latent_dim, hidden_units=(256, 128), seed=None, activation="relu", width=2
):
    """An encoder network by name: x to the posterior's raw parameters.

    Args:
        kind: "mlp" (dense hidden layers) or "conv" (convolutions, for images).
        data_shape: the shape of one example, e.g. (144,) or (28, 28, 1).
        latent_dim: the number of latent variables.
        hidden_units: the MLP's hidden layer sizes.
        seed: seeds the weight initialisers (None: random).
        activation: the hidden units' activation (the paper uses "softplus").
        width: outputs per latent (``keras_svae.posteriors.posterior_width``:
            2 for location-scale posteriors, 3 for spike-and-slab).

    Returns:
        A ``keras.Sequential`` with ``width * latent_dim`` outputs.

    Raises:
        ValueError: for an unknown ``kind`` or a shape it cannot take.
    """
    kind = lookup(kind, ENCODERS, "encoder")
    layers = []
    if kind == "conv":
        _check_conv_shape(data_shape)
        for i, filters in enumerate((32, 64)):
            layers.append(
                keras.layers.Conv2D(
                    filters,
                    3,
                    strides=2,
                    padding="same",
                    activation=activation,
                    kernel_initializer=_initializer(seed, i),
                )
            )
    layers.append(keras.layers.Flatten())
    if kind == "mlp":
        for i, units in enumerate(hidden_units):
            layers.append(
                keras.layers.Dense(
                    units, activation=activation, kernel_initializer=_initializer(seed, i)
                )
            )
    layers.append(
        keras.layers.Dense(width * latent_dim, kernel_initializer=_initializer(seed, 100))
    )
    return keras.Sequential(layers, name="encoder")


def build_decoder(
    kind,
    data_shape,
    latent_dim,
    hidden_units=(128, 256),
    seed=None,
    activation="relu",
    output_activation=None,
    unit_norm=False,
):
    """A decoder network by name: z to the likelihood's parameters.

    "linear" is the sparse-coding generative model x = A z + b: its kernel's rows
    are the patterns (basis functions) that each latent variable adds to x.

    Args:
        kind: "mlp", "linear" or "conv".
        data_shape: the shape of one example, which the outputs take.
        latent_dim: the number of latent variables.
        hidden_units: the MLP's hidden layer sizes.
        seed: seeds the weight initialisers (None: random).
        activation: the hidden units' activation (the paper uses "softplus").
        output_activation: the output's activation (None: the likelihood's
            raw parameters, e.g. Bernoulli logits).
        unit_norm: for "linear", start each column (the pattern a latent
            adds) at unit norm and keep it there after every update.

    Returns:
        A ``keras.Sequential`` mapping [batch, latent_dim] to [batch, *data_shape].

    Raises:
        ValueError: for an unknown ``kind`` or a shape it cannot take.
    """
    kind = lookup(kind, DECODERS, "decoder")
    data_shape = tuple(data_shape)
    size = math.prod(data_shape)
    seed = None if seed is None else seed + 1000
    layers = []
    if kind == "conv":
        _check_conv_shape(data_shape)
        height, width, channels = data_shape
        layers += [
            keras.layers.Dense(
                (height // 4) * (width // 4) * 64,
                activation=activation,
                kernel_initializer=_initializer(seed, 0),
            ),
            keras.layers.Reshape((height // 4, width // 4, 64)),
        ]
        for i, filters in enumerate((64, 32)):
            layers.append(
                keras.layers.Conv2DTranspose(
                    filters,
                    3,
                    strides=2,
                    padding="same",
                    activation=activation,
                    kernel_initializer=_initializer(seed, i + 1),
                )
            )
        layers.append(
            keras.layers.Conv2D(
                channels,
                3,
                padding="same",
                activation=output_activation,
                kernel_initializer=_initializer(seed, 100),
            )
        )
        return keras.Sequential(layers, name="decoder")
    if kind == "mlp":
        for i, units in enumerate(hidden_units):
            layers.append(
                keras.layers.Dense(
                    units, activation=activation, kernel_initializer=_initializer(seed, i)
                )
            )
    initializer = _initializer(seed, 100)
    constraint = None
    if unit_norm:
        # The kernel is [latent_dim, size]: each row is one latent's pattern.
        constraint = keras.constraints.UnitNorm(axis=1)
        initializer = UnitNormInitializer(initializer)
    layers += [
        keras.layers.Dense(
            size,
            activation=output_activation,
            kernel_initializer=initializer,
            kernel_constraint=constraint,
        ),
        keras.layers.Reshape(data_shape),
    ]
    return keras.Sequential(layers, name="decoder")


def make_networks(
    encoder,
    decoder,
    data_shape,
    latent_dim,
    encoder_units,
    decoder_units,
    seed,
    activation="relu",
    output_activation=None,
    width=2,
    unit_norm=False,
):
    """The built (encoder, decoder) pair for a model: each one a name (built
    here, with ``activation`` on hidden units and ``output_activation`` on the
    decoder's output) or a Keras layer, checked to map data_shape ->
    2 * latent_dim and latent_dim -> data_shape."""
    data_shape = tuple(data_shape)
    if isinstance(encoder, str):
        encoder = build_encoder(
            encoder, data_shape, latent_dim, encoder_units, seed, activation, width
        )
    if isinstance(decoder, str):
        decoder = build_decoder(
            decoder,
            data_shape,
            latent_dim,
            decoder_units,
            seed,
            activation,
            output_activation,
            unit_norm,
        )
    params = encoder.compute_output_shape((None, *data_shape))
    if tuple(params[1:]) != (width * latent_dim,):
        raise ValueError(
            f"The encoder must output shape (batch, {width * latent_dim}) ({width} numbers "
            f"for each of {latent_dim} latents); it outputs {tuple(params)}."
        )
    encoder.build((None, *data_shape))
    decoder.build((None, latent_dim))
    outputs = decoder.compute_output_shape((None, latent_dim))
    if tuple(outputs[1:]) != data_shape:
        raise ValueError(
            f"The decoder must output the data shape {data_shape}; it outputs {tuple(outputs[1:])}."
        )
    return encoder, decoder
