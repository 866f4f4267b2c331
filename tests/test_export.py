"""Exported decoders (keras_svae.export, python -m export, export.generate).

Two exports run once per module: a Bernoulli MLP decoder through the command
line (SavedModel + float32, float16 and dynamic TFLite), and a Gaussian decoder
whose data were ZCA-whitened and scaled (its export must undo both), exported
with overwrite=True over a stale folder. The SavedModels are then loaded in a
fresh Python process that cannot import keras_svae; the LiteRT generator runs
in one that cannot import TensorFlow or Keras.
"""

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp
from scipy import stats

from keras_svae import SparseVAE
from keras_svae import export as ex
from keras_svae.cli import export_main, generate_main
from keras_svae.data.whitening import Whitening
from keras_svae.export.exporter import sha256

tfd = tfp.distributions
REPO = Path(__file__).resolve().parents[1]
SCIPY_PRIORS = {"normal": stats.norm, "laplace": stats.laplace, "cauchy": stats.cauchy}


def _env(with_repo=True):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    env["PYTHONPATH"] = str(REPO) if with_repo else ""
    return env


def _leftovers(parent, name):
    return [p.name for p in Path(parent).iterdir() if p.name.startswith(f".{name}.")]


# ------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def bernoulli(tmp_path_factory):
    """(model, export folder, export.json) for a CLI export with both quantizations."""
    root = tmp_path_factory.mktemp("bernoulli")
    model = SparseVAE(
        latent_dim=4,
        prior="laplace",
        prior_scale=1.5,
        data_shape=(5, 5, 1),
        decoder="mlp",
        likelihood="bernoulli",
        seed=0,
    )
    model.save(root / "model.keras")
    out = root / "exported"
    rc = export_main(
        [
            "--model",
            str(root / "model.keras"),
            "--out",
            str(out),
            "--quantize",
            "float16",
            "--quantize",
            "dynamic",
            "--quiet",
        ]
    )
    assert rc == 0
    info = json.loads((out / "export.json").read_text())
    return model, out, info


@pytest.fixture(scope="module")
def whitened(tmp_path_factory):
    """A Gaussian model on ZCA-whitened, scaled 6x6 patches (flat), Cauchy prior."""
    root = tmp_path_factory.mktemp("whitened")
    rng = np.random.default_rng(3)
    patches = rng.normal(size=(500, 36)) @ rng.normal(size=(36, 36)) * 0.2
    whitening = Whitening("zca", epsilon=1e-2).fit(patches)
    metadata = {"whitening": whitening.get_config(), "scale": 2.5, "patch_shape": [6, 6, 1]}
    model = SparseVAE(
        latent_dim=3,
        prior="cauchy",
        prior_scale=0.5,
        data_shape=(36,),
        decoder="mlp",
        decoder_units=(16,),
        seed=1,
        metadata=json.loads(json.dumps(metadata)),
    )
    out = root / "exported"
    out.mkdir()
    (out / "stale.txt").write_text("from an earlier export")
    info = ex.export_decoder(model, out, overwrite=True)
    return model, out, info, whitening


