"""The sparse-coding family beyond the paper: priors, posteriors, their KLs,
thresholded exact zeros, the FISTA baseline and the exported samplers.

Closed forms are checked against adaptive quadrature (scipy) over grids with
extreme parameters, and against Monte Carlo within 3 standard errors; rates of
exact zeros against their analytic probabilities within 4 binomial standard
errors; samplers with Kolmogorov-Smirnov tests that a wrong distribution fails.
"""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp
from scipy import integrate, special, stats
from sklearn.decomposition import sparse_encode

from keras_svae import evaluation
from keras_svae import export as ex
from keras_svae.data import load_synthetic
from keras_svae.distributions import Horseshoe, check_pairing, make_posterior, make_prior
from keras_svae.export.graph import build_module, write_saved_model
from keras_svae.export.sampling import (
    family_parameters,
    prior_draws,
    sample_prior,
    standard_draws,
    uniform_count,
)
from keras_svae.kl import uses_closed_form
from keras_svae.model import SparseVAE
from keras_svae.names import PAPER_POSTERIOR, POSTERIORS, PRIORS, lookup
from keras_svae.posteriors import posterior_from_params, posterior_width
from keras_svae.sparse_coding import SparseCoding, fista
from keras_svae.spike_slab import SpikeSlab
from keras_svae.thresholds import Thresholded, threshold_kl

tfd = tfp.distributions
F64 = np.float64


# ------------------------------------------------------------------ names
def test_new_names_and_their_errors():
    for name in ("student_t", "spike_slab", "horseshoe"):
        assert lookup(name.upper(), PRIORS, "prior") == name and name in PAPER_POSTERIOR
    assert {"laplace", "spike_slab"} <= set(POSTERIORS)
    with pytest.raises(ValueError, match="Unknown prior 'student'.*'student_t', 'spike_slab'"):
        make_prior("student", 3)
    with pytest.raises(ValueError, match="prior_df.*>= 0.5.*got 0.2"):
        make_prior("student_t", 3, df=0.2)
    with pytest.raises(ValueError, match="prior_df.*got 'three'"):
        make_prior("student_t", 3, df="three")
    with pytest.raises(ValueError, match="strictly between 0 and 1, got 1.0"):
        make_prior("spike_slab", 3, slab_probability=1.0)
    with pytest.raises(ValueError, match="df= applies to the 'student_t' prior only"):
        make_prior("laplace", 3, df=3)
    with pytest.raises(ValueError, match="slab_probability= applies to the 'spike_slab'"):
        make_prior("horseshoe", 3, slab_probability=0.2)
    with pytest.raises(ValueError, match="posterior_from_params"):
        make_posterior("spike_slab", tf.zeros([1, 3]), tf.ones([1, 3]))
    with pytest.raises(ValueError, match=r"\[batch, 3 \* latent_dim\].*\(2, 10\)"):
        posterior_from_params("spike_slab", tf.zeros([2, 10]))
    assert [posterior_width(f) for f in POSTERIORS] == [2, 2, 2, 3]


def test_named_priors_have_the_asked_parameters():
    t = make_prior("student_t", 4, scale=2.0, df=1.5).distribution
    assert isinstance(t, tfd.StudentT) and float(t.df) == 1.5 and float(t.scale) == 2.0
    assert float(make_prior("student_t", 4).distribution.df) == 3.0
    s = make_prior("spike_slab", 4, scale=0.5, slab_probability=0.2).distribution
    np.testing.assert_allclose(s.slab_probs_parameter(), 0.2)
    h = make_prior("horseshoe", 4, scale=0.3)
    assert h.event_shape == [4] and np.allclose(h.distribution.scale, 0.3)
    z = make_prior("spike_slab", 4, slab_probability=0.2).sample(20000, seed=(3, 4)).numpy()
    assert abs(np.mean(z == 0) - 0.8) < 4 * math.sqrt(0.16 / z.size)


