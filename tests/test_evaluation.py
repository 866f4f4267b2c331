"""keras_svae.evaluation: each metric against a case whose answer is known.

Real models (small, trained for a second or two where training matters), real
TensorFlow and scikit-learn; no mocks.
"""

import json

import keras
import numpy as np
import pytest
import scipy.integrate
import scipy.optimize
import scipy.stats
import tensorflow as tf
import tensorflow_probability as tfp
from scipy.stats import multivariate_normal

import keras_svae
from keras_svae import evaluation

tfd = tfp.distributions

DATA_DIM, LATENT_DIM, NOISE = 6, 2, 0.5


def _linear_gaussian_problem(seed=0, n=1000):
    """x = A z + b + NOISE * eps with z ~ N(0, I): log p(x) is exactly
    log N(x; b, A A^T + NOISE^2 I). A's columns are nearly orthogonal, so the
    true posterior is nearly (not exactly) factorised."""
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.normal(size=(DATA_DIM, LATENT_DIM)))
    A = q * [2.0, 1.5] + 0.2 * rng.normal(size=(DATA_DIM, LATENT_DIM))
    b = 0.3 * rng.normal(size=DATA_DIM)
    z = rng.normal(size=(n, LATENT_DIM))
    x = (z @ A.T + b + NOISE * rng.normal(size=(n, DATA_DIM))).astype(np.float32)
    return A, b, x


@pytest.fixture(scope="module")
def linear_gaussian():
    """A SparseVAE whose decoder is the true x = A z + b (set by hand, frozen)
    and whose encoder was trained to approximate the posterior."""
    keras.utils.set_random_seed(0)
    A, b, x = _linear_gaussian_problem()
    model = keras_svae.SparseVAE(
        latent_dim=LATENT_DIM,
        prior="normal",
        decoder="linear",
        likelihood="gaussian",
        likelihood_scale=NOISE,
        data_shape=(DATA_DIM,),
        encoder_units=(32,),
        seed=0,
    )
    model.decoder.layers[0].set_weights([A.T.astype(np.float32), b.astype(np.float32)])
    model.decoder.trainable = False
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    model.fit(x, epochs=20, batch_size=100, verbose=0)
    np.testing.assert_allclose(model.decoder.layers[0].get_weights()[0], A.T, rtol=1e-6)
    exact = multivariate_normal(b, A @ A.T + NOISE**2 * np.eye(DATA_DIM)).logpdf(x)
    return model, x, exact


# ------------------------------------------------------------------ likelihood
@pytest.mark.slow
def test_iwae_approaches_exact_log_likelihood(linear_gaussian):
    model, x, exact = linear_gaussian
    x, exact = x[:20], exact[:20]
    errors = {
        k: evaluation.iwae(model, x, k=k, seed=1, progress=False) - exact for k in (1, 100, 5000)
    }
    mean_abs = {k: float(np.mean(np.abs(e))) for k, e in errors.items()}
    assert mean_abs[1] > mean_abs[100] > mean_abs[5000], mean_abs
    worst = float(np.max(np.abs(errors[5000])))
    assert worst < 0.05, f"|IWAE(k=5000) - log p(x)| up to {worst:.3f} nats; {mean_abs}"
    # The ELBO is the looser bound: its gap (the mean-field KL to the true
    # posterior) stays however many draws average its expectation.
    elbo = evaluation.elbo(model, x, n_samples=2000, seed=0)
    assert elbo.mean() < exact.mean() - 0.01
    assert elbo.mean() < (exact + errors[5000]).mean()


def test_iwae_uses_exactly_k_samples_in_uneven_chunks(linear_gaussian):
    model, x, exact = linear_gaussian
    estimate = evaluation.iwae(model, x[:8], k=4999, chunk_size=1000, seed=3, progress=False)
    assert np.max(np.abs(estimate - exact[:8])) < 0.05
    # One sample per chunk, two examples per call, the progress bar on.
    single = evaluation.iwae(model, x[:3], k=7, chunk_size=1, batch_size=2, seed=4)
    assert single.shape == (3,) and np.all(np.isfinite(single))