@pytest.fixture(scope="module")
def fresh_process_results(bernoulli, whitened, tmp_path_factory):
    """Both SavedModels run by a Python that never imports (nor can import) keras_svae."""
    work = tmp_path_factory.mktemp("fresh")
    z = np.random.default_rng(5).normal(size=(300, 4)).astype(np.float32) * 3
    np.save(work / "z_bernoulli.npy", z)
    np.save(work / "z_whitened.npy", z[:, :3])
    script = textwrap.dedent(f"""
        import json, sys
        import numpy as np
        import tensorflow as tf
        results = {{}}
        folders = [("bernoulli", {str(bernoulli[1])!r}), ("whitened", {str(whitened[1])!r})]
        for name, folder in folders:
            loaded = tf.saved_model.load(folder + "/saved_model")
            decode, generate = loaded.signatures["decode"], loaded.signatures["generate"]
            z = np.load(f"z_{{name}}.npy")
            out = {{"signatures": np.array(sorted(loaded.signatures))}}
            out["decoded"] = decode(z=tf.constant(z))["images"].numpy()
            for key, seed, n in [("a", 0, 2000), ("b", 0, 2000), ("c", 1, 2000)]:
                g = generate(seed=tf.constant(seed, tf.int64), n=tf.constant(n))
                out[f"gen_{{key}}_images"] = g["images"].numpy()
                out[f"gen_{{key}}_z"] = g["z"].numpy()
            np.savez(f"{{name}}.npz", **out)
        bad = sorted(m for m in sys.modules if m.split(".")[0] == "keras_svae")
        assert not bad, bad
        print("ok")
    """)
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=work,
        env=_env(with_repo=False),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().endswith("ok")
    return {name: dict(np.load(work / f"{name}.npz")) for name in ("bernoulli", "whitened")} | {
        "z": z
    }


def _ks_pvalue(z, prior):
    loc = np.asarray(prior["loc"])
    scale = np.asarray(prior["scale"])
    standard = ((z - loc) / scale).ravel()
    return stats.kstest(standard, SCIPY_PRIORS[prior["family"]].cdf).pvalue


# ------------------------------------------------------------ export.json
@pytest.mark.slow
def test_export_folder_and_json(bernoulli):
    model, out, info = bernoulli
    names = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert {
        "export.json",
        "decoder.tflite",
        "decoder_float16.tflite",
        "decoder_dynamic.tflite",
        "saved_model/saved_model.pb",
    } <= names
    assert not _leftovers(out.parent, out.name)
    assert info["latent_dim"] == 4
    assert info["prior"]["family"] == "laplace"
    assert info["prior"]["loc"] == [0.0] * 4 and info["prior"]["scale"] == [1.5] * 4
    assert info["input"] == {"name": "z", "shape": [None, 4], "dtype": "float32"}
    assert info["output"]["shape"] == [None, 5, 5, 1]
    assert info["output"]["dtype"] == "float32"
    assert info["output"]["value_range"] == [0.0, 1.0]
    assert info["preprocessing"]["likelihood_mean"] == "sigmoid"
    assert info["preprocessing"]["whitening"] is None
    sig = info["saved_model"]["signatures"]
    assert sig["decode"]["inputs"]["z"] == {"shape": [None, 4], "dtype": "float32"}
    assert sig["generate"]["inputs"] == {
        "n": {"shape": [], "dtype": "int32"},
        "seed": {"shape": [], "dtype": "int64"},
    }
    assert sig["generate"]["outputs"]["images"]["shape"] == [None, 5, 5, 1]
    for variant in ("float32", "float16", "dynamic"):
        assert info["tflite"][variant]["inputs"]["z"]["shape"] == [None, 4]
        assert info["tflite"][variant]["outputs"]["images"]["shape"] == [None, 5, 5, 1]
    # Every file but export.json is listed with its true size and SHA-256.
    listed = {row["path"]: row for row in info["files"]}
    assert set(listed) == names - {"export.json"}
    for path, row in listed.items():
        assert row["bytes"] == (out / path).stat().st_size
        assert row["sha256"] == sha256(out / path)


def test_parity_is_measured_and_within_bounds(bernoulli):
    _, _, info = bernoulli
    parity = info["parity"]
    assert parity["n_latents"] == 1000
    results = parity["results"]
    assert set(results) == {
        "saved_model.decode",
        "saved_model.generate",
        "tflite.float32",
        "tflite.float16",
        "tflite.dynamic",
    }
    for name in ("saved_model.decode", "saved_model.generate", "tflite.float32"):
        assert results[name]["max_abs_diff"] <= 1e-5  # outputs in [0, 1]: absolute
        assert results[name]["checked"] == "max_scaled_diff"
        assert results[name]["bound"] == 1e-5 and results[name]["ok"]
    for name, bound in (("tflite.float16", 1e-2), ("tflite.dynamic", 1e-1)):
        assert results[name]["checked"] == "p99_scaled_diff"
        assert results[name]["bound"] == bound
        assert results[name]["p99_abs_diff"] <= bound
        assert results[name]["ok"]
    # Quantized weights do change the numbers: the parity is measured, not assumed.
    assert results["tflite.float16"]["max_abs_diff"] > results["tflite.float32"]["max_abs_diff"]