def test_invalid_pairings_name_the_valid_ones():
    for posterior, prior in [("spike_slab", "laplace"), ("spike_slab", "normal"),
                             ("cauchy", "spike_slab")]:  # fmt: skip
        with pytest.raises(ValueError, match="Valid pairings: posterior 'spike_slab' with"):
            check_pairing(posterior, prior)
        with pytest.raises(ValueError, match="Valid pairings"):  # even when sampled
            uses_closed_form(posterior, make_prior(prior, 2), 2, mode="sampled")
    with pytest.raises(ValueError, match="infinite.*Valid pairings with spike-and-slab"):
        tfd.kl_divergence(SpikeSlab(0.0, 1.0, slab_probs=0.5), tfd.Normal(0.0, 1.0))
    expected = {("spike_slab", "spike_slab"): True, ("normal", "spike_slab"): True,
                ("laplace", "spike_slab"): True, ("laplace", "laplace"): True,
                ("laplace", "normal"): True, ("normal", "student_t"): False,
                ("normal", "horseshoe"): False, ("laplace", "horseshoe"): False}  # fmt: skip
    for (posterior, prior), closed in expected.items():
        assert uses_closed_form(posterior, make_prior(prior, 2), 2) is closed, (posterior, prior)


# ------------------------------------------------------------- quadrature
def quad_kl(log_q_std, log_p, q_loc, q_scale, kink=None, width=40.0):
    """KL(q || p) for a location-scale q, integrated in q's standard units."""

    def integrand(t):
        z = q_loc + q_scale * t
        log_q = log_q_std(t) - np.log(q_scale)
        return np.exp(log_q_std(t)) * (log_q - log_p(z))

    points = [kink] if kink is not None and -width < kink < width else None
    return integrate.quad(integrand, -width, width, points=points, limit=500, epsabs=0.0,
                          epsrel=1e-10)[0]  # fmt: skip


def log_normal(loc, scale):
    return lambda z: -0.5 * ((z - loc) / scale) ** 2 - np.log(scale) - 0.5 * np.log(2 * np.pi)


STD_NORMAL = stats.norm.logpdf
STD_LAPLACE = stats.laplace.logpdf
EXTREME = [(mu, s, ps) for mu in (-30.0, 0.0, 0.3, 200.0) for s in (1e-3, 1.0, 150.0)
           for ps in (0.01, 1.0, 40.0)]  # fmt: skip


@pytest.mark.parametrize("mu,b,s", EXTREME)
def test_laplace_normal_closed_form_matches_quadrature(mu, b, s):
    closed = float(tfd.kl_divergence(tfd.Laplace(F64(mu), F64(b)), tfd.Normal(F64(0.5), F64(s))))
    numerical = quad_kl(STD_LAPLACE, log_normal(0.5, s), mu, b, kink=0.0)
    assert closed == pytest.approx(numerical, rel=1e-6, abs=1e-9)


def test_tfp_laplace_laplace_closed_form_matches_quadrature():
    for mu, b, pb in [(0.0, 1.0, 1.0), (3.0, 0.01, 2.0), (-50.0, 20.0, 0.1)]:
        closed = float(
            tfd.kl_divergence(tfd.Laplace(F64(mu), F64(b)), tfd.Laplace(F64(0), F64(pb)))
        )
        log_p = lambda z, pb=pb: -np.abs(z) / pb - np.log(2 * pb)  # noqa: E731
        numerical = quad_kl(STD_LAPLACE, log_p, mu, b, kink=0.0)
        assert closed == pytest.approx(numerical, rel=1e-6)


def spike_slab(logit, loc, scale):
    return SpikeSlab(F64(loc), F64(scale), slab_logits=F64(logit))


@pytest.mark.parametrize("q_logit", [-30.0, -2.0, 0.0, 3.0, 30.0])
@pytest.mark.parametrize("p_logit", [-5.0, 0.0, 4.0])
def test_spike_slab_closed_form_matches_quadrature(q_logit, p_logit):
    log_gq, log_1m_gq = special.log_expit(q_logit), special.log_expit(-q_logit)
    log_gp, log_1m_gp = special.log_expit(p_logit), special.log_expit(-p_logit)
    for mu, sigma, prior_scale in EXTREME[::2]:
        slab = quad_kl(STD_NORMAL, log_normal(0.0, prior_scale), mu, sigma)
        # The spike-to-spike mass plus the slab integral of q log(q / p).
        numerical = math.exp(log_1m_gq) * (log_1m_gq - log_1m_gp) + math.exp(log_gq) * (
            log_gq - log_gp + slab
        )
        closed = float(tfd.kl_divergence(spike_slab(q_logit, mu, sigma),
                                         spike_slab(p_logit, 0.0, prior_scale)))  # fmt: skip
        assert closed == pytest.approx(numerical, rel=1e-6, abs=1e-12), (mu, sigma, prior_scale)


