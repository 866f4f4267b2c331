"""TensorBoard summaries written while a model trains, and the KL warm-up."""

import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

import keras_svae
from keras_svae import evaluation
from keras_svae.callbacks import ImageSummaries, KLWarmUp, SparsitySummaries, WarnOnCollapse
from keras_svae.data import synthetic_patches

# Multi-process, long training or benchmarks: outside the fast loop (`-m "not slow"`).
pytestmark = pytest.mark.slow


def test_image_summaries_reach_tensorboard(tmp_path):
    data = synthetic_patches(400, seed=0)
    model = keras_svae.SparseVAE(
        latent_dim=3, decoder="linear", encoder_units=(8,), seed=0, likelihood_scale=0.1
    )
    model.compile()
    model.fit(
        data.x,
        epochs=2,
        batch_size=100,
        verbose=0,
        callbacks=[ImageSummaries(tmp_path, data.x[:4])],
    )
    events = EventAccumulator(str(tmp_path / "images"), size_guidance={"tensors": 0}).Reload()
    assert set(events.Tags()["tensors"]) == {"reconstructions", "patterns", "prior_samples"}
    patterns = events.Tensors("patterns")
    assert [event.step for event in patterns] == [0, 1]
    # An image summary holds width, height, then one PNG per image.
    width, height, *pngs = tf.make_ndarray(patterns[-1].tensor_proto)
    assert (int(width), int(height)) == (5, 5)
    assert len(pngs) == 3 and all(png.startswith(b"\x89PNG") for png in pngs)
    width, height, *pairs = tf.make_ndarray(events.Tensors("reconstructions")[-1].tensor_proto)
    assert (int(width), int(height)) == (10, 5) and len(pairs) == 4  # input beside reconstruction


def test_image_summaries_refuse_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="every must be an integer >= 1"):
        ImageSummaries(tmp_path, np.zeros((2, 4)), every=0)
    with pytest.raises(ValueError, match="at least one example"):
        ImageSummaries(tmp_path, np.zeros((0, 4)))


def test_sparsity_summaries_reach_tensorboard_without_touching_the_training_seed(tmp_path):
    data = synthetic_patches(400, seed=0)
    runs = {}
    for name, callbacks in (
        ("plain", []),
        (
            "logged",
            [SparsitySummaries(tmp_path, data.x[:200]), ImageSummaries(tmp_path, data.x[:4])],
        ),
    ):
        model = keras_svae.SparseVAE(
            latent_dim=3,
            decoder="linear",
            encoder_units=(8,),
            seed=0,
            likelihood_scale=0.1,
            prior="cauchy",
            posterior="normal",
        )
        model.compile()
        model.fit(data.x, epochs=2, batch_size=100, verbose=0, shuffle=False, callbacks=callbacks)
        runs[name] = [v.numpy() for v in model.trainable_variables]
    for plain, logged in zip(runs["plain"], runs["logged"], strict=True):
        np.testing.assert_allclose(plain, logged, rtol=1e-5, atol=1e-6)
    events = EventAccumulator(str(tmp_path / "sparsity"), size_guidance={"tensors": 0}).Reload()
    tags = set(events.Tags()["tensors"])
    # A Normal posterior under a Cauchy prior has a sampled KL: no collapse scalar.
    assert "collapsed_fraction" not in tags
    for tag in (
        "active_units",
        "hoyer",
        "explained_variance",
        "kl_total",
        "kl/z0",
        "kl/z2",
        "posterior_means",
        "kl_per_latent",
    ):
        assert tag in tags, tag
    steps = [event.step for event in events.Tensors("active_units")]
    assert steps == [0, 1]
    active = float(tf.make_ndarray(events.Tensors("active_units")[-1].tensor_proto))
    assert 0 <= active <= 3
    histogram = tf.make_ndarray(events.Tensors("kl_per_latent")[-1].tensor_proto)
    assert histogram.ndim == 2 and histogram.shape[1] == 3  # (left, right, count) buckets