def test_quantized_files_are_smaller(bernoulli):
    _, out, info = bernoulli
    size = {v: (out / ex.TFLITE_FILES[v]).stat().st_size for v in ex.VARIANTS}
    assert size["float16"] < 0.6 * size["float32"]
    assert size["dynamic"] < 0.4 * size["float32"]
    assert info["tflite"]["dynamic"]["size_vs_float32"] == pytest.approx(
        size["dynamic"] / size["float32"]
    )


# ------------------------------------------------------------- SavedModel
@pytest.mark.slow
def test_saved_model_in_fresh_process_matches_keras(bernoulli, fresh_process_results):
    model, _, info = bernoulli
    got = fresh_process_results["bernoulli"]
    z = fresh_process_results["z"]
    assert list(got["signatures"]) == ["decode", "generate"]
    np.testing.assert_allclose(got["decoded"], model.decode(z).numpy(), rtol=0, atol=1e-5)
    # generate decodes its own latents like the Keras decoder does.
    np.testing.assert_allclose(
        got["gen_a_images"], model.decode(got["gen_a_z"]).numpy(), rtol=0, atol=1e-5
    )
    assert got["gen_a_images"].shape == (2000, 5, 5, 1)


@pytest.mark.slow
def test_saved_model_generate_is_deterministic_per_seed(fresh_process_results):
    got = fresh_process_results["bernoulli"]
    np.testing.assert_array_equal(got["gen_a_z"], got["gen_b_z"])
    np.testing.assert_array_equal(got["gen_a_images"], got["gen_b_images"])
    assert not np.allclose(got["gen_a_z"], got["gen_c_z"])
    assert np.abs(got["gen_a_images"] - got["gen_c_images"]).max() > 1e-3


@pytest.mark.slow
def test_saved_model_generate_draws_from_the_prior(bernoulli, whitened, fresh_process_results):
    for (_, _, info, *_), name in ((bernoulli, "bernoulli"), (whitened, "whitened")):
        z = fresh_process_results[name]["gen_a_z"]
        assert _ks_pvalue(z, info["prior"]) > 0.01
    # The test has power: Laplace draws are not Normal ones.
    z = fresh_process_results["bernoulli"]["gen_a_z"]
    assert _ks_pvalue(z, dict(bernoulli[2]["prior"], family="normal")) < 1e-3


@pytest.mark.slow
def test_whitened_export_undoes_preprocessing(whitened, fresh_process_results):
    model, out, info, whitening = whitened
    assert not (out / "stale.txt").exists()  # overwrite replaced the old folder
    assert not _leftovers(out.parent, out.name)
    assert info["output"]["shape"] == [None, 6, 6, 1]
    assert info["preprocessing"]["whitening"]["method"] == "zca"
    assert info["preprocessing"]["scale"] == 2.5
    z = fresh_process_results["z"][:, :3]
    # The colleague's numpy inverse, independently of the export code.
    expected = whitening.inverse_transform(model.decode(z).numpy().astype(np.float64)) * 2.5
    got = fresh_process_results["whitened"]["decoded"]
    assert got.shape == (300, 6, 6, 1)
    scale = max(1.0, np.abs(expected).max())
    np.testing.assert_allclose(got.reshape(300, 36), expected, rtol=0, atol=1e-5 * scale)
    # ... and it is not the whitened output itself.
    assert np.abs(got.reshape(300, 36) - model.decode(z).numpy()).max() > 0.1
    g = fresh_process_results["whitened"]
    np.testing.assert_allclose(
        g["gen_a_images"].reshape(2000, 36),
        whitening.inverse_transform(model.decode(g["gen_a_z"]).numpy().astype(np.float64)) * 2.5,
        rtol=0,
        atol=1e-5 * max(1.0, np.abs(g["gen_a_images"]).max()),
    )