@pytest.mark.parametrize("family", ["normal", "laplace"])
@pytest.mark.slow
def test_continuous_posterior_to_spike_slab_matches_quadrature(family):
    cls, std = (tfd.Normal, STD_NORMAL) if family == "normal" else (tfd.Laplace, STD_LAPLACE)
    for p_logit in (-6.0, 0.0, 5.0):
        for mu, s, ps in EXTREME[::3]:
            p = spike_slab(p_logit, 0.0, ps)
            log_p = lambda z, ps=ps, lg=p_logit: special.log_expit(lg) + log_normal(0.0, ps)(z)  # noqa: E731
            closed = float(tfd.kl_divergence(cls(F64(mu), F64(s)), p))
            assert closed == pytest.approx(quad_kl(std, log_p, mu, s, kink=0.0), rel=1e-6)


@pytest.mark.parametrize(
    "q,p",
    [((1.2, 1.0, 0.5), (-1.0, 0.0, 1.5)), ((-2.0, -3.0, 2.0), (2.0, 1.0, 0.3)),
     ((4.0, 0.2, 0.1), (0.0, 0.0, 1.0))],  # (logit, loc, scale)
)  # fmt: skip
def test_spike_slab_closed_form_matches_monte_carlo_on_its_own_samples(q, p):
    """Also checks that sample() and log_prob() (point mass plus density) agree."""
    q, p = spike_slab(*q), spike_slab(*p)
    z = q.sample(200_000, seed=(5, 6))
    draws = (q.log_prob(z) - p.log_prob(z)).numpy()
    assert np.mean(z.numpy() == 0) == pytest.approx(float(1 - q.slab_probs_parameter()), abs=0.005)
    standard_error = draws.std() / math.sqrt(len(draws))
    assert abs(draws.mean() - float(tfd.kl_divergence(q, p))) < 3 * standard_error


def test_horseshoe_prior_log_density_is_finite_at_zero():
    """A float32 draw rounds to exactly 0 about once in a million: TFP's log
    density is +inf there with a NaN gradient, which turned a BSDS run's loss
    into NaN. The prior's own density caps the spike smoothly."""
    prior = make_prior("horseshoe", 3, scale=2.0).distribution
    z = tf.constant([[0.0, -1e-30, 0.7], [1e-7, -2.0, 15.0]])
    with tf.GradientTape() as tape:
        tape.watch(z)
        log_p = prior.log_prob(z)
    gradient = tape.gradient(log_p, z).numpy()
    assert np.all(np.isfinite(log_p.numpy())) and np.all(np.isfinite(gradient))
    assert log_p.numpy()[0, 0] > log_p.numpy()[0, 2]  # still the peak at 0
    tfp_log_p = tfd.Horseshoe(tf.fill([3], 2.0)).log_prob(z).numpy()
    assert np.isinf(tfp_log_p[0, 0])  # what the cap guards against
    np.testing.assert_array_equal(log_p.numpy()[1, 1:], tfp_log_p[1, 1:])  # TFP's own


@pytest.mark.parametrize("scale", [0.05, 1.0, 3.0])
def test_horseshoe_prior_gradient_is_finite_wherever_float32_draws_land(scale):
    """TFP's float32 gradient is -inf for 1e-15 <= |z| / scale <= 2.5e-10
    (clipping then makes it NaN); the prior's is finite for every float32 value,
    denormals and both signs included, and points towards 0."""
    magnitudes = np.concatenate([[0.0, 1e-45, 1e-38], np.logspace(-30, 6, 145)])
    z = tf.constant(np.concatenate([magnitudes, -magnitudes]).astype("float32"))
    prior = Horseshoe(scale=tf.constant(scale))
    with tf.GradientTape() as tape:
        tape.watch(z)
        log_p = prior.log_prob(z)
    gradient = tape.gradient(log_p, z).numpy()
    assert np.all(np.isfinite(log_p.numpy())) and np.all(np.isfinite(gradient))
    assert np.all(gradient * z.numpy() <= 0)  # the density falls away from 0
    with tf.GradientTape() as tape:  # the band where TFP's own gradient overflows
        band = tf.constant([1e-13 * scale], tf.float32)
        tape.watch(band)
        tfp_log_p = tfd.Horseshoe(tf.constant(scale)).log_prob(band)
    assert np.isinf(tape.gradient(tfp_log_p, band).numpy()).all()
    far = np.abs(z.numpy()) >= 1e-3 * scale  # away from the cap: TFP's density
    tfp_far = tfd.Horseshoe(tf.constant(scale)).log_prob(z).numpy()[far]
    np.testing.assert_array_equal(log_p.numpy()[far], tfp_far)