@pytest.mark.slow
def test_iwae_and_elbo_are_exact_when_q_is_the_true_posterior():
    """With orthogonal columns of A the true posterior factorises, and an
    encoder set by hand to it makes every weight p(x, z) / q(z given x) equal
    p(x): then any k, in any chunks, gives log p(x) exactly, so a sample too
    many or too few, or a wrong 1/k, shows."""
    rng = np.random.default_rng(1)
    q, _ = np.linalg.qr(rng.normal(size=(DATA_DIM, LATENT_DIM)))
    A, b = q * [2.0, 1.5], 0.3 * rng.normal(size=DATA_DIM)
    x = rng.normal(size=(10, LATENT_DIM)) @ A.T + b + NOISE * rng.normal(size=(10, DATA_DIM))
    x = x.astype(np.float32)
    cov = np.linalg.inv(np.eye(LATENT_DIM) + A.T @ A / NOISE**2)  # diagonal
    gain = cov @ A.T / NOISE**2  # mean = gain (x - b)
    model = keras_svae.SparseVAE(
        latent_dim=LATENT_DIM,
        prior="normal",
        decoder="linear",
        likelihood_scale=NOISE,
        data_shape=(DATA_DIM,),
        encoder_units=(2 * DATA_DIM,),
    )
    model.decoder.layers[0].set_weights([A.T.astype(np.float32), b.astype(np.float32)])
    # relu([x, -x]) then gain x - gain b; the scale's raw output is constant.
    eye = np.eye(DATA_DIM)
    hidden = [np.concatenate([eye, -eye], axis=1), np.zeros(2 * DATA_DIM)]
    kernel = np.zeros((2 * DATA_DIM, 2 * LATENT_DIM))
    kernel[:, :LATENT_DIM] = np.concatenate([gain.T, -gain.T])
    raw_scale = np.log(np.expm1(np.sqrt(np.diag(cov)) - 1e-4))  # softplus + 1e-4 = std
    bias = np.concatenate([-gain @ b, raw_scale])
    model.encoder.layers[1].set_weights([w.astype(np.float32) for w in hidden])
    model.encoder.layers[2].set_weights([kernel.astype(np.float32), bias.astype(np.float32)])
    exact = multivariate_normal(b, A @ A.T + NOISE**2 * np.eye(DATA_DIM)).logpdf(x)
    for k, chunk_size in ((1, None), (3, 2), (10, 3), (7, 7)):
        estimate = evaluation.iwae(model, x, k=k, chunk_size=chunk_size, seed=k, progress=False)
        np.testing.assert_allclose(estimate, exact, atol=2e-3, err_msg=f"k={k}")
    # The ELBO's gap is KL(q || posterior) = 0 here too, but its estimate (the
    # likelihood term sampled, the KL in closed form) is exact only on average.
    elbo = evaluation.elbo(model, x, n_samples=5000, seed=0)
    np.testing.assert_allclose(elbo, exact, atol=0.03)


def test_iwae_and_elbo_repeat_with_a_seed(linear_gaussian):
    model, x, _ = linear_gaussian
    first = evaluation.iwae(model, x[:5], k=10, seed=7, progress=False)
    np.testing.assert_array_equal(
        first, evaluation.iwae(model, x[:5], k=10, seed=7, progress=False)
    )
    assert not np.array_equal(first, evaluation.iwae(model, x[:5], k=10, seed=8, progress=False))
    per_example = evaluation.elbo(model, x[:5], seed=7)
    np.testing.assert_array_equal(per_example, evaluation.elbo(model, x[:5], seed=7))
    weights = np.array([1.0, 0.0, 2.0, 0.0, 1.0])
    weighted = evaluation.elbo(model, x[:5], weights=weights, seed=7)
    assert weighted == pytest.approx(np.average(per_example, weights=weights))