# ------------------------------------------------------------------ TFLite
def test_tflite_files_run_in_litert_and_match_keras(bernoulli):
    from ai_edge_litert.interpreter import Interpreter

    model, out, info = bernoulli
    z = np.random.default_rng(11).laplace(scale=1.5, size=(64, 4)).astype(np.float32)
    expected = model.decode(z).numpy()
    for variant, tolerance in (("float32", 1e-5), ("float16", 1e-2), ("dynamic", 1e-1)):
        interpreter = Interpreter(model_path=str(out / ex.TFLITE_FILES[variant]))
        (z_in,), (x_out,) = interpreter.get_input_details(), interpreter.get_output_details()
        interpreter.resize_tensor_input(z_in["index"], z.shape)
        interpreter.allocate_tensors()
        interpreter.set_tensor(z_in["index"], z)
        interpreter.invoke()
        got = interpreter.get_tensor(x_out["index"])
        assert got.shape == (64, 5, 5, 1) and got.dtype == np.float32
        assert np.abs(got - expected).max() <= tolerance, variant


def test_tflite_graphs_have_no_flex_or_custom_ops(bernoulli):
    from ai_edge_litert.interpreter import Interpreter

    _, out, info = bernoulli
    for variant in ex.VARIANTS:
        path = out / ex.TFLITE_FILES[variant]
        # The interpreter's own op list (what it will execute) ...
        ops = [op["op_name"] for op in Interpreter(model_path=str(path))._get_ops_details()]
        assert ops and "FULLY_CONNECTED" in ops
        assert not [op for op in ops if op.startswith("Flex") or op in ("CUSTOM", "DELEGATE")]
        # ... and the flatbuffer's operator codes.
        codes = ex.tflite_ops(path)
        assert all(c["custom_code"] is None and c["name"] != "CUSTOM" for c in codes)
        assert sorted({c["name"] for c in codes}) == info["tflite"][variant]["ops"]


def test_flex_op_check_detects_flex_ops():
    """The op check on a real graph that needs Flex ops (a stateless random op)."""
    fn = tf.function(
        lambda x: x + tf.random.stateless_uniform(tf.shape(x), seed=[1, 2]),
        input_signature=[tf.TensorSpec([None, 2], tf.float32)],
    )
    converter = tf.lite.TFLiteConverter.from_concrete_functions([fn.get_concrete_function()], fn)
    converter.target_spec.supported_ops = [
        tf.lite.OpsSet.TFLITE_BUILTINS,
        tf.lite.OpsSet.SELECT_TF_OPS,
    ]
    ops = ex.tflite_ops(converter.convert())
    assert any((op["custom_code"] or "").startswith("Flex") for op in ops)
    with pytest.raises(ex.ExportError, match="Flex or custom ops"):
        ex.check_builtin_only(ops)


