"""The SavedModel: a tf.Module with ``decode(z)`` and ``generate(seed, n)``.

``generate`` draws n latents from the prior with the shared sampler
(``keras_svae.export.sampling``) on ``tf.random.stateless_uniform`` seeded
with [seed, 0] (deterministic for a seed, no state) and decodes them.
"""

import math

import tensorflow as tf

from keras_svae.export.sampling import family_parameters, prior_draws, uniform_count


def build_module(model, prior, post):
    """A tf.Module with tf.functions ``decode(z)`` and ``generate(seed, n)``.

    Args:
        model: a built SparseVAE.
        prior: ``loading.prior_parameters(model)``.
        post: ``loading.postprocessing(model)``.

    Returns:
        The module, which tracks only the tf.Variables its functions read, so
        loading the SavedModel needs neither Keras nor keras_svae.
    """

    decoder, likelihood = model.decoder, model.likelihood
    latent_dim = model.latent_dim
    output_shape = list(post["output_shape"])
    dewhitening = (
        None if post["dewhitening"] is None else tf.constant(post["dewhitening"], tf.float32)
    )
    white_mean = None if post["mean"] is None else tf.constant(post["mean"], tf.float32)
    scale = post["scale"]
    loc_t = tf.constant(prior["loc"], tf.float64)
    scale_t = tf.constant(prior["scale"], tf.float64)
    family = prior["family"]
    parameters = family_parameters(prior)  # df, slab_probability

    def decode(z):
        x = likelihood.mean(decoder(z, training=False))
        x = tf.cast(x, tf.float32)
        if dewhitening is not None or scale is not None or list(x.shape[1:]) != output_shape:
            x = tf.reshape(x, [-1, math.prod(post["decoder_shape"])])
            if dewhitening is not None:
                x = tf.matmul(x, dewhitening) + white_mean
            if scale is not None:
                x = x * tf.constant(scale, tf.float32)
            x = tf.reshape(x, [-1, *output_shape])
        return {"images": tf.identity(x, name="images")}

    def generate(seed, n):
        check = tf.debugging.assert_non_negative(n, message="generate: n must be >= 0")
        with tf.control_dependencies([check]):
            key = tf.stack([seed, tf.zeros_like(seed)])
            uniforms = tf.random.stateless_uniform(
                tf.stack([uniform_count(family), n, latent_dim]), seed=key, dtype=tf.float64
            )
        u, v, *rest = tf.unstack(uniforms, num=uniform_count(family))
        extra = {"w": rest[0]} if rest else {}
        z = tf.cast(
            prior_draws(family, loc_t, scale_t, u, v, tf.math, **parameters, **extra), tf.float32
        )
        return {"images": decode(z)["images"], "z": tf.identity(z, name="z")}

    module = tf.Module(name="sparse_vae_decoder")
    module.decode = tf.function(
        decode,
        input_signature=[tf.TensorSpec([None, latent_dim], tf.float32, name="z")],
        autograph=False,
    )
    module.generate = tf.function(
        generate,
        input_signature=[
            tf.TensorSpec([], tf.int64, name="seed"),
            tf.TensorSpec([], tf.int32, name="n"),
        ],
        autograph=False,
    )
    # Track the tf.Variables the traced functions capture (as
    # keras.export.ExportArchive does), not the Keras objects: loading then
    # needs neither Keras nor keras_svae, and the TFLite converter sees plain
    # read-only variables that it freezes into constants.
    captured = {}
    for function in (module.decode, module.generate):
        for variable in function.get_concrete_function().variables:
            captured.setdefault(id(variable), variable)
    module.captured_variables = list(captured.values())
    return module


def write_saved_model(module, path):
    """Save the module with its decode and generate signatures."""

    signatures = {
        "decode": module.decode.get_concrete_function(),
        "generate": module.generate.get_concrete_function(),
    }
    tf.saved_model.save(module, str(path), signatures=signatures)


def signature_specs(function):
    """Input and output shapes and dtypes of a SavedModel signature, for export.json."""

    def spec(t):
        return {"shape": t.shape.as_list(), "dtype": t.dtype.name}

    inputs = function.structured_input_signature[1]
    outputs = function.structured_outputs
    return {
        "inputs": {k: spec(v) for k, v in sorted(inputs.items())},
        "outputs": {k: spec(v) for k, v in sorted(outputs.items())},
    }
