"""TensorBoard image summaries written while a model trains."""

import numpy as np
import pytest
import tensorflow as tf
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

import keras_svae
from keras_svae.callbacks import ImageSummaries
from keras_svae.data import synthetic_patches


def test_image_summaries_reach_tensorboard(tmp_path):
    data = synthetic_patches(400, seed=0)
    model = keras_svae.SparseVAE(latent_dim=3, decoder="linear", encoder_units=(8,), seed=0,
                                 likelihood_scale=0.1)
    model.compile()
    model.fit(data.x, epochs=2, batch_size=100, verbose=0,
              callbacks=[ImageSummaries(tmp_path, data.x[:4])])
    events = EventAccumulator(str(tmp_path / "images"), size_guidance={"tensors": 0}).Reload()
    assert set(events.Tags()["tensors"]) == {"reconstructions", "patterns"}
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