# -------------------------------------------------------- export.generate
def test_generate_cli_uses_litert_and_numpy_only(bernoulli, tmp_path):
    model, out, info = bernoulli
    script = textwrap.dedent(f"""
        import sys
        # A device without TensorFlow or Keras: their imports fail here.
        for name in ("tensorflow", "keras", "tf_keras"):
            sys.modules[name] = None
        import numpy as np
        import keras_svae
        from keras_svae.export.generator import Generator
        assert not keras_svae.HAS_TENSORFLOW
        generator = Generator({str(out)!r}, "dynamic")
        images, z = generator.generate(200, seed=3)
        assert images.shape == (200, 5, 5, 1) and z.shape == (200, 4), (images.shape, z.shape)
        assert np.array_equal(generator.decode(z), images)
        np.savez("direct.npz", images=images, z=z)
        from keras_svae.cli import generate_main as main
        for seed, name in [(0, "a"), (0, "b"), (1, "c")]:
            assert main([{str(out)!r}, "--n", "1500", "--seed", str(seed),
                         "--out", name + ".png", "--npz", name + ".npz"]) == 0
        assert main([{str(out)!r}, "--n", "9", "--variant", "float16", "--out", "f16.png"]) == 0
        heavy = sorted(m for m, module in sys.modules.items() if module is not None
                       and m.split(".")[0] in ("tensorflow", "keras", "tf_keras", "tensorboard"))
        assert not heavy, heavy
    """)
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    direct = np.load(tmp_path / "direct.npz")
    np.testing.assert_allclose(
        direct["images"], model.decode(direct["z"]).numpy(), rtol=0, atol=1e-1
    )
    a, b, c = (np.load(tmp_path / f"{k}.npz") for k in "abc")
    np.testing.assert_array_equal(a["images"], b["images"])
    np.testing.assert_array_equal(a["z"], b["z"])
    assert np.abs(a["images"] - c["images"]).max() > 1e-3
    assert a["images"].shape == (1500, 5, 5, 1)
    assert _ks_pvalue(a["z"], info["prior"]) > 0.01
    np.testing.assert_allclose(a["images"], model.decode(a["z"]).numpy(), rtol=0, atol=1e-5)
    import matplotlib.image

    grid = matplotlib.image.imread(tmp_path / "a.png")
    # 1500 tiles in 39 columns x 39 rows of 35 px (5 px tiles enlarged 7x) + 1 px gaps.
    assert grid.shape == (39 * 36 + 1, 39 * 36 + 1)
    assert (tmp_path / "f16.png").stat().st_size > 0


def test_generate_cli_errors(bernoulli, tmp_path, capsys):
    _, out, _ = bernoulli
    assert generate_main([str(tmp_path / "nothing"), "--out", str(tmp_path / "g.png")]) == 1
    assert "Export folder not found" in capsys.readouterr().err
    assert generate_main([str(tmp_path), "--out", str(tmp_path / "g.png")]) == 1
    assert "no export.json" in capsys.readouterr().err
    assert generate_main([str(out), "--out", str(tmp_path / "missing" / "g.png")]) == 1
    assert "does not exist" in capsys.readouterr().err
    assert not (tmp_path / "g.png").exists()


# -------------------------------------------------------------- bad input
def test_missing_model_file(tmp_path, capsys):
    rc = export_main(["--model", str(tmp_path / "nope.keras"), "--out", str(tmp_path / "o")])
    assert rc == 1
    assert "Model file not found" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("content", [b"this is not a zip archive", "truncated"])
def test_corrupt_model_file(bernoulli, tmp_path, content):
    real = (bernoulli[1].parent / "model.keras").read_bytes()
    path = tmp_path / "model.keras"
    path.write_bytes(real[: len(real) // 2] if content == "truncated" else content)
    with pytest.raises(ex.ExportError, match="corrupt or not a Keras 3 .keras archive"):
        ex.export_decoder(path, tmp_path / "o")
    assert not (tmp_path / "o").exists() and not _leftovers(tmp_path, "o")


def test_model_that_is_not_a_sparse_vae(tmp_path):
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(25)])
    model.save(tmp_path / "seq.keras")
    with pytest.raises(ex.ExportError, match="holds a Sequential, not a keras_svae.SparseVAE"):
        ex.export_decoder(tmp_path / "seq.keras", tmp_path / "o")
    with pytest.raises(ex.ExportError, match="not a keras_svae.SparseVAE"):
        ex.export_decoder(model, tmp_path / "o")
    assert not (tmp_path / "o").exists()


def test_folder_and_non_keras_paths(tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "model.keras").write_bytes(b"")
    with pytest.raises(ex.ExportError, match=r"is a folder.*did you mean .*model.keras"):
        ex.load_sparse_vae(tmp_path / "run")
    (tmp_path / "weights.h5").write_bytes(b"")
    with pytest.raises(ex.ExportError, match="not a .keras file"):
        ex.load_sparse_vae(tmp_path / "weights.h5")