@pytest.mark.slow
def test_cauchy_iwae_is_stable_where_the_elbo_is_not():
    """Cauchy posterior, Gaussian likelihood: E_q[z^2] is infinite, so the
    ELBO is minus infinity and single-draw estimates scatter wildly; the IWAE
    weights are bounded, and k = 5,000 estimates agree."""
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    A = rng.normal(size=(8, 3))
    x = (rng.laplace(size=(1000, 3)) @ A.T + 0.3 * rng.normal(size=(1000, 8))).astype(np.float32)
    model = keras_svae.SparseVAE(
        latent_dim=3,
        prior="cauchy",
        decoder="linear",
        likelihood="gaussian",
        likelihood_scale=0.3,
        data_shape=(8,),
        encoder_units=(32,),
        seed=0,
    )
    assert model.posterior_family == "cauchy"
    model.compile(optimizer=keras.optimizers.Adam(1e-2, global_clipnorm=10.0))
    model.fit(x, epochs=20, batch_size=100, verbose=0)
    data = x[:100]
    iwae_means = [
        evaluation.iwae(model, data, k=5000, seed=s, progress=False).mean() for s in range(10)
    ]
    # Single-draw ELBO estimates: the IWAE at k = 1 (evaluation.elbo refuses
    # a Cauchy posterior, its ELBO being minus infinity).
    elbo_means = [
        evaluation.iwae(model, data, k=1, seed=s, progress=False).mean() for s in range(10)
    ]
    iwae_spread, elbo_spread = np.ptp(iwae_means), np.ptp(elbo_means)
    message = (
        f"spread (max - min) of 10 mean estimates over 100 examples: IWAE(k=5000) "
        f"{iwae_spread:.3f} nats, single-draw ELBO {elbo_spread:.1f} nats; IWAE "
        f"{np.round(iwae_means, 2).tolist()}, ELBO {np.round(elbo_means, 1).tolist()}"
    )
    assert np.all(np.isfinite(iwae_means)), message
    assert iwae_spread < 1.0, message
    assert elbo_spread > 20 * iwae_spread, message


def test_likelihood_bad_input(linear_gaussian):
    model, x, _ = linear_gaussian
    with pytest.raises(ValueError, match="k must be an integer >= 1"):
        evaluation.iwae(model, x[:2], k=0, progress=False)
    with pytest.raises(ValueError, match=r"has shape \(5,\), but the model expects \(6,\)"):
        evaluation.iwae(model, x[:2, :5], k=5, progress=False)
    with pytest.raises(ValueError, match="NaN"):
        evaluation.elbo(model, np.full((2, DATA_DIM), np.nan))
    with pytest.raises(ValueError, match="one weight per example"):
        evaluation.elbo(model, x[:3], weights=[1.0, 1.0])
    with pytest.raises(ValueError, match="not all zero"):
        evaluation.elbo(model, x[:2], weights=[0.0, 0.0])
    unbuilt = keras_svae.SparseVAE(latent_dim=2)
    with pytest.raises(ValueError, match="not built"):
        evaluation.iwae(unbuilt, x[:2], k=2, progress=False)


# -------------------------------------------------------------------- sparsity
def test_hoyer_is_one_for_one_hot_and_zero_for_constant_codes():
    one_hot = np.eye(5)[np.arange(50) % 5]
    assert evaluation.hoyer_sparsity(one_hot) == pytest.approx(1.0)
    assert evaluation.hoyer_sparsity(3.0 * np.ones((50, 5))) == pytest.approx(0.0)
    # Standardised: rescaling one latent changes nothing.
    codes = np.random.default_rng(0).laplace(size=(200, 4))
    rescaled = codes * [1.0, 100.0, 0.01, 1.0]
    assert evaluation.hoyer_sparsity(rescaled) == pytest.approx(evaluation.hoyer_sparsity(codes))
    with pytest.raises(ValueError, match="at least 2"):
        evaluation.hoyer_sparsity(np.ones((10, 1)))


def test_l0_curve_counts_exact_zeros_and_thresholds():
    codes = np.array([[0.0, 0.5], [-0.05, 2.0]])
    curve = evaluation.l0_curve(codes, [0.0, 0.05, 0.5, 10.0])
    np.testing.assert_allclose(curve, [0.25, 0.5, 0.75, 1.0])
    with pytest.raises(ValueError, match=">= 0"):
        evaluation.l0_curve(codes, [-1.0])