def warm_up_model():
    """A small compiled model whose KL weight ramps to beta = 2."""
    model = keras_svae.SparseVAE(
        latent_dim=3, decoder="linear", encoder_units=(8,), seed=0, likelihood_scale=0.1, beta=2.0
    )
    model.compile()
    return model


class KLWeightWatch(keras.callbacks.Callback):
    """Records the KL weight after every training step."""

    def __init__(self):
        super().__init__()
        self.seen = []

    def on_train_batch_end(self, batch, logs=None):
        self.seen.append(float(self.model.kl_weight.numpy()))


def test_kl_warm_up_ramps_the_kl_weight_to_beta():
    data = synthetic_patches(400, seed=0)
    model = warm_up_model()
    watch = KLWeightWatch()
    seen = watch.seen
    model.fit(data.x, epochs=4, batch_size=100, verbose=0, callbacks=[KLWarmUp(2), watch])
    # 4 steps an epoch: the weight rises over the first 8 steps, then stays at beta.
    assert seen[0] == 0.0
    assert all(a <= b for a, b in zip(seen, seen[1:]))
    assert seen[4] == pytest.approx(1.0) and seen[8:] == [2.0] * 8
    assert float(model.kl_weight.numpy()) == 2.0
    with pytest.raises(ValueError, match="KLWarmUp epochs must be a number > 0"):
        KLWarmUp(0)


def test_sparsity_summaries_log_collapse_for_a_closed_form_kl(tmp_path):
    data = synthetic_patches(200, seed=0)
    model = keras_svae.SparseVAE(latent_dim=3, prior="laplace", posterior="normal",
                                 decoder="linear", encoder_units=(8,), seed=0)  # fmt: skip
    model.compile()
    model.fit(data.x, epochs=1, batch_size=100, verbose=0,
              callbacks=[SparsitySummaries(tmp_path, data.x[:100])])  # fmt: skip
    events = EventAccumulator(str(tmp_path / "sparsity"), size_guidance={"tensors": 0}).Reload()
    collapsed = float(tf.make_ndarray(events.Tensors("collapsed_fraction")[-1].tensor_proto))
    assert 0.0 <= collapsed <= 1.0 and np.isclose(collapsed * 3, round(collapsed * 3))  # of 3


def test_kl_warm_up_counts_epochs_on_data_of_unknown_length(tmp_path):
    data = synthetic_patches(400, seed=0)
    # filter() hides the length: Keras does not know the steps of an epoch.
    dataset = tf.data.Dataset.from_tensor_slices(data.x).batch(100).filter(lambda x: True)
    assert int(dataset.cardinality()) == tf.data.UNKNOWN_CARDINALITY
    model = warm_up_model()
    watch = KLWeightWatch()
    seen = watch.seen
    history = model.fit(
        dataset,
        epochs=3,
        verbose=0,
        callbacks=[KLWarmUp(5), keras.callbacks.TensorBoard(str(tmp_path)), watch],
    )
    # 4 steps an epoch, the ramp over 5 epochs: 0, 0.4, 0.8 (beta 2), one value an epoch.
    assert seen == pytest.approx([0.0] * 4 + [0.4] * 4 + [0.8] * 4)
    assert history.history["kl_weight"] == pytest.approx([0.0, 0.4, 0.8])
    events = EventAccumulator(str(tmp_path / "train"), size_guidance={"tensors": 0}).Reload()
    logged = [float(tf.make_ndarray(e.tensor_proto)) for e in events.Tensors("epoch_kl_weight")]
    assert logged == pytest.approx([0.0, 0.4, 0.8])