def test_existing_output_folder_is_refused(bernoulli, capsys):
    _, out, _ = bernoulli
    before = (out / "export.json").read_bytes()
    rc = export_main(["--model", str(out.parent / "model.keras"), "--out", str(out)])
    assert rc == 1
    err = capsys.readouterr().err
    assert "already exists" in err and "--overwrite" in err
    assert (out / "export.json").read_bytes() == before


def test_overwrite_refuses_to_delete_the_model(bernoulli, tmp_path):
    model = bernoulli[0]
    model.save(tmp_path / "model.keras")
    with pytest.raises(ex.ExportError, match="would delete the model"):
        ex.export_decoder(tmp_path / "model.keras", tmp_path, overwrite=True)
    assert (tmp_path / "model.keras").exists()


def test_unwritable_output_path(bernoulli, tmp_path):
    model = bernoulli[0]
    (tmp_path / "a_file").write_text("x")
    with pytest.raises(ex.ExportError, match="not a writable folder"):
        ex.export_decoder(model, tmp_path / "a_file" / "sub" / "out")
    if os.geteuid() != 0:  # root ignores permission bits
        locked = tmp_path / "locked"
        locked.mkdir()
        locked.chmod(0o500)
        try:
            with pytest.raises(ex.ExportError, match="not a writable folder"):
                ex.export_decoder(model, locked / "out")
        finally:
            locked.chmod(0o700)


def test_bad_options_and_unsupported_prior(bernoulli, tmp_path):
    with pytest.raises(ex.ExportError, match="Unknown quantization 'int4'"):
        ex.export_decoder(bernoulli[0], tmp_path / "o", quantize=("int4",))

    def logistic(latent_dim, dtype):
        return tfd.Independent(
            tfd.Logistic(loc=tf.zeros(latent_dim), scale=1.0),
            reinterpreted_batch_ndims=1,
        )

    model = SparseVAE(latent_dim=2, prior=logistic, data_shape=(4,), decoder="linear")
    with pytest.raises(ex.ExportError, match="export can sample only Normal, Laplace"):
        ex.export_decoder(model, tmp_path / "o")
    unbuilt = SparseVAE(latent_dim=2)
    with pytest.raises(ex.ExportError, match="not built"):
        ex.export_decoder(unbuilt, tmp_path / "o")
    assert not (tmp_path / "o").exists() and not _leftovers(tmp_path, "o")


def test_bad_whitening_metadata(tmp_path):
    model = SparseVAE(
        latent_dim=2,
        data_shape=(9,),
        decoder="linear",
        metadata={"whitening": Whitening("zca").get_config()},
    )
    with pytest.raises(ex.ExportError, match="unfitted Whitening"):
        ex.export_decoder(model, tmp_path / "o")
    fitted = Whitening("zca").fit(np.random.default_rng(0).normal(size=(50, 4)))
    model.metadata = {"whitening": fitted.get_config()}
    with pytest.raises(ex.ExportError, match="decoder emits 9 values"):
        ex.export_decoder(model, tmp_path / "o")


@pytest.mark.parametrize(
    "stop_at, existing",
    [
        ("writing saved_model", False),
        ("converting decoder.tflite", False),
        ("measuring parity", True),
        ("moving into place", True),
    ],
)
def test_interrupted_export_leaves_no_partial_folder(bernoulli, tmp_path, stop_at, existing):
    model = bernoulli[0]
    out = tmp_path / "out"
    if existing:
        out.mkdir()
        (out / "old.txt").write_text("keep me")

    def progress(message):
        if message.startswith(stop_at):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        ex.export_decoder(model, out, overwrite=existing, progress=progress)
    assert not _leftovers(tmp_path, "out")
    if existing:  # the old folder is untouched
        assert sorted(p.name for p in out.iterdir()) == ["old.txt"]
    else:
        assert not out.exists()


