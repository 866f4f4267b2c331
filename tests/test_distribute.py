"""tf.distribute: N replicas on a global batch train like one device on it.

Each run is its own process (tests/distributed_training.py): MirroredStrategy
over 2 logical CPU devices, and a 2-process MultiWorkerMirroredStrategy on
127.0.0.1 configured through TF_CONFIG, against a single-device run of the
same seeded model, for every prior, with SGD and the default optimizer.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from keras_svae.checkpoints import checkpoint_state, repair_checkpoint, restore_previous_checkpoint

# Multi-process, long training or benchmarks: outside the fast loop (`-m "not slow"`).
pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "tests" / "distributed_training.py"


def _env(**extra):
    return dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=str(REPO), **extra)


def _run(mode, out, **extra):
    return subprocess.Popen(
        [sys.executable, str(SCRIPT), mode, str(out)],
        env=_env(**extra),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _finish(process, timeout=600):
    output, _ = process.communicate(timeout=timeout)
    assert process.returncode == 0, output[-3000:]


# What a worker prints when its gRPC peer went away (a transient cluster fault).
LOST_PEER = ("Socket closed", "UNAVAILABLE", "Connection reset")


def _wait_together(workers, timeout=600, grace=60):
    """Wait for every worker; once one fails, the others get ``grace`` seconds
    to end before they are killed (their collectives lost a peer). Returns
    ``[(process, output)]``."""
    deadline = time.monotonic() + timeout
    while any(w.poll() is None for w in workers) and time.monotonic() < deadline:
        if any(w.poll() not in (None, 0) for w in workers):
            deadline = min(deadline, time.monotonic() + grace)
        time.sleep(0.5)
    for w in workers:
        if w.poll() is None:
            w.kill()
    return [(w, w.communicate()[0]) for w in workers]


def _free_ports(n):
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def tf_config(ports, index):
    """TF_CONFIG of worker ``index`` in a cluster of local workers."""
    workers = [f"127.0.0.1:{port}" for port in ports]
    return json.dumps({"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}})


@pytest.fixture(scope="module")
def single(tmp_path_factory):
    out = tmp_path_factory.mktemp("single")
    _finish(_run("single", out))
    return dict(np.load(out / "single.npz"))


def _assert_same(reference, distributed):
    assert set(reference) == set(distributed)
    for key in reference:
        np.testing.assert_allclose(
            distributed[key], reference[key], rtol=1e-4, atol=2e-5, err_msg=key
        )
        assert np.all(np.isfinite(distributed[key])), key


def test_mirrored_two_replicas_match_one_device(single, tmp_path):
    _finish(_run("mirrored", tmp_path))
    _assert_same(single, dict(np.load(tmp_path / "mirrored.npz")))


def test_two_workers_match_one_device(single, tmp_path):
    ports = _free_ports(2)
    workers = [
        _run("multi-worker", tmp_path, TF_CONFIG=tf_config(ports, i), TASK_INDEX=str(i))
        for i in range(2)
    ]
    for worker in workers:
        _finish(worker)
    for i in range(2):
        _assert_same(single, dict(np.load(tmp_path / f"multi-worker-{i}.npz")))


@pytest.fixture(params=["mixed_bfloat16", "mixed_float16"])
def policy(request):
    import keras

    keras.mixed_precision.set_global_policy(request.param)
    try:
        yield request.param
    finally:
        keras.mixed_precision.set_global_policy("float32")


@pytest.mark.parametrize("kl", ["auto", "sampled"])
@pytest.mark.parametrize("prior", ["normal", "laplace", "cauchy"])
def test_mixed_precision_trains_every_prior_with_finite_losses(policy, prior, kl):
    import keras

    from keras_svae import SparseVAE

    x = np.random.default_rng(0).normal(size=(300, 25)).astype("float32")
    model = SparseVAE(
        latent_dim=10, prior=prior, decoder="linear", encoder_units=(32,), seed=0, kl=kl
    )
    model.compile()
    history = model.fit(x, batch_size=50, epochs=2, verbose=0)
    assert model.compute_dtype == policy.removeprefix("mixed_")
    scaled = isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
    assert scaled == (policy == "mixed_float16")
    losses = np.array(history.history["loss"] + history.history["kl"])
    assert np.all(np.isfinite(losses)), losses
    assert model.encode(x[:4]).mode().dtype == "float32"  # distributions stay float32
    assert model.decode(np.zeros((2, 10), "float32")).dtype == "float32"
    from keras_svae import evaluation

    bounds = [evaluation.iwae(model, x[:20], k=4, progress=False)]
    if model.posterior_family != "cauchy":  # a Cauchy posterior's ELBO is -inf: refused
        bounds.append(evaluation.elbo(model, x[:20]))
    assert all(np.all(np.isfinite(b)) for b in bounds)  # the bounds in float32 too
    weights = [np.asarray(w, "float32") for w in model.trainable_weights]
    assert all(np.all(np.isfinite(w)) for w in weights)


def _train(out, strategy, **extra):
    """``python -m training.train`` on the synthetic data: one variant, small."""
    command = [sys.executable, "-m", "training.train", "--prior", "laplace", "--epochs", "6",
               "--iwae-k", "5", "--n-eval", "50", "--verbose", "0", "--steps-per-execution", "1",
               "--strategy", strategy, "--out", str(out)]  # fmt: skip
    return subprocess.Popen(
        command, cwd=REPO, env=_env(**extra), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip


def _weights(run_folder):
    import keras

    import keras_svae  # noqa: F401  (registers SparseVAE for loading)

    model = keras.models.load_model(run_folder / "model.keras")
    return [np.asarray(w) for w in model.weights]


def test_a_killed_worker_restarted_ends_like_an_uninterrupted_run(tmp_path):
    """SIGKILL one worker of a 2-worker run after its second checkpoint; the
    other worker then fails (its collectives lose their peer), as in any
    synchronous cluster. Both restarted with the same command continue from
    their checkpoints and end with the weights of a one-process run."""
    clean = _train(tmp_path / "clean", "none")
    _finish(clean)
    out = tmp_path / "cluster"

    def start():  # the workers of the cluster, on ports free now
        ports = _free_ports(2)
        return [_train(out, "multi-worker", TF_CONFIG=tf_config(ports, i)) for i in range(2)]

    workers = start()
    backup = out / ".synthetic-laplace-z10.partial-run" / "backup" / "training_metadata.json"
    deadline = time.monotonic() + 400
    while time.monotonic() < deadline:
        if backup.is_file() and json.loads(backup.read_text() or "{}").get("epoch", 0) >= 2:
            break
        assert workers[0].poll() is None, workers[0].communicate()[0][-3000:]
        time.sleep(0.2)
    else:
        pytest.fail("the 2-worker run did not checkpoint epoch 2 in time")
    workers[1].send_signal(signal.SIGKILL)
    workers[1].wait()
    try:
        workers[0].wait(timeout=60)  # loses its peer: fails, or is stopped like a hung job
    except subprocess.TimeoutExpired:
        workers[0].kill()
        workers[0].wait()
    assert not (out / "synthetic-laplace-z10").exists()  # nothing final was written
    # The workers save their checkpoints one after the other: make them one
    # save apart, as a kill between the two saves leaves them (the one ahead
    # goes back to its previous checkpoint, which each worker keeps).
    backups = [
        out / ".synthetic-laplace-z10.partial-run" / "backup",
        out / ".worker-1" / ".synthetic-laplace-z10.partial-run" / "backup",
    ]
    for b in backups:  # a save the kill cut short: what the restart does first
        repair_checkpoint(b)
    states = [checkpoint_state(b) for b in backups]
    if states[0] == states[1]:
        restore_previous_checkpoint(backups[1])
    states = [checkpoint_state(b).epoch for b in backups]
    assert abs(states[0] - states[1]) == 1, states
    outputs = _restart_together(start, tmp_path / "restart")
    for resumed, reference in zip(
        _weights(out / "synthetic-laplace-z10"),
        _weights(tmp_path / "clean" / "synthetic-laplace-z10"),
    ):
        np.testing.assert_allclose(resumed, reference, rtol=1e-4, atol=1e-5)
    assert any("going back one checkpoint" in o for o in outputs)
    # A second worker that died after the first finished: restarted, the
    # first keeps its run, and the second follows it instead of training alone.
    shutil.rmtree(out / ".worker-1" / "synthetic-laplace-z10")
    outputs = _restart_together(start, tmp_path / "second-restart")
    assert any("finished by the first worker, kept" in o for o in outputs)


def _restart_together(start, logs):
    """Restart the workers together (``start()``), as a cluster manager
    restarts a failed job, until all succeed. A worker whose first collective
    meets a peer still starting (or one that has already ended) can fail with
    gRPC's "Socket closed"; the manager then restarts both again, at most
    twice. Returns every output of every attempt; each is also kept in
    ``logs`` for a failure's reader."""
    logs.mkdir()
    seen = []
    for attempt in range(3):
        outputs = _wait_together(start())
        for i, (_, output) in enumerate(outputs):
            (logs / f"attempt-{attempt}-worker-{i}.log").write_text(output)
        seen += [output for _, output in outputs]
        if all(w.returncode == 0 for w, _ in outputs):
            return seen
        transient = all(w.returncode == 0 or any(m in o for m in LOST_PEER) for w, o in outputs)
        assert transient and attempt < 2, "\n".join(
            f"--- worker {i}, exit {w.returncode}:\n{o[-2000:]}" for i, (w, o) in enumerate(outputs)
        )