def test_the_guide_names_the_tensorboard_tags_keras_writes(tmp_path):
    import re
    from pathlib import Path

    readme = (Path(__file__).parents[1] / "docs" / "guides" / "training.md").read_text()
    paragraph = readme[readme.index("`tensorboard --logdir logs`") :].split("\n\n")[0]
    named = set(re.findall(r"`(epoch_\w+)`", paragraph))
    runs = set(re.findall(r"`(train|validation)`", paragraph))
    assert {"epoch_loss", "epoch_kl", "epoch_kl_weight"} <= named and runs == {
        "train",
        "validation",
    }
    data = synthetic_patches(200, seed=0)
    model = keras_svae.SparseVAE(latent_dim=2, decoder="linear", encoder_units=(8,), seed=0)
    model.compile()
    model.fit(data.x, epochs=1, batch_size=100, validation_data=data.x[:50], verbose=0,
              callbacks=[KLWarmUp(2), keras.callbacks.TensorBoard(str(tmp_path))])  # fmt: skip
    tags = {}
    for run in runs:
        events = EventAccumulator(str(tmp_path / run), size_guidance={"tensors": 0}).Reload()
        tags[run] = set(events.Tags()["tensors"])
    assert named <= tags["train"], (named, tags)
    assert named - {"epoch_kl_weight"} <= tags["validation"], (named, tags)


def test_kl_warm_up_continues_in_a_run_restored_by_backup_and_restore(tmp_path):
    data = synthetic_patches(200, seed=0)
    model = keras_svae.SparseVAE(latent_dim=2, decoder="linear", encoder_units=(8,), seed=0)
    model.compile()

    class StopAtEpoch2(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 2:
                raise KeyboardInterrupt  # a killed run, after 2 checkpointed epochs

    backup = keras.callbacks.BackupAndRestore(str(tmp_path))
    with pytest.raises(KeyboardInterrupt):
        model.fit(data.x, epochs=4, batch_size=100, verbose=0,
                  callbacks=[backup, KLWarmUp(4), StopAtEpoch2()])  # fmt: skip
    model.kl_weight.assign(0.0)
    restore = keras.callbacks.BackupAndRestore(str(tmp_path))
    watch = KLWeightWatch()
    model.fit(data.x, epochs=4, batch_size=100, verbose=0,
              callbacks=[restore, KLWarmUp(4), watch])  # fmt: skip
    # Epochs 2 and 3 of a 4-epoch ramp, two steps each: 2/4, 2.5/4, 3/4, 3.5/4.
    assert watch.seen == pytest.approx([0.5, 0.625, 0.75, 0.875])


@pytest.mark.parametrize("beta, collapses", [(5000.0, True), (1.0, False)])
def test_warn_on_collapse_says_so_in_one_line_only_for_a_collapsed_model(beta, collapses):
    """A KL weight of 5,000 switches every latent off: at the end of training the
    callback warns once, in one line, with the numbers and the settings that fix
    it. The same model at beta 1 learns the patches and gets no warning."""
    data = synthetic_patches(2000, seed=0)
    test = synthetic_patches(500, seed=1)
    model = keras_svae.SparseVAE(latent_dim=10, decoder="linear", encoder_units=(32,), seed=0,
                                 likelihood_scale=0.1, beta=beta)  # fmt: skip
    model.compile(optimizer=keras.optimizers.Adam(6e-3))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(data.x, epochs=3, batch_size=100, verbose=0, callbacks=[WarnOnCollapse(test.x)])
    said = [str(w.message) for w in caught if "posterior collapse" in str(w.message)]
    kl = evaluation.kl_per_latent(model, test.x).sum()  # closed form: no draws
    error = np.mean((np.asarray(model.reconstruct(test.x)) - test.x) ** 2)
    explained = 1.0 - error / np.mean(np.var(test.x, axis=0))
    if not collapses:
        assert said == [] and kl > 1.0 and explained > 0.1
        return
    assert len(said) == 1 and "\n" not in said[0], said
    assert said[0].startswith(
        f"posterior collapse: explained variance {explained:.3g} < 0.1 and test KL {kl:.3g} "
        "nats < 1 on the data given to WarnOnCollapse"
    )
    assert "learn_likelihood_scale=False" in said[0] and "--kl-warmup-epochs" in said[0]


def test_warn_on_collapse_refuses_too_few_examples():
    with pytest.raises(ValueError, match="WarnOnCollapse needs at least 2 examples"):
        WarnOnCollapse(np.zeros((1, 4)))