def test_active_units_counts_latents_that_vary():
    rng = np.random.default_rng(0)
    codes = np.stack([rng.normal(size=100), 0.01 * rng.normal(size=100), np.ones(100)], axis=1)
    kl = [1.0, 1.0, 1.0]  # every latent pays KL; only the first one's code moves
    np.testing.assert_array_equal(evaluation.active_latents(codes, kl=kl), [True, False, False])
    assert evaluation.active_units(codes, kl=kl) == 1
    assert evaluation.collapsed_fraction(codes, kl=kl) == pytest.approx(2 / 3)
    # The variance test is in the prior's units: a prior of scale 20 needs more.
    assert evaluation.active_units(codes, kl=kl, scale=20.0) == 0
    assert evaluation.active_units(codes, kl=None) == 1  # sparse coding: no KL to test
    with pytest.raises(ValueError, match="shape"):
        evaluation.active_units(np.ones(5), kl=[1.0])
    with pytest.raises(ValueError, match="kl has 2 latents but latent_codes has 3"):
        evaluation.active_latents(codes, kl=[1.0, 1.0])
    with pytest.raises(ValueError, match="kl_margin must be a number > 0"):
        evaluation.active_latents(codes, kl=kl, kl_margin=0.0)


# The examples (issue 20, item 4): sparsity numbers must not reward collapse.
def test_fully_collapsed_codes_have_no_hoyer_sparsity():
    rng = np.random.default_rng(0)
    codes = 1e-3 * rng.normal(size=(500, 10))  # locations that barely move
    kl = np.full(10, 1e-4)
    informative = evaluation.active_latents(codes, kl=kl)
    assert not informative.any()
    assert evaluation.hoyer_sparsity(codes, informative) is None
    assert evaluation.collapsed_fraction(codes, kl=kl) == 1.0
    one = np.arange(10) == 3  # one informative latent: still no sparsity to measure
    assert evaluation.hoyer_sparsity(codes, one) is None
    with pytest.raises(ValueError, match="boolean mask with one entry per latent"):
        evaluation.hoyer_sparsity(codes, np.ones(3, bool))


def test_dense_normal_codes_keep_their_low_hoyer_sparsity():
    codes = np.random.default_rng(0).normal(size=(2000, 10))
    kl = np.full(10, 0.5)
    informative = evaluation.active_latents(codes, kl=kl)
    assert informative.all()
    assert 0.2 < evaluation.hoyer_sparsity(codes, informative) < 0.35  # about 0.27


def test_latents_with_a_tenth_of_a_nat_each_are_not_active():
    """25 latents whose codes move but whose KL is 0.1 nats each: not 25 in use."""
    codes = np.random.default_rng(0).normal(size=(300, 25))
    assert evaluation.active_units(codes, kl=np.full(25, 0.1)) == 0
    assert evaluation.active_units(codes, kl=np.full(25, 0.12)) == 25
    # Above a floor (a Normal posterior under a Laplace prior: 0.048 nats) it takes more.
    assert evaluation.active_units(codes, kl=np.full(25, 0.12), floor=0.048) == 0


def test_a_latent_always_zero_is_collapsed_whatever_its_kl():
    """A thresholded latent below its threshold for every input: code always 0,
    yet it pays KL (here 0.3 nats); and a latent stuck at a constant."""
    rng = np.random.default_rng(0)
    codes = np.stack([rng.laplace(size=400), np.zeros(400), np.full(400, 2.5)], axis=1)
    terms = np.tile([1.2, 0.3, 2.0], (400, 1))  # per-example KL
    np.testing.assert_array_equal(evaluation.active_latents(codes, kl=terms), [True, False, False])
    assert evaluation.collapsed_fraction(codes, kl=terms) == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="NaN"):
        evaluation.collapsed_fraction(codes, kl=np.full((400, 3), np.nan))


def test_a_spike_and_slab_latent_switched_off_for_every_input_is_collapsed():
    model = keras_svae.SparseVAE(latent_dim=4, prior="spike_slab", posterior="spike_slab",
                                 data_shape=(6,), encoder_units=(16,), seed=0)  # fmt: skip
    kernel, bias = model.encoder.layers[-1].get_weights()
    kernel, bias = 3.0 * kernel, bias.copy()
    bias[8:] = 3.0  # the slabs on: every latent in use ...
    kernel[:, 8 + 1], bias[8 + 1] = 0.0, -30.0  # ... but latent 1, off for every input
    model.encoder.layers[-1].set_weights([kernel, bias])
    x = np.random.default_rng(0).normal(size=(300, 6)).astype(np.float32)
    kl = evaluation.kl_per_latent(model, x)
    assert kl[1] > 0.5, kl  # it pays about log 2 nats, far above its floor of 0
    assert np.all(evaluation.codes(model, x)[:, 1] == 0.0)
    informative = evaluation.informative_latents(model, x)
    assert not informative[1] and informative.sum() == 3, informative
    assert evaluation.posterior_collapse(model, x) == pytest.approx(0.25)