def test_horseshoe_prior_cap_moves_almost_no_probability():
    """The cap changes the density only within 1e-3 scales of 0; there it
    integrates (by quadrature of the capped density) to within 1e-5 of the
    horseshoe's own mass of that interval."""
    prior = Horseshoe(scale=F64(1.0))
    x = np.concatenate([np.logspace(-14, -3, 20001)])
    capped = np.exp(prior.log_prob(x).numpy())
    exact = np.exp(tfd.Horseshoe(F64(1.0)).log_prob(x).numpy())
    difference = 2 * np.trapezoid(np.abs(capped - exact), x)
    assert difference < 1e-5


def test_tfp_horseshoe_log_density_is_close_to_the_exact_one():
    """The sampled KL of the horseshoe prior rests on TFP's approximate density."""
    x = np.array([1e-3, 0.1, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0])
    t = x**2 / 2
    exact = -0.5 * np.log(2 * np.pi**3) + t + np.log(special.exp1(t))
    approx = tfd.Horseshoe(F64(1.0)).log_prob(x).numpy()
    np.testing.assert_allclose(approx, exact, atol=1e-3)


# ------------------------------------------------------------ posteriors
@pytest.mark.parametrize("family", POSTERIORS)
@pytest.mark.parametrize("activation", ["softplus", "exp"])
def test_posteriors_from_encoder_outputs_are_reparameterised(family, activation):
    width = posterior_width(family)
    raw = np.random.default_rng(0).normal(size=(4, width * 5)).astype(np.float32)
    raw[0, 5:10] = 1e4  # a huge raw scale must not overflow exp
    params = tf.Variable(raw)
    with tf.GradientTape() as tape:
        q = posterior_from_params(family, params, activation)
        z = q.sample(3, seed=(1, 2))
        loss = tf.reduce_sum(tf.tanh(z))
    gradient = tape.gradient(loss, params).numpy()
    assert q.batch_shape == [4] and q.event_shape == [5] and z.shape == (3, 4, 5)
    assert np.all(np.isfinite(gradient)) and np.any(gradient[:, :5] != 0)
    assert q.mode().shape == (4, 5) and np.all(np.isfinite(q.mode()))
    if family == "spike_slab":
        assert np.any(gradient[:, 10:] != 0)  # the slab logits learn through the relaxation
        assert np.any(z.numpy() == 0)


def test_spike_slab_sampling_modes():
    q = SpikeSlab(loc=[2.0, -1.0], scale=[0.5, 1.0], slab_probs=[0.8, 0.3], temperature=0.3)
    z = q.sample(40000, seed=(7, 8)).numpy()
    zero = np.mean(z == 0, axis=0)
    assert np.all(np.abs(zero - [0.2, 0.7]) < 4 * np.sqrt([0.16, 0.21] / np.float64(len(z))))
    slab = z[:, 0][z[:, 0] != 0]
    assert stats.kstest((slab - 2.0) / 0.5, stats.norm.cdf).pvalue > 1e-3
    assert stats.kstest((slab - 2.0) / 0.5, stats.laplace.cdf).pvalue < 1e-3
    relaxed = SpikeSlab(2.0, 0.5, slab_probs=0.5, straight_through=False).sample(1000, seed=(1, 1))
    assert not np.any(relaxed.numpy() == 0)
    np.testing.assert_allclose(q.mode(), [2.0, 0.0])
    np.testing.assert_allclose(q.mean(), [1.6, -0.3], rtol=1e-6)


