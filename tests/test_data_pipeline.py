"""make_dataset and DatasetInfo: the helper every loader ends in."""

import json

import numpy as np
import pytest
import tensorflow as tf

from keras_svae.data.pipeline import DatasetInfo, make_dataset
from keras_svae.data.whitening import Whitening


def epoch(ds):
    return [tuple(t.numpy() for t in b) if isinstance(b, tuple) else b.numpy() for b in ds]


def test_each_epoch_is_a_permutation_with_labels_aligned():
    x = np.arange(50, dtype=np.float32)[:, None] * np.ones((1, 3), np.float32)
    y = np.arange(50) * 10
    ds = make_dataset(x, y, batch_size=8, seed=3)
    orders = []
    for _ in range(2):
        batches = epoch(ds)
        assert [len(b[0]) for b in batches] == [8] * 6 + [2]
        xs = np.concatenate([b[0] for b in batches])
        ys = np.concatenate([b[1] for b in batches])
        np.testing.assert_array_equal(ys, xs[:, 0] * 10)  # labels travel with their example
        assert sorted(xs[:, 0].tolist()) == list(range(50))
        orders.append(xs[:, 0])
    assert not np.array_equal(orders[0], orders[1]), "should reshuffle every epoch"
    assert not np.array_equal(orders[0], np.arange(50)), "should shuffle"


def test_shuffle_orders_reproducible_from_seed():
    x = np.arange(40)
    a = make_dataset(x, batch_size=10, seed=7)
    b = make_dataset(x, batch_size=10, seed=7)
    c = make_dataset(x, batch_size=10, seed=8)
    ea = [np.concatenate(epoch(a)) for _ in range(2)]
    eb = [np.concatenate(epoch(b)) for _ in range(2)]
    np.testing.assert_array_equal(ea[0], eb[0])
    np.testing.assert_array_equal(ea[1], eb[1])
    assert not np.array_equal(ea[0], np.concatenate(epoch(c)))


def test_no_shuffle_keeps_order_and_drop_remainder():
    ds = make_dataset(np.arange(10), batch_size=4, shuffle=False, drop_remainder=True)
    np.testing.assert_array_equal(np.concatenate(epoch(ds)), np.arange(8))
    assert ds.element_spec.shape.as_list() == [4]


def test_map_batch_gets_fresh_reproducible_seeds():
    def noise(x, seed):
        return tf.random.stateless_uniform(tf.shape(x), seed=seed)

    def make():
        x = np.zeros((6, 2), np.float32)
        return make_dataset(x, batch_size=3, shuffle=False, seed=1, map_batch=noise)

    d1, d2 = make(), make()
    e1 = [np.concatenate(epoch(d1)) for _ in range(2)]
    e2 = [np.concatenate(epoch(d2)) for _ in range(2)]
    assert not np.allclose(e1[0], e1[1])
    np.testing.assert_array_equal(e1[0], e2[0])
    np.testing.assert_array_equal(e1[1], e2[1])
    b = epoch(d1)
    assert not np.allclose(b[0], b[1]), "each batch should get its own seed"


def test_bad_arguments():
    with pytest.raises(ValueError, match="no examples"):
        make_dataset(np.zeros((0, 3)))
    with pytest.raises(ValueError, match="labels"):
        make_dataset(np.zeros((4, 3)), np.zeros(3))
    with pytest.raises(ValueError, match="batch_size"):
        make_dataset(np.zeros((4, 3)), batch_size=0)


def test_info_steps_undo_and_json():
    rng = np.random.default_rng(0)
    pixels = rng.normal(size=(500, 6)) @ rng.normal(size=(6, 6))
    w = Whitening("zca", epsilon=1e-9).fit(pixels / 2.0)
    info = DatasetInfo(
        name="t",
        split="train",
        num_examples=10,
        batch_size=4,
        element_shape=(6,),
        value_range=(0.0, 1.0),
        scale=2.0,
        whitening=w,
    )
    assert info.steps_per_epoch == 3
    np.testing.assert_allclose(
        info.undo_preprocessing(w.transform(pixels / 2.0)), pixels, atol=1e-4
    )
    config = json.loads(json.dumps(info.to_config()))
    w2 = Whitening.from_config(config["whitening"])
    np.testing.assert_allclose(w2.transform(pixels), w.transform(pixels))


def test_synthetic_loader_matches_generator_and_is_seeded():
    from keras_svae.data import load_synthetic, synthetic_patches

    dataset, info = load_synthetic(500, seed=3, batch_size=100, shuffle=False, with_labels=True)
    x, coefficients = next(iter(dataset))
    reference = synthetic_patches(500, seed=3)
    np.testing.assert_array_equal(x.numpy(), reference.x[:100])
    np.testing.assert_array_equal(coefficients.numpy(), reference.coefficients[:100])
    assert info.element_shape == (5, 5, 1) and info.num_examples == 500
    np.testing.assert_array_equal(info.extra["bases"], reference.bases)
    first = next(iter(load_synthetic(500, seed=3)[0])).numpy()
    again = next(iter(load_synthetic(500, seed=3)[0])).numpy()
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, reference.x[:100])  # shuffled


def test_epochs_dataset_orders_depend_on_seed_and_epoch_only():
    from keras_svae.data import make_epochs_dataset

    x = np.arange(10, dtype=np.float32)[:, None]
    whole = [b.numpy()[:, 0].tolist() for b in make_epochs_dataset(x, 4, seed=3, epochs=3)]
    assert len(whole) == 9  # 3 batches (4, 4, 2) per epoch
    for epoch in range(3):
        assert sorted(sum(whole[3 * epoch : 3 * epoch + 3], [])) == list(range(10))
    assert whole[:3] != whole[3:6]  # a new order each epoch
    resumed = [b.numpy()[:, 0].tolist() for b in make_epochs_dataset(x, 4, 3, 3, first_epoch=1)]
    assert resumed == whole[3:]  # a run resumed at epoch 1 sees the same batches
    other = [b.numpy()[:, 0].tolist() for b in make_epochs_dataset(x, 4, seed=4, epochs=3)]
    assert other != whole
    with pytest.raises(ValueError, match=r"first_epoch must be in \[0, 3\)"):
        make_epochs_dataset(x, 4, 3, 3, first_epoch=3)