def _collapse_latent(model, j):
    """Set the encoder's output layer so latent j's posterior is exactly the
    N(0, 1) prior for every input (location 0, scale 1)."""
    kernel, bias = model.encoder.layers[-1].get_weights()
    kernel[:, [j, model.latent_dim + j]] = 0.0
    bias[j] = 0.0
    bias[model.latent_dim + j] = np.log(np.expm1(1.0 - 1e-4))  # softplus + 1e-4 floor = 1
    model.encoder.layers[-1].set_weights([kernel, bias])


def test_kl_per_latent_and_posterior_collapse():
    model = keras_svae.SparseVAE(
        latent_dim=4, prior="normal", data_shape=(6,), encoder_units=(16,), seed=0
    )
    kernel, bias = model.encoder.layers[-1].get_weights()
    model.encoder.layers[-1].set_weights([3.0 * kernel, bias - 1.0])  # clearly not the prior
    _collapse_latent(model, 2)
    x = np.random.default_rng(0).normal(size=(300, 6)).astype(np.float32)
    per_example = evaluation.kl_per_latent(model, x, per_example=True)
    total = keras_svae.kl_divergence(model.encode(x), model.prior).numpy()
    np.testing.assert_allclose(per_example.sum(axis=1), total, rtol=1e-4, atol=1e-5)
    mean = evaluation.kl_per_latent(model, x)
    assert mean[2] < 1e-4 and np.all(np.delete(mean, 2) > 0.1), mean
    assert evaluation.posterior_collapse(model, x) == pytest.approx(0.25)
    with pytest.raises(ValueError, match="code_variance"):
        evaluation.posterior_collapse(model, x, code_variance=-1.0)


def _quadrature_floor():
    """min over s of KL(N(0, s) || Laplace(0, 1)) by numerical integration."""

    def kl(log_s):
        q = scipy.stats.norm(0.0, np.exp(log_s))
        cross = scipy.integrate.quad(lambda z: -q.pdf(z) * scipy.stats.laplace.logpdf(z), -60, 60,
                                     points=[0.0], limit=200)[0]  # fmt: skip
        return cross - q.entropy()

    found = scipy.optimize.minimize_scalar(kl, bounds=(-3, 3), method="bounded")
    return found.fun, float(np.exp(found.x))


def test_kl_floor_is_the_smallest_kl_the_posterior_family_reaches():
    def model(prior, posterior):
        return keras_svae.SparseVAE(latent_dim=4, prior=prior, posterior=posterior,
                                    data_shape=(6,), encoder_units=(16,), seed=0)  # fmt: skip

    for prior in ("normal", "laplace", "cauchy", "spike_slab"):  # the family holds the prior
        assert np.all(evaluation.kl_floor(model(prior, prior)) < 1e-5), prior
    expected, _ = _quadrature_floor()
    floor = evaluation.kl_floor(model("laplace", "normal"))
    np.testing.assert_allclose(floor, expected, rtol=1e-3)
    assert floor[0] > 0.04  # above the 0.01-nat collapse threshold
    sampled = model("student_t", "normal")
    assert evaluation.kl_floor(sampled) is None
    x = np.random.default_rng(0).normal(size=(50, 6)).astype(np.float32)
    with pytest.raises(ValueError, match="closed-form KL.*informative_latents"):
        evaluation.posterior_collapse(sampled, x)