def test_a_killed_exports_leftovers_are_removed_by_the_next_export(bernoulli, tmp_path):
    model, _, _ = bernoulli
    stale = tmp_path / ".out.partial-abc123"
    stale.mkdir()
    (stale / "decoder.tflite").write_bytes(b"half")
    other = tmp_path / ".another-run.partial-run"  # someone else's work in progress
    other.mkdir()
    ex.export_decoder(model, tmp_path / "out", parity_samples=50)
    assert not stale.exists() and other.is_dir()
    assert (tmp_path / "out" / "export.json").is_file()


def test_a_failed_overwrite_keeps_the_existing_export(bernoulli, tmp_path):
    model, _, _ = bernoulli
    ex.export_decoder(model, tmp_path / "out", parity_samples=50)
    before = (tmp_path / "out" / "export.json").read_bytes()
    with pytest.raises(ex.ExportError, match="parity_samples must be >= 1"):
        ex.export_decoder(model, tmp_path / "out", overwrite=True, parity_samples=0)
    with pytest.raises(ex.ExportError, match="Unknown quantization"):
        ex.export_decoder(model, tmp_path / "out", overwrite=True, quantize="int4")
    assert (tmp_path / "out" / "export.json").read_bytes() == before
    assert not _leftovers(tmp_path, "out")


def test_an_output_folder_that_appears_during_the_export_is_kept(bernoulli, tmp_path):
    """Without overwrite, a folder another process writes meanwhile is not replaced."""
    model, _, _ = bernoulli
    out = tmp_path / "out"

    def progress(message):
        if message.startswith("measuring parity"):
            out.mkdir()
            (out / "theirs.txt").write_text("another run")

    with pytest.raises(ex.ExportError, match="appeared during the export"):
        ex.export_decoder(model, out, parity_samples=20, progress=progress)
    assert sorted(p.name for p in out.iterdir()) == ["theirs.txt"]
    assert not _leftovers(tmp_path, "out")


def test_an_output_path_under_a_file_is_refused(bernoulli, tmp_path):
    (tmp_path / "a_file").write_text("x")
    with pytest.raises(ex.ExportError, match="a_file is not a writable folder"):
        ex.export_decoder(bernoulli[0], tmp_path / "a_file" / "out")
    assert (tmp_path / "a_file").read_text() == "x"


def test_generator_refuses_an_unknown_prior_family(bernoulli, tmp_path):
    folder = tmp_path / "copy"
    shutil.copytree(bernoulli[1], folder)
    info = json.loads((folder / "export.json").read_text())
    info["prior"]["family"] = "student"
    (folder / "export.json").write_text(json.dumps(info))
    with pytest.raises(ex.GenerateError, match=r"export.json: Unknown prior family 'student'"):
        ex.Generator(folder)


def test_generate_entry_points_do_not_import_tensorflow(bernoulli, tmp_path):
    """Where TensorFlow is installed, `python -m export.generate` and the
    console script still import only numpy and LiteRT (TensorFlow took 6.6 of
    the command's 8.7 s). `-X importtime` lists every module a process imports."""
    _, out, _ = bernoulli
    launcher = tmp_path / "keras-svae-generate"  # what pip writes for the console script
    launcher.write_text("import sys\nfrom keras_svae.cli import generate_main\n"
                        "sys.exit(generate_main())\n")  # fmt: skip
    for program in (["-m", "export.generate"], [str(launcher)]):
        grid = tmp_path / f"{len(program)}.png"
        command = [sys.executable, "-X", "importtime", *program, str(out), "--out", str(grid)]
        done = subprocess.run(
            command, cwd=REPO, env=_env(), capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr[-3000:]
        imported = {line.split("|")[-1].strip() for line in done.stderr.splitlines() if "|" in line}
        assert "numpy" in imported and grid.stat().st_size > 0
        heavy = sorted(m for m in imported if m.split(".")[0] in ("tensorflow", "keras"))
        assert not heavy, heavy[:5]