# ------------------------------------------------------------ thresholds
@pytest.mark.parametrize("family", ["normal", "laplace"])
def test_thresholded_draws_are_soft_thresholded_at_the_analytic_zero_rate(family):
    loc = tf.constant([[0.5, -1.0, 0.0, 3.0]])
    scale = tf.constant([[1.0, 0.5, 2.0, 0.1]])
    threshold = tf.constant([0.3, 1.0, 0.2, 0.05])
    q = Thresholded(make_posterior(family, loc, scale), threshold)  # on="sample"
    z, base = q.sample_with_base(100_000, seed=(9, 10))
    z, base = z.numpy()[:, 0], base.numpy()[:, 0]
    dist = stats.norm if family == "normal" else stats.laplace
    lam, mu, sd = threshold.numpy(), loc.numpy()[0], scale.numpy()[0]
    expected = dist(mu, sd).cdf(lam) - dist(mu, sd).cdf(-lam)  # P(|mu + e| <= lambda)
    np.testing.assert_allclose(q.zero_probability().numpy()[0], expected, rtol=1e-4, atol=1e-7)
    rate = np.mean(z == 0, axis=0)
    assert np.all(np.abs(rate - expected) < 4 * np.sqrt(expected * (1 - expected) / len(z)) + 1e-6)
    np.testing.assert_allclose(z, np.sign(base) * np.maximum(np.abs(base) - lam, 0), atol=1e-6)
    np.testing.assert_allclose(q.mode()[0], [0.2, 0.0, 0.0, 2.95], atol=1e-6)


@pytest.mark.parametrize("family", ["normal", "laplace"])
def test_noise_thresholded_zero_rate_matches_the_analytic_probability(family):
    loc = tf.constant([[0.5, -1.0, 0.0, 3.0]])
    scale = tf.constant([[1.0, 0.5, 2.0, 0.1]])
    threshold = tf.constant([0.3, 1.0, 0.2, 0.05])
    q = Thresholded(make_posterior(family, loc, scale), threshold, on="noise")
    z, base = q.sample_with_base(100_000, seed=(9, 10))
    z, base = z.numpy()[:, 0], base.numpy()[:, 0]
    rate = np.mean(z == 0, axis=0)
    if family == "normal":
        expected = special.erf(threshold.numpy() / (scale.numpy()[0] * math.sqrt(2)))
    else:
        expected = 1 - np.exp(-threshold.numpy() / scale.numpy()[0])
    np.testing.assert_allclose(q.zero_probability().numpy()[0], expected, rtol=1e-5)
    assert np.all(np.abs(rate - expected) < 4 * np.sqrt(expected * (1 - expected) / len(z)))
    kept = z != 0
    noise = base - loc.numpy()[0]
    np.testing.assert_allclose(
        z[kept], (loc.numpy()[0] + np.sign(noise) * (np.abs(noise) - threshold.numpy()))[kept],
        rtol=1e-5, atol=1e-6,
    )  # fmt: skip
    if family == "laplace":  # memoryless: the non-zero part is the base Laplace again
        column = z[:, 0][kept[:, 0]]
        assert stats.kstest(column, stats.laplace(0.5, 1.0).cdf).pvalue > 1e-3
    np.testing.assert_allclose(q.mode()[0], [0.2, 0.0, 0.0, 2.95], atol=1e-6)


@pytest.mark.parametrize("gradient", ["straight_through", "shifted"])
def test_thresholded_gradients_are_finite(gradient):
    loc = tf.Variable([[0.5, -1.0, 0.0]])
    scale = tf.Variable([[1.0, 0.5, 2.0]])
    threshold = tf.Variable([0.3, 0.3, 1.0])
    with tf.GradientTape() as tape:
        q = Thresholded(make_posterior("laplace", loc, scale), threshold, gradient=gradient)
        loss = tf.reduce_sum((q.sample(500, seed=(1, 3)) - 0.7) ** 2)
    grads = tape.gradient(loss, [loc, scale, threshold])
    for g in grads[:2]:
        assert np.all(np.isfinite(g)) and np.all(g.numpy() != 0)
    if gradient == "shifted":
        assert np.all(np.isfinite(grads[2])) and np.all(grads[2].numpy() != 0)
    else:
        assert grads[2] is None


def test_thresholded_kl_uses_the_base_and_refuses_log_prob():
    q = make_posterior("laplace", tf.constant([[0.3, -0.2]]), tf.constant([[0.5, 2.0]]))
    p = make_prior("laplace", 2)
    thresholded = Thresholded(q, 0.4)
    np.testing.assert_allclose(tfd.kl_divergence(thresholded, p), tfd.kl_divergence(q, p))
    with pytest.raises(NotImplementedError, match="sample_with_base"):
        thresholded.log_prob(tf.zeros([1, 2]))
    with pytest.raises(ValueError, match="Normal or Laplace posterior"):
        Thresholded(make_posterior("cauchy", tf.zeros([1, 2]), tf.ones([1, 2])), 0.1)
    with pytest.raises(ValueError, match="threshold must be a finite number >= 0"):
        Thresholded(q, -0.1)