def test_posterior_collapse_under_a_laplace_prior_counts_latents_at_the_floor():
    """A Normal posterior cannot equal a Laplace prior: a latent that ignores
    its input sits at the floor (about 0.048 nats), not at 0, and counts."""
    model = keras_svae.SparseVAE(latent_dim=4, prior="laplace", posterior="normal",
                                 data_shape=(6,), encoder_units=(16,), seed=0)  # fmt: skip
    kernel, bias = model.encoder.layers[-1].get_weights()
    kernel, bias = 3.0 * kernel, bias - 1.0  # clearly not the prior
    _, scale = _quadrature_floor()
    kernel[:, [2, 6]] = 0.0
    bias[2], bias[6] = 0.0, np.log(np.expm1(scale - 1e-4))  # softplus + 1e-4 floor = scale
    model.encoder.layers[-1].set_weights([kernel, bias])
    x = np.random.default_rng(0).normal(size=(300, 6)).astype(np.float32)
    kl = evaluation.kl_per_latent(model, x)
    assert 0.04 < kl[2] < 0.05, kl  # above 0.01: the old criterion counted no collapse
    assert evaluation.posterior_collapse(model, x) == pytest.approx(0.25)
    terms = evaluation.kl_per_latent(model, x, per_example=True)
    latent_codes = evaluation.codes(model, x)
    # Measured from its floor the latent is collapsed; measured from 0 its KL
    # (0.048) is still below the 0.1-nat margin, and its code does not move.
    assert evaluation.collapsed_fraction(latent_codes, kl=terms, floor=0.0) == 0.25


def test_kl_per_latent_samples_when_no_closed_form_is_registered():
    """A Normal prior TFP cannot recognise (an identity transform of it): the
    sampled per-latent KL agrees with the closed form of the plain Normal."""

    def hidden_normal(latent_dim, dtype):
        normal = tfd.Normal(tf.zeros(latent_dim, dtype), tf.ones(latent_dim, dtype))
        return tfd.TransformedDistribution(normal, tfp.bijectors.Identity())

    kwargs = dict(latent_dim=3, data_shape=(5,), encoder_units=(8,), seed=1)
    hidden = keras_svae.SparseVAE(prior=hidden_normal, **kwargs)
    plain = keras_svae.SparseVAE(prior="normal", **kwargs)
    plain.set_weights(hidden.get_weights())
    assert not keras_svae.has_closed_form(
        hidden.encode(np.zeros((1, 5))).distribution, hidden.prior.distribution
    )
    x = np.random.default_rng(1).normal(size=(200, 5)).astype(np.float32)
    sampled = evaluation.kl_per_latent(hidden, x, n_samples=2000)
    np.testing.assert_allclose(sampled, evaluation.kl_per_latent(plain, x), rtol=0.05)


def test_explained_variance_and_reconstruction_mse(linear_gaussian):
    model, x, _ = linear_gaussian
    data = x[:50]
    assert evaluation.explained_variance(data, data) == pytest.approx(1.0)
    mean = np.broadcast_to(data.mean(axis=0), data.shape)
    assert evaluation.explained_variance(data, mean) == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(ValueError, match="must match"):
        evaluation.explained_variance(data, data[:10])
    with pytest.raises(ValueError, match="Var"):
        evaluation.explained_variance(np.ones((5, 3)), np.ones((5, 3)))
    reconstructions = np.asarray(model.reconstruct(data))
    assert evaluation.reconstruction_mse(model, data, reference=reconstructions) < 1e-10
    assert evaluation.reconstruction_mse(model, data) == pytest.approx(
        np.mean((reconstructions - data) ** 2), rel=1e-5
    )
    with pytest.raises(ValueError, match="reference"):
        evaluation.reconstruction_mse(model, data, reference=data[:, :3])


def test_codes_batched_and_patterns_keep_working(linear_gaussian):
    model, x, _ = linear_gaussian
    codes = evaluation.codes(model, x[:30], batch_size=7)
    np.testing.assert_allclose(codes, model.encode(x[:30]).mode().numpy(), rtol=1e-5, atol=1e-6)
    patterns = evaluation.latent_patterns(model)
    np.testing.assert_allclose(patterns, model.decoder.layers[0].get_weights()[0], rtol=1e-5)
    with pytest.raises(ValueError, match="batch_size"):
        evaluation.batched(np.asarray, x, batch_size=0)


