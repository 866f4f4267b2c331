"""Command-line programs that train the paper's experiments (thin: see
keras_svae.experiment for the logic)."""
