"""Export a trained SparseVAE's decoder as a generator: SavedModel and TFLite.

``export_decoder(model_or_path, out_dir)`` writes one folder::

    out_dir/
      saved_model/            signatures decode(z) and generate(seed, n)
      decoder.tflite          float32, for LiteRT (ai_edge_litert) on phones / MCUs
      decoder_float16.tflite  with quantize=("float16",): float16 weights
      decoder_dynamic.tflite  with quantize=("dynamic",): int8 weights (dynamic range)
      export.json             latent size, prior, shapes, preprocessing, files, parity

What every exported decoder computes, for latents z of shape [n, latent_dim]:

1. the Keras decoder's outputs (likelihood parameters), then the likelihood's
   mean (sigmoid for Bernoulli, identity for Gaussian);
2. the inverse of the data pipeline's preprocessing recorded in
   ``model.metadata`` (see below), as TF ops inside the graph;
3. a reshape to the data's own shape.

``generate(seed, n)`` (SavedModel only) draws n latents from the prior with
the shared sampler (``sampling``) on ``tf.random.stateless_uniform``
(deterministic for a seed, no state) and decodes them. The TFLite files hold
``decode`` only: random ops would need Flex ops, so on device the latents are
drawn outside the graph, with numpy and the same sampler (``generator``), from
the prior parameters in export.json.

Modules, one job each: ``layout`` (file names, bounds, errors), ``sampling``
(the prior sampler, numpy or TF), ``loading`` (the model, its prior,
postprocessing), ``graph`` (the SavedModel), ``tflite`` (conversion, op check,
running), ``parity``, ``exporter`` (``export_decoder``) and ``generator`` (the
LiteRT generator). ``layout``, ``sampling`` and ``generator`` need no
TensorFlow.

Preprocessing read from ``model.metadata`` (all optional; the layout of
``keras_svae.data.DatasetInfo.to_config()`` works as is):

- ``"whitening"``: a fitted ``keras_svae.data.whitening.Whitening.get_config()``
  dict; decoded vectors are mapped back with ``y @ V + mean`` (V the
  whitening's ``dewhitening_matrix``);
- ``"scale"``: the number the data were divided by; decoded values are
  multiplied by it (after de-whitening, as ``DatasetInfo.undo_preprocessing``);
- ``"patch_shape"`` (or ``metadata["preprocessing"]["patch_shape"]``): the
  pixel shape of one example, used when the model worked on flat vectors.

Per-patch mean removal cannot be undone (the means are not kept), so exported
patches are mean-free.

Parity is measured at every export on ``PARITY_SAMPLES`` (1,000) latent vectors
drawn from the prior (seeded). The reference is the Keras decoder plus the
likelihood mean, with the preprocessing undone in float64 numpy; compared with
it are the SavedModel's ``decode``, the SavedModel's ``generate`` (on its own
draws) and each TFLite file. For each latent vector, the largest absolute
difference over its output values is divided by ``max(1, largest |reference
value| of that vector)``: the *scaled difference*, which equals the absolute
difference for outputs within [-1, 1] (images in [0, 1]) and is the relative
difference for larger outputs, where float32 itself cannot resolve 1e-5 (its
spacing at 600 is 6e-5, and a Cauchy prior's rare huge draws give such
outputs). The export fails (``ParityError``, nothing written) when

- float32 (SavedModel decode and generate, decoder.tflite): the maximum over
  the latents of the scaled difference exceeds 1e-5;
- float16 weights (decoder_float16.tflite): its 99th percentile exceeds 1e-2;
- dynamic-range int8 (decoder_dynamic.tflite): its 99th percentile exceeds 1e-1.

Quantized files are held to the 99th percentile because their error grows with
the latent's size: rare Cauchy draws in the thousands push 8-bit activations
(and float16 weights times huge inputs) far off, which no bound that still
catches a broken conversion could absorb. export.json reports the maximum, 99th
percentile and median of the absolute differences and the maximum and 99th
percentile of the scaled ones. Typical values for an MLP decoder with [0, 1]
outputs: float32 <= 1e-6, float16 ~1e-4, dynamic ~3e-3.

The export is written into a hidden temporary folder next to ``out_dir`` and
renamed into place at the very end, so an interrupted or failed export leaves
no partial output folder.
"""

from keras_svae import HAS_TENSORFLOW
from keras_svae.export.generator import (
    GenerateError,
    Generator,
    image_grid,
    read_export_info,
    write_png,
)
from keras_svae.export.layout import (
    EXPORT_JSON,
    FORMAT_VERSION,
    PARITY_BOUNDS,
    PARITY_SAMPLES,
    PARITY_SEED,
    PARITY_STATISTIC,
    QUANTIZATIONS,
    SAVED_MODEL_DIR,
    TFLITE_FILES,
    VARIANTS,
    ExportError,
    ParityError,
)
from keras_svae.export.sampling import prior_draws, sample_prior, standard_draws

if HAS_TENSORFLOW:
    from keras_svae.export.exporter import export_decoder
    from keras_svae.export.loading import (
        load_sparse_vae,
        postprocessing,
        prior_parameters,
        reference_decode,
    )
    from keras_svae.export.parity import measure_parity
    from keras_svae.export.tflite import check_builtin_only, run_tflite, tflite_ops

__all__ = [
    "EXPORT_JSON",
    "FORMAT_VERSION",
    "PARITY_BOUNDS",
    "PARITY_SAMPLES",
    "PARITY_SEED",
    "PARITY_STATISTIC",
    "QUANTIZATIONS",
    "SAVED_MODEL_DIR",
    "TFLITE_FILES",
    "VARIANTS",
    "ExportError",
    "GenerateError",
    "Generator",
    "ParityError",
    "check_builtin_only",
    "export_decoder",
    "image_grid",
    "load_sparse_vae",
    "measure_parity",
    "postprocessing",
    "prior_draws",
    "prior_parameters",
    "read_export_info",
    "reference_decode",
    "run_tflite",
    "sample_prior",
    "standard_draws",
    "tflite_ops",
    "write_png",
]