# ------------------------------------------------------------------- patterns
def test_basis_recovery_is_one_for_permuted_flipped_rescaled_bases():
    rng = np.random.default_rng(0)
    bases = rng.normal(size=(5, 25))
    patterns = np.concatenate(
        [bases[[3, 0, 4, 1, 2]] * [[-2.0], [0.5], [-1.0], [7.0], [0.1]], rng.normal(size=(5, 25))]
    )  # five extra, unused patterns
    match = evaluation.basis_recovery(patterns, bases.reshape(5, 5, 5))
    assert match.score == pytest.approx(1.0)
    np.testing.assert_array_equal(match.pattern_index, [1, 3, 4, 0, 2])
    assert float(match) == match.score
    assert json.loads(json.dumps({"m": match}, default=float)) == {"m": pytest.approx(1.0)}
    unrelated = evaluation.basis_recovery(rng.normal(size=(10, 25)), bases)
    assert unrelated.score < 0.6


def test_basis_recovery_chance_is_what_random_patterns_score():
    """Issue 20 item 8: 10 random patterns against the 5 synthetic bases score
    0.36 (0.30-0.43), not "near 0"."""
    from keras_svae.data.synthetic import true_bases

    chance = evaluation.basis_recovery_chance(true_bases(), 10, seed=0)
    assert chance["mean"] == pytest.approx(0.36, abs=0.02), chance
    assert chance["low"] == pytest.approx(0.30, abs=0.02), chance
    assert chance["high"] == pytest.approx(0.43, abs=0.02), chance
    assert evaluation.basis_recovery_chance(true_bases(), 10, seed=0) == chance  # seeded
    # Fewer patterns to choose from, lower chance; more, higher.
    assert evaluation.basis_recovery_chance(true_bases(), 5)["mean"] < chance["mean"]
    assert evaluation.basis_recovery_chance(true_bases(), 20)["mean"] > chance["mean"]
    with pytest.raises(ValueError, match="n_draws must be at least 2"):
        evaluation.basis_recovery_chance(true_bases(), 10, n_draws=1)


def test_basis_recovery_matches_one_pattern_to_one_basis():
    bases = np.eye(4)[:2]  # two orthogonal bases
    blend = (bases[0] + bases[1]) / np.sqrt(2)  # looks like both (|cos| 0.71 with each)
    other = np.array([0.0, 0.0, 1.0, 0.0])  # looks like neither
    match = evaluation.basis_recovery(np.stack([blend, other]), bases)
    # Max-based matching would credit the blend twice: 0.71. One to one, one
    # basis gets the blend and the other the unrelated pattern.
    assert match.score == pytest.approx(np.sqrt(0.5) / 2)
    assert sorted(match.pattern_index.tolist()) == [0, 1]
    too_few = evaluation.basis_recovery(blend[None], bases)
    assert sorted(too_few.pattern_index.tolist()) == [-1, 0]
    assert too_few.score == pytest.approx(np.sqrt(0.5) / 2)
    with pytest.raises(ValueError, match="same size"):
        evaluation.basis_recovery(np.ones((2, 3)), bases)


def _gabor_bank(n, rng, shape=(12, 12)):
    bank = []
    for _ in range(n):
        params = [
            rng.choice([-1.0, 1.0]) * rng.uniform(0.5, 2.0),
            rng.uniform(3, 8),
            rng.uniform(3, 8),
            rng.uniform(0, np.pi),
            rng.uniform(0.08, 0.3),
            rng.uniform(0, 2 * np.pi),
            rng.uniform(1.5, 3.5),
            rng.uniform(1.5, 3.5),
            0.0,
        ]
        bank.append(evaluation.gabor_image(params, shape))
    return np.array(bank)


@pytest.mark.slow
def test_gabor_score_is_high_for_gabors_and_low_for_noise():
    rng = np.random.default_rng(0)
    bank = _gabor_bank(8, rng)
    noisy_bank = bank + 0.05 * rng.normal(size=bank.shape)
    noise = rng.normal(size=(6, 144))
    gabors = evaluation.gabor_likeness(noisy_bank, (12, 12))
    assert gabors["fraction"] == 1.0 and gabors["median_r2"] > 0.9, gabors
    scores = evaluation.gabor_likeness(noise, (12, 12))
    assert scores["fraction"] == 0.0 and scores["median_r2"] < 0.3, scores
    mixed = np.concatenate([bank[:3], noise[:3].reshape(3, 12, 12)])
    active = np.array([True, True, False, True, False, False])
    picked = evaluation.gabor_likeness(mixed, (12, 12), active=active)
    assert picked["n_patterns"] == 3 and picked["fraction"] == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="image_shape"):
        evaluation.gabor_fit(noise, (10, 10))
    with pytest.raises(ValueError, match="boolean mask"):
        evaluation.gabor_likeness(noise, (12, 12), active=[0, 1])