def test_threshold_kl_is_the_gamma_prior_term():
    lam = np.array([0.05, 0.3, 2.0], np.float32)
    expected = -np.sum(stats.gamma(2.0, scale=1 / 10.0).logpdf(lam))
    assert float(threshold_kl(tf.Variable(lam), 2.0, 10.0)) == pytest.approx(expected, rel=1e-5)
    q = tfd.Gamma(tf.constant([3.0, 1.0]), tf.constant([20.0, 4.0]))
    closed = float(tfd.kl_divergence(q, tfd.Gamma(2.0, 10.0)).numpy().sum())
    assert float(threshold_kl(q, 2.0, 10.0)) == pytest.approx(closed, rel=1e-6)
    with pytest.raises(ValueError, match="concentration > 0 and rate > 0"):
        threshold_kl(lam, 0.0, 1.0)


# ------------------------------------------------------------ sparse coding
def test_fista_codes_match_scikit_learn_lasso():
    rng = np.random.default_rng(0)
    dictionary = rng.normal(size=(25, 12))
    dictionary /= np.linalg.norm(dictionary, axis=0)
    x = rng.normal(size=(40, 25))
    for l1 in (0.05, 0.5):
        codes = fista(tf.constant(x), tf.constant(dictionary), l1, 600).numpy()
        reference = sparse_encode(x, dictionary.T, algorithm="lasso_cd", alpha=l1, max_iter=20000)
        np.testing.assert_allclose(codes, reference, atol=1e-5)
        assert np.array_equal(codes == 0, np.abs(reference) < 1e-12) and np.any(codes == 0)


@pytest.mark.slow
def test_sparse_coding_recovers_the_synthetic_bases_and_round_trips(tmp_path):
    dataset, info = load_synthetic(4000, seed=0)
    model = SparseCoding(n_atoms=5, l1=0.1, n_iter=100, seed=0)
    model.compile()
    history = model.fit(dataset, epochs=8, verbose=0)
    loss = history.history["loss"]
    assert np.all(np.isfinite(loss)) and loss[-1] < loss[0]
    atoms = evaluation.latent_patterns(model)
    np.testing.assert_allclose(np.linalg.norm(atoms.reshape(5, -1), axis=1), 1.0, rtol=1e-5)
    assert float(evaluation.basis_recovery(atoms, info.extra["bases"])) > 0.9
    x = info.extra["clean"][:50]
    codes = evaluation.codes(model, x)
    assert codes.shape == (50, 5) and np.any(codes == 0)
    assert evaluation.reconstruction_mse(model, x) < 0.05
    model.save(tmp_path / "sc.keras")
    loaded = keras.models.load_model(tmp_path / "sc.keras")
    assert isinstance(loaded, SparseCoding) and loaded.get_config() == model.get_config()
    np.testing.assert_array_equal(loaded.infer(x).numpy(), model.infer(x).numpy())
    with pytest.raises(ValueError, match="takes no labels"):
        model.fit(x, np.zeros(50))


# ------------------------------------------------------------ export sampling
NEW = {
    "student_t": ({"df": 2.5}, stats.t(2.5).cdf, stats.norm.cdf),
    "spike_slab": ({"slab_probability": 0.3}, stats.norm.cdf, stats.laplace.cdf),
    "horseshoe": ({}, None, stats.cauchy.cdf),
}
LOC, SCALE = np.array([0.0, 0.0, 0.0]), np.array([2.0, 0.3, 1.0])
HORSESHOE = stats.halfcauchy.rvs(size=100_000, random_state=1) * stats.norm.rvs(
    size=100_000, random_state=2
)


def check_draws(family, z):
    """Zero fraction (spike-and-slab) and KS on the standardised draws, with a
    wrong distribution that must fail the same test."""
    extra, cdf, wrong = NEW[family]
    standard = np.asarray(z, F64) / SCALE
    if family == "spike_slab":
        zero = np.mean(z == 0, axis=0)
        assert np.all(np.abs(zero - 0.7) < 4 * math.sqrt(0.21 / len(z)))
        columns = [standard[:, j][standard[:, j] != 0] for j in range(3)]
    else:
        columns = [standard[:, j] for j in range(3)]
    for column in columns:
        if cdf is None:
            assert stats.ks_2samp(column, HORSESHOE).pvalue > 1e-3
        else:
            assert stats.kstest(column, cdf).pvalue > 1e-3
        assert stats.kstest(column, wrong).pvalue < 1e-3


