"""What a trained model gives for data: batched calls and latent codes."""

import numpy as np

from keras_svae.evaluation.checks import model_inputs, positive_int


def batched(function, x, batch_size=1000):
    """Apply ``function`` to ``x`` in batches and concatenate the numpy results.

    Keeps memory bounded when a model is run over a whole test set.

    Args:
        function: maps a batch ``x[i:j]`` to an array with a leading batch axis.
        x: numpy array of examples.
        batch_size: examples per call.

    Returns:
        The results for all of ``x``, concatenated along the batch axis.
    """
    batch_size = positive_int(batch_size, "batch_size")
    if len(x) == 0:
        raise ValueError("x is empty: pass at least one example.")
    return np.concatenate(
        [np.asarray(function(x[i : i + batch_size])) for i in range(0, len(x), batch_size)]
    )


def codes(model, x, batch_size=1000):
    """The posterior's location for each example, the code the metrics use.

    For a Normal posterior this is its mean (and mode); a Cauchy posterior has
    no mean, so its location (median and mode) stands in for it.

    Args:
        model: a built SparseVAE.
        x: examples [n, *data_shape]: a numpy array or a tf.data.Dataset
            (see ``checks.model_inputs``).
        batch_size: examples per encoder call.

    Returns:
        A numpy array [n, latent_dim].

    Examples:
        >>> import numpy as np
        >>> from keras_svae import SparseVAE
        >>> model = SparseVAE(4, data_shape=(8,), encoder_units=(16,), decoder_units=(16,))
        >>> x = np.random.default_rng(0).normal(size=(3, 8)).astype("float32")
        >>> codes(model, x).shape
        (3, 4)
    """
    x = model_inputs(model, x)
    return batched(lambda b: model.encode(b).mode(), x, batch_size)