@pytest.mark.slow
def test_gabor_chance_is_the_pass_rate_of_smooth_random_patterns():
    """Issue 20 item 8: the Gabor test passes about a third of smooth 1/f^2
    random patterns on 12x12 patches."""
    from keras_svae.reproduce.measures import QUICK_GABOR

    patterns = evaluation.smooth_random_patterns(4, (12, 12), seed=0)
    assert patterns.shape == (4, 12, 12)
    np.testing.assert_allclose(np.linalg.norm(patterns.reshape(4, -1), axis=1), 1.0)
    chance = evaluation.gabor_chance((12, 12), n=30, seed=0, **QUICK_GABOR)
    assert 0.2 <= chance <= 0.5, chance
    assert evaluation.gabor_chance((12, 12), n=30, seed=0, **QUICK_GABOR) == chance  # seeded
    with pytest.raises(ValueError, match="image_shape"):
        evaluation.gabor_chance((12,), n=2)


# ---------------------------------------------------------------- separability
def test_separability_of_separated_and_mixed_classes():
    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1, 2], 60)
    centres = np.array([[0.0, 0.0], [6.0, 0.0], [0.0, 6.0]])
    separated = centres[labels] + rng.normal(size=(180, 2))
    mixed = rng.normal(size=(180, 2))
    assert evaluation.knn_accuracy(separated, labels) > 0.95
    assert evaluation.linear_probe_accuracy(separated, labels) > 0.95
    assert evaluation.silhouette(separated, labels) > 0.6
    assert evaluation.knn_accuracy(mixed, labels) < 0.55
    assert evaluation.linear_probe_accuracy(mixed, labels) < 0.55
    assert abs(evaluation.silhouette(mixed, labels)) < 0.1


def test_separability_bad_input():
    codes = np.random.default_rng(0).normal(size=(20, 3))
    labels = np.repeat([0, 1], 10)
    for metric in (
        evaluation.knn_accuracy,
        evaluation.linear_probe_accuracy,
        evaluation.silhouette,
    ):
        with pytest.raises(ValueError, match="labels"):
            metric(codes, None)
        with pytest.raises(ValueError, match="20 codes but 19 labels"):
            metric(codes, labels[:19])
        with pytest.raises(ValueError, match="at least 2"):
            metric(codes, np.zeros(20))
    with pytest.raises(ValueError, match="k=17 needs at least k training examples"):
        evaluation.knn_accuracy(codes, labels, k=17)
    with pytest.raises(ValueError, match="k must be an integer >= 1"):
        evaluation.knn_accuracy(codes, labels, k=0)
    with pytest.raises(ValueError, match="rarest class"):
        evaluation.linear_probe_accuracy(codes, np.r_[np.zeros(17), np.ones(3)])
    with pytest.raises(ValueError, match="NaN"):
        evaluation.silhouette(np.full((20, 3), np.nan), labels)


def test_a_thresholded_latent_below_its_threshold_for_every_input_is_collapsed():
    """A thresholded latent whose location stays within the threshold: its code
    is exactly 0 for every input, yet its KL (a narrow posterior) is large."""
    model = keras_svae.SparseVAE(latent_dim=3, prior="laplace", posterior="laplace",
                                 threshold=0.5, data_shape=(6,), encoder_units=(16,),
                                 seed=0)  # fmt: skip
    kernel, bias = model.encoder.layers[-1].get_weights()
    kernel, bias = 3.0 * kernel, bias.copy()
    kernel[:, [0, 3]], bias[0], bias[3] = 0.0, 0.2, -3.0  # location 0.2, scale 0.05
    model.encoder.layers[-1].set_weights([kernel, bias])
    x = np.random.default_rng(0).normal(size=(300, 6)).astype(np.float32)
    assert np.all(evaluation.codes(model, x)[:, 0] == 0.0)
    assert evaluation.kl_per_latent(model, x)[0] > 1.0
    assert not evaluation.informative_latents(model, x)[0]
    assert evaluation.posterior_collapse(model, x) >= 1 / 3