@pytest.mark.parametrize("family", sorted(NEW))
def test_numpy_draws_of_the_new_priors(family):
    prior = {"family": family, "loc": list(LOC), "scale": list(SCALE), **NEW[family][0]}
    z = sample_prior(prior, 20000, seed=3)
    assert z.shape == (20000, 3) and np.all(np.isfinite(z))
    check_draws(family, z)
    np.testing.assert_array_equal(z, sample_prior(prior, 20000, seed=3))
    u, v, w = np.random.default_rng(0).random((3, 500, 3))
    kwargs = dict(family_parameters(prior), **({"w": w} if uniform_count(family) == 3 else {}))
    expected = prior_draws(family, LOC, SCALE, u, v, np, **kwargs)
    tf_kwargs = {k: tf.constant(a) if k == "w" else a for k, a in kwargs.items()}
    got = prior_draws(family, tf.constant(LOC), tf.constant(SCALE), tf.constant(u),
                      tf.constant(v), tf.math, **tf_kwargs)  # fmt: skip
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-12, atol=1e-12)


def test_export_parameters_are_checked():
    base = {"loc": [0.0], "scale": [1.0]}
    for prior, message in [
        ({"family": "student_t"}, "needs 'df', a number >= 0.5, got None"),
        ({"family": "student_t", "df": 0.1}, "needs 'df'.*got 0.1"),
        ({"family": "spike_slab", "slab_probability": 0.0}, r"in \(0, 1\], got 0.0"),
        ({"family": "spike_slab", "slab_probability": True}, "slab_probability"),
    ]:
        with pytest.raises(ValueError, match=message):
            sample_prior({**base, **prior}, 2)
    assert family_parameters({**base, "family": "horseshoe"}) == {}
    with pytest.raises(ValueError, match="need w="):
        standard_draws("horseshoe", np.zeros(2), np.zeros(2))


@pytest.mark.parametrize("family", ["student_t", "spike_slab", "horseshoe"])
def test_extreme_uniforms_give_finite_draws_for_new_priors(family):
    u = np.array([0.0, 2.0**-53, 2.0**-52, 0.5, 1 - 2.0**-52, 1 - 2.0**-53])
    extra = {"df": 0.5} if family == "student_t" else {"slab_probability": 1e-3}
    for ops, wrap in ((np, np.asarray), (tf.math, tf.constant)):
        kwargs = {"w": wrap(u[::-1])} if family == "horseshoe" else extra
        draws = np.asarray(standard_draws(family, wrap(u), wrap(u[::-1]), ops, **kwargs))
        assert np.all(np.isfinite(draws.astype(np.float32))), (ops.__name__, draws)


@pytest.mark.parametrize("family", sorted(NEW))
def test_saved_model_generate_draws_of_the_new_priors(family, tmp_path):
    extra = NEW[family][0]

    def factory(latent_dim, dtype):
        scale = SCALE.astype(np.float32)
        if family == "student_t":
            base = tfd.StudentT(extra["df"], LOC.astype(np.float32), scale)
        elif family == "spike_slab":
            base = SpikeSlab(LOC.astype(np.float32), scale, slab_probs=extra["slab_probability"])
        else:
            base = tfd.Horseshoe(scale)
        return tfd.Independent(base, reinterpreted_batch_ndims=1)

    model = SparseVAE(latent_dim=3, prior=factory, data_shape=(4,), decoder="linear", seed=0)
    parameters = ex.prior_parameters(model)
    assert parameters["family"] == family
    for key, value in extra.items():
        assert parameters[key] == pytest.approx(value)
    write_saved_model(
        build_module(model, parameters, ex.postprocessing(model)), tmp_path / "saved_model"
    )
    generate = tf.saved_model.load(str(tmp_path / "saved_model")).signatures["generate"]
    z = generate(seed=tf.constant(7, tf.int64), n=tf.constant(20000))["z"].numpy()
    assert z.shape == (20000, 3) and np.all(np.isfinite(z))
    check_draws(family, z)
