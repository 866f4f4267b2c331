"""Data sets for sparse VAEs: each loader builds a tf.data pipeline for model.fit."""

from keras_svae.data.synthetic import SyntheticPatches, synthetic_patches, true_bases

__all__ = ["SyntheticPatches", "synthetic_patches", "true_bases"]
