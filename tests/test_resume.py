"""A run killed with SIGKILL and restarted with the same command keeps finished
variants, continues the interrupted one, and ends where an uninterrupted run ends."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

# Multi-process, long training or benchmarks: outside the fast loop (`-m "not slow"`).
pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]

# The command line's loop (keras_svae.cli.train_main) over two variants; with
# KILL_AT set, the second variant's process kills itself with SIGKILL in the
# middle of that epoch, after the epoch before it was checkpointed.
SCRIPT = textwrap.dedent(
    """
    import os, signal, sys
    import keras
    from keras_svae.experiment import ExperimentConfig, run_variant

    class Kill(keras.callbacks.Callback):
        def __init__(self, epoch):
            super().__init__()
            self.epoch = epoch

        def on_epoch_begin(self, epoch, logs=None):
            self.current = epoch

        def on_train_batch_end(self, batch, logs=None):
            if self.current == self.epoch and batch >= 2:
                os.kill(os.getpid(), signal.SIGKILL)

    out, kill_at = sys.argv[1], int(sys.argv[2])
    for prior in ("normal", "laplace"):
        config = ExperimentConfig(prior=prior, epochs=5, n_train=2000, n_test=500, iwae_k=20,
                                  steps_per_execution=1)
        extra = [Kill(kill_at)] if kill_at >= 0 and prior == "laplace" else []
        run_variant(config, out, callbacks=extra)
    """
)


def _run(out, kill_at):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, "-c", SCRIPT, str(out), str(kill_at)], env=env,
                          capture_output=True, text=True, timeout=600)  # fmt: skip


def test_sigkill_then_rerun_matches_an_uninterrupted_run(tmp_path):
    killed, clean = tmp_path / "killed", tmp_path / "clean"
    first = _run(killed, kill_at=3)
    assert first.returncode == -9, first.stderr[-2000:]  # SIGKILL
    normal_metrics = (killed / "synthetic-normal-z10" / "metrics.json").read_bytes()
    assert not (killed / "synthetic-laplace-z10").exists()
    work = killed / ".synthetic-laplace-z10.partial-run"
    metadata = json.loads((work / "backup" / "training_metadata.json").read_text())
    assert metadata["epoch"] == 3  # epochs 0-2 were checkpointed, epoch 3 was lost

    second = _run(killed, kill_at=-1)
    assert second.returncode == 0, second.stderr[-2000:]
    assert "synthetic-normal-z10: finished earlier, kept" in second.stdout
    assert "synthetic-laplace-z10: continuing after epoch 3" in second.stdout
    assert (killed / "synthetic-normal-z10" / "metrics.json").read_bytes() == normal_metrics
    assert not work.exists()  # the work folder became the final one
    assert not [p for p in killed.iterdir() if p.name.startswith(".")]

    uninterrupted = _run(clean, kill_at=-1)
    assert uninterrupted.returncode == 0, uninterrupted.stderr[-2000:]
    resumed = json.loads((killed / "synthetic-laplace-z10" / "metrics.json").read_text())
    straight = json.loads((clean / "synthetic-laplace-z10" / "metrics.json").read_text())
    # The history spans the kill, and the resumed run retraces the uninterrupted one.
    assert len(resumed["history"]["loss"]) == 5
    np.testing.assert_allclose(resumed["history"]["loss"], straight["history"]["loss"], rtol=1e-4)
    for a, b in zip(_weights(killed / "synthetic-laplace-z10"),
                    _weights(clean / "synthetic-laplace-z10")):  # fmt: skip
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def _weights(folder):
    import keras

    import keras_svae  # noqa: F401  (registers SparseVAE)

    model = keras.models.load_model(folder / "model.keras")
    return [v.numpy() for v in model.trainable_variables]


def test_checkpoint_steps_save_inside_an_epoch(tmp_path):
    """With checkpoint_steps the backup is written every N steps, so a kill
    mid-epoch loses at most N steps: read the backup while epoch 1 runs."""
    import keras

    from keras_svae.experiment import ExperimentConfig, run_variant

    seen = []

    class ReadBackup(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch

        def on_train_batch_end(self, batch, logs=None):
            path = tmp_path / ".synthetic-laplace-z10.partial-run" / "backup"
            path = path / "training_metadata.json"
            if self.epoch == 1 and batch == 7:
                seen.append(json.loads(path.read_text()))

    config = ExperimentConfig(prior="laplace", epochs=2, n_train=2000, n_test=200, iwae_k=5,
                              n_eval=50, steps_per_execution=1, checkpoint_steps=3)  # fmt: skip
    run_variant(config, tmp_path, callbacks=[ReadBackup()], say=lambda message: None)
    # Saved inside epoch 1, at most 3 steps before its batch 7 (epoch-only
    # checkpoints would still say epoch 1, batch 0).
    assert seen and seen[0]["epoch"] == 1 and 5 <= seen[0]["batch"] <= 7, seen
    assert (tmp_path / "synthetic-laplace-z10" / "metrics.json").is_file()


def test_a_run_restored_after_its_last_epoch_keeps_its_weights(tmp_path):
    """Killed between the last epoch's checkpoint and the end of fit, a rerun
    restores the finished weights and trains no epoch (not an error)."""
    import keras

    from keras_svae import SparseVAE

    x = np.random.default_rng(0).normal(size=(200, 9)).astype("float32")

    def model():
        vae = SparseVAE(latent_dim=2, decoder="linear", encoder_units=(8,), seed=0, data_shape=(9,))
        vae.compile()
        return vae

    first = model()
    backup = keras.callbacks.BackupAndRestore(str(tmp_path), delete_checkpoint=False)
    first.fit(x, epochs=2, batch_size=50, verbose=0, callbacks=[backup])
    second = model()
    history = second.fit(x, epochs=2, batch_size=50, verbose=0,
                         callbacks=[keras.callbacks.BackupAndRestore(str(tmp_path))])  # fmt: skip
    assert history.history == {}  # nothing left to train
    for a, b in zip(first.get_weights(), second.get_weights()):
        np.testing.assert_array_equal(a, b)
