"""The benchmark's reference model: a VAE written by hand with ``keras.ops``.

Every model of the benchmark shares its MLP architecture (the constants here),
so a ratio to the baseline measures what SparseVAE's abstractions cost.
"""

import keras
import tensorflow as tf

DATA_DIM = 784
ENCODER_UNITS = (512, 256)
DECODER_UNITS = (256, 512)


class BaselineVAE(keras.Model):
    """The reference: a VAE as one would write it by hand in Keras 3.

    Same MLPs, the same softplus + 1e-4 posterior scale, a Normal(0, 1) prior
    with its KL written out, the Bernoulli log-likelihood as binary cross-
    entropy on logits, and the same three loss metrics as SparseVAE. No TFP,
    no data checks.
    """

    def __init__(
        self,
        latent_dim,
        data_dim=DATA_DIM,
        encoder_units=ENCODER_UNITS,
        decoder_units=DECODER_UNITS,
        seed=0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.latent_dim = latent_dim
        dense = keras.layers.Dense
        self.encoder = keras.Sequential(
            [dense(u, activation="relu") for u in encoder_units] + [dense(2 * latent_dim)],
            name="encoder",
        )
        self.decoder = keras.Sequential(
            [dense(u, activation="relu") for u in decoder_units] + [dense(data_dim)], name="decoder"
        )
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.reconstruction_tracker = keras.metrics.Mean(name="reconstruction")
        self.kl_tracker = keras.metrics.Mean(name="kl")
        self.build((None, data_dim))

    def build(self, input_shape):
        self.encoder.build(input_shape)
        self.decoder.build((None, self.latent_dim))
        self.built = True

    @property
    def metrics(self):
        return [self.loss_tracker, self.reconstruction_tracker, self.kl_tracker]

    def call(self, x, training=False):
        loc, _ = keras.ops.split(self.encoder(x, training=training), 2, axis=-1)
        return keras.ops.sigmoid(self.decoder(loc, training=training))

    def losses_of(self, x):
        ops = keras.ops
        loc, raw_scale = ops.split(self.encoder(x, training=True), 2, axis=-1)
        scale = ops.softplus(raw_scale) + 1e-4
        eps = keras.random.normal(ops.shape(loc), seed=self.seed_generator)
        logits = self.decoder(loc + scale * eps, training=True)
        reconstruction = ops.mean(
            ops.sum(ops.binary_crossentropy(x, logits, from_logits=True), axis=-1)
        )
        kl = ops.mean(
            0.5 * ops.sum(ops.square(loc) + ops.square(scale) - 1.0 - 2.0 * ops.log(scale), axis=-1)
        )
        return reconstruction + kl, reconstruction, kl

    def train_step(self, x):
        with tf.GradientTape() as tape:
            loss, reconstruction, kl = self.losses_of(x)
        gradients = tape.gradient(loss, self.trainable_weights)
        self.optimizer.apply(gradients, self.trainable_weights)
        self.loss_tracker.update_state(loss)
        self.reconstruction_tracker.update_state(reconstruction)
        self.kl_tracker.update_state(kl)
        return {m.name: m.result() for m in self.metrics}
