// Tests for latent/objectives/hierarchical_elbo.hpp on linear-Gaussian hierarchies whose ELBO
// and estimator variances are exact (tools/vae_reference.py, section mhvae): both decompositions
// are unbiased for the ELBO; the denoising-matching form (b) has the lower variance for a decoder
// fitted to narrow data and the higher for one fitted to wide data (docs/vae.md, section 6).
#include "latent/objectives/hierarchical_elbo.hpp"

#include <catch2/catch.hpp>
#include <cmath>

#include "distributions/vae_test_util.hpp"
#include "latent/objectives/likelihoods.hpp"

using namespace vae_test;
using Catch::Matchers::Contains;

namespace {
#ifdef LATENT_SANITIZER_BUILD
constexpr Eigen::Index kReplicates = 4000;
#else
constexpr Eigen::Index kReplicates = 100000;
#endif

const std::vector<double> kAlpha{0.9, 0.75, 0.6, 0.5};

// The test hierarchy, per coordinate (D = 2, independent coordinates): the variance-preserving
// chain q(z_t|z_{t-1}) = N(sqrt(alpha_t) z_{t-1}, 1 - alpha_t) with the alphas above, prior
// p(z_T) = N(0, 1), and the decoder p(z_{t-1}|z_t) = N(c_t z_t, r_t), t = 1..T (t = 1 is
// p(x|z_1)), equal to the exact reverse transitions of the chain for data x ~ N(0, sd^2):
// c_t = a_t V_{t-1} / V_t, r_t = V_{t-1} - a_t^2 V_{t-1}^2 / V_t, V_0 = sd^2,
// V_t = alpha_t V_{t-1} + 1 - alpha_t (what a decoder fitted to those data learns). The data
// point is typical of them: x = (0.7 sd, -0.4 sd).
struct hierarchy {
  double sd;
  std::vector<double> c, r, x;
  explicit hierarchy(double sd_) : sd(sd_), x{0.7 * sd_, -0.4 * sd_} {
    double v = sd * sd;
    for (double al : kAlpha) {
      const double next = al * v + 1 - al;
      c.push_back(std::sqrt(al) * v / next);
      r.push_back(v - al * v * v / next);
      v = next;
    }
  }
};

// Exact ELBO = E_q[log p(x, z)] + H[q(z|x)] from the joint Gaussian moments of the chain,
// computed without the posterior formulas of the library.
double exact_elbo(const hierarchy& h) {
  const int T = int(kAlpha.size());
  double total = 0;
  for (double x : h.x) {
    std::vector<double> m(T + 1), v(T + 1);  // E z_t, Var z_t, z_0 = x
    m[0] = x;
    v[0] = 0;
    std::vector<double> cov_prev(T + 1);  // Cov(z_{t-1}, z_t)
    for (int t = 1; t <= T; ++t) {
      const double a = std::sqrt(kAlpha[t - 1]);
      m[t] = a * m[t - 1];
      v[t] = a * a * v[t - 1] + (1 - kAlpha[t - 1]);
      cov_prev[t] = a * v[t - 1];
    }
    double e = -0.5 * std::log(2 * M_PI) - 0.5 * (m[T] * m[T] + v[T]);  // log p(z_T)
    for (int t = 1; t <= T; ++t) {  // log p(z_{t-1} | z_t), z_0 = x
      const double c = h.c[t - 1], r = h.r[t - 1];
      const double d2 = (m[t - 1] - c * m[t]) * (m[t - 1] - c * m[t]) + v[t - 1] + c * c * v[t] -
                        2 * c * cov_prev[t];
      e += -0.5 * std::log(2 * M_PI * r) - 0.5 * d2 / r;
    }
    for (int t = 1; t <= T; ++t) e += 0.5 * std::log(2 * M_PI * M_E * (1 - kAlpha[t - 1]));
    total += e;
  }
  return total;
}

// Bias of Luo's eq. 45 read literally (a closed-form KL(q(z_t|z_{t-1}) || p(z_t|z_{t+1})) at
// the sampled z_{t-1}, z_{t+1}): it drops the covariance a_{t+1} s_t^2 of z_t and z_{t+1} given
// z_{t-1}, so its mean is the ELBO minus sum_{t=1}^{T-1} c_{t+1} a_{t+1} s_t^2 / r_{t+1} per
// coordinate (docs/vae.md).
double literal_bias(const hierarchy& h) {
  double b = 0;
  for (std::size_t t = 1; t < kAlpha.size(); ++t)
    b += h.c[t] * std::sqrt(kAlpha[t]) * (1 - kAlpha[t - 1]) / h.r[t];
  return b * double(h.x.size());
}

struct run {
  Eigen::ArrayXd a, a_ratio, b, literal;
};

// One trajectory per column, all estimators on the same trajectories (a paired comparison).
run estimate(const hierarchy& h, Eigen::Index n, std::uint64_t seed) {
  const auto q = latent::markov_gaussian_encoder::variance_preserving(kAlpha);
  const Eigen::ArrayXXd x = Eigen::Array2d(h.x[0], h.x[1]).replicate(1, n);
  latent::philox4x32 engine(seed);
  const auto z = latent::markov_gaussian_trajectory(q, x, engine);
  const int T = q.steps();
  std::vector<Eigen::ArrayXXd> pm, plv;
  for (int t = 2; t <= T; ++t) {  // p(z_{t-1} | z_t) at the sampled z_t
    pm.push_back(h.c[std::size_t(t - 1)] * z[std::size_t(t - 1)]);
    plv.push_back(Eigen::ArrayXXd::Constant(2, n, std::log(h.r[std::size_t(t - 1)])));
  }
  const latent::row_x<double> rec =
      latent::gaussian_fixed_log_likelihood(x, h.c[0] * z[0], std::sqrt(h.r[0]));
  // Luo's eq. 45 read literally: closed-form KL(q(z_t|z_{t-1}) || p(z_t|z_{t+1})) at the sampled
  // z_{t-1}, z_{t+1}. Biased, because z_{t+1} was drawn given z_t.
  latent::row_x<double> literal = rec;
  for (int t = 1; t <= T; ++t) {
    const Eigen::ArrayXXd qm = std::sqrt(kAlpha[std::size_t(t - 1)]) * (t == 1 ? x : z[std::size_t(t - 2)]);
    const Eigen::ArrayXXd qlv = Eigen::ArrayXXd::Constant(2, n, std::log(1 - kAlpha[std::size_t(t - 1)]));
    if (t == T) {
      literal -= latent::kl_diag_std_normal(qm, qlv);
    } else {
      literal -= latent::kl_diag_diag(qm, qlv, pm[std::size_t(t - 1)], plv[std::size_t(t - 1)]);
    }
  }
  // The general-encoder overload with the encoder's parameters at the sampled z_{t-1}.
  std::vector<Eigen::ArrayXXd> qm, qlv;
  for (int t = 1; t <= T; ++t) {
    qm.push_back(std::sqrt(kAlpha[std::size_t(t - 1)]) * (t == 1 ? x : z[std::size_t(t - 2)]));
    qlv.push_back(Eigen::ArrayXXd::Constant(2, n, std::log(1 - kAlpha[std::size_t(t - 1)])));
  }
  return {latent::mhvae_elbo_consistency(rec, q, x, z, pm, plv).transpose(),
          latent::mhvae_elbo_consistency(rec, z, qm, qlv, pm, plv).transpose(),
          latent::mhvae_elbo_denoising(rec, q, x, z, pm, plv).transpose(), literal.transpose()};
}

double var(const Eigen::ArrayXd& e) { return (e - e.mean()).square().sum() / double(e.size() - 1); }
double se_mean(const Eigen::ArrayXd& e) { return std::sqrt(var(e) / double(e.size())); }
// Standard error of a sample variance: sd of (e - mean)^2 over sqrt(n) (no normality assumed).
double se_var(const Eigen::ArrayXd& e) { return std::sqrt(var((e - e.mean()).square()) / double(e.size())); }
// Standard error of log(var(u) / var(w)) for paired draws, by the delta method with the
// empirical influence functions ((u - mean)^2 / var(u) - (w - mean)^2 / var(w)): it accounts for
// the heavy tails of the quadratic estimators and for their correlation.
double se_log_var_ratio(const Eigen::ArrayXd& u, const Eigen::ArrayXd& w) {
  const Eigen::ArrayXd psi = (u - u.mean()).square() / var(u) - (w - w.mean()).square() / var(w);
  return std::sqrt(var(psi) / double(u.size()));
}

// Exact values from tools/vae_reference.py, section mhvae (quadratic-form moments).
struct reference {
  double elbo, var_a, var_a_ratio, var_b, var_literal, literal_mean;
};

void check_estimators(const hierarchy& h, const reference& ref, const run& r) {
  const double exact = exact_elbo(h);
  CHECK(exact == Approx(ref.elbo).epsilon(1e-10));
  CHECK(literal_bias(h) == Approx(ref.elbo - ref.literal_mean).epsilon(1e-9));
  INFO("exact " << exact << "; (a) " << r.a.mean() << " +- " << se_mean(r.a) << " var " << var(r.a)
                << "; (a) log-ratio " << r.a_ratio.mean() << " +- " << se_mean(r.a_ratio) << " var "
                << var(r.a_ratio) << "; (b) " << r.b.mean() << " +- " << se_mean(r.b) << " var "
                << var(r.b) << "; eq. 45 literal " << r.literal.mean() << " +- "
                << se_mean(r.literal) << " var " << var(r.literal));
  // Unbiased: each mean within 5 standard errors of the exact ELBO.
  CHECK(std::abs(r.a.mean() - exact) < 5 * se_mean(r.a));
  CHECK(std::abs(r.a_ratio.mean() - exact) < 5 * se_mean(r.a_ratio));
  CHECK(std::abs(r.b.mean() - exact) < 5 * se_mean(r.b));
  // Luo's eq. 45 read literally is off by its closed-form bias, far beyond its standard error.
  CHECK(std::abs(r.literal.mean() - (exact - literal_bias(h))) < 5 * se_mean(r.literal));
  CHECK(literal_bias(h) > 20 * se_mean(r.literal));
  // Each sample variance matches the exact variance (5 standard errors).
  CHECK(std::abs(var(r.a) - ref.var_a) < 5 * se_var(r.a));
  CHECK(std::abs(var(r.a_ratio) - ref.var_a_ratio) < 5 * se_var(r.a_ratio));
  CHECK(std::abs(var(r.b) - ref.var_b) < 5 * se_var(r.b));
  CHECK(std::abs(var(r.literal) - ref.var_literal) < 5 * se_var(r.literal));
}
}  // namespace

TEST_CASE("MHVAE: both decompositions are unbiased; (b) has the lower variance for a decoder "
          "fitted to narrow data",
          "[mhvae][stat]") {
  // sd = 0.1: the data are narrow beside the forward noise, so the decoder's reverse slope c_t
  // is close to the slope of the Bayes posterior q(z_{t-1}|z_t, x) and the denoising-matching
  // terms hardly vary with z_t.
  const hierarchy h(0.1);
  const reference ref{2.41868790809, 0.1671425871, 0.6123616114, 0.05783413168, 1.647136029,
                      0.2686879081};
  const run r = estimate(h, kReplicates, 11);
  check_estimators(h, ref, r);
  // var(b) / var(a) = 0.346017 exactly. The measured log-ratio agrees with it within 5 of its
  // standard errors and lies more than 5 of them below 0: (b) has the lower variance.
  const double log_ratio = std::log(var(r.b) / var(r.a)), se = se_log_var_ratio(r.b, r.a);
  INFO("var(b) / var(a) = " << std::exp(log_ratio) << ", log-ratio standard error " << se);
  CHECK(std::abs(log_ratio - std::log(0.346017)) < 5 * se);
  CHECK(log_ratio + 5 * se < std::log(0.5));
}

TEST_CASE("MHVAE: both decompositions are unbiased; (a) has the lower variance for a decoder "
          "fitted to wide data",
          "[mhvae][stat]") {
  // sd = 1: the decoder is the exact reverse of the chain for N(0, 1) data, the ELBO is tight and
  // log p(x, z) - log q(z|x) is constant; the denoising-matching terms still vary with z_t
  // (the posterior knows x, the decoder does not), and (b) loses to (a).
  const hierarchy h(1.0);
  const reference ref{-2.16287706641, 1.344017671, 0.6133125, 1.699792175, 5.235925, -4.312877066};
  const run r = estimate(h, kReplicates, 12);
  check_estimators(h, ref, r);
  const double log_ratio = std::log(var(r.b) / var(r.a)), se = se_log_var_ratio(r.b, r.a);
  INFO("var(b) / var(a) = " << std::exp(log_ratio) << ", log-ratio standard error " << se);
  CHECK(std::abs(log_ratio - std::log(1.264710)) < 5 * se);
  CHECK(log_ratio - 5 * se > 0);
}

TEST_CASE("markov_gaussian_encoder: marginals and posterior agree with sampling", "[mhvae][stat]") {
  const auto q = latent::markov_gaussian_encoder::variance_preserving(kAlpha);
  CHECK(q.steps() == 4);
  CHECK(q.marginal_scale(0) == 1.0);
  CHECK(q.marginal_variance(0) == 0.0);
  // Variance preserving: abar^2 + vbar = 1 at every t.
  for (int t = 0; t <= 4; ++t)
    CHECK(q.marginal_scale(t) * q.marginal_scale(t) + q.marginal_variance(t) == Approx(1.0));
  CHECK(q.marginal_scale(4) == Approx(std::sqrt(0.9 * 0.75 * 0.6 * 0.5)));
  // Posterior coefficients from the DDPM formulas (Ho et al. 2020 eq. 7):
  // coef_x = sqrt(abar_{t-1}) beta_t / (1 - abar_t), coef_z = sqrt(alpha_t)(1 - abar_{t-1}) / (1 - abar_t).
  double abar = 1;
  for (int t = 1; t <= 4; ++t) {
    const double prev = abar;
    abar *= kAlpha[t - 1];
    if (t < 2) continue;
    const auto c = q.posterior(t);
    CHECK(c.coef_x == Approx(std::sqrt(prev) * (1 - kAlpha[t - 1]) / (1 - abar)));
    CHECK(c.coef_z == Approx(std::sqrt(kAlpha[t - 1]) * (1 - prev) / (1 - abar)));
    CHECK(c.variance == Approx((1 - prev) / (1 - abar) * (1 - kAlpha[t - 1])));
  }
  // Sampled z_4 has mean abar_4 x and variance vbar_4 (5 standard errors).
  const Eigen::Index n = kReplicates;
  latent::philox4x32 engine(5);
  const Eigen::ArrayXXd x = Eigen::ArrayXXd::Constant(1, n, 0.8);
  const auto z = latent::markov_gaussian_trajectory(q, x, engine);
  const double v4 = q.marginal_variance(4);
  CHECK(std::abs(z[3].mean() - q.marginal_scale(4) * 0.8) < 5 * std::sqrt(v4 / double(n)));
  CHECK(std::abs((z[3] - z[3].mean()).square().mean() - v4) < 5 * v4 * std::sqrt(2.0 / double(n)));
  // A general (non variance-preserving) chain.
  latent::markov_gaussian_encoder g({2.0, 0.5}, {0.1, 0.3});
  CHECK(g.marginal_scale(2) == Approx(1.0));
  CHECK(g.marginal_variance(2) == Approx(0.25 * 0.1 + 0.3));
}

TEST_CASE("MHVAE functions validate their arguments", "[mhvae]") {
  CHECK_THROWS_AS(latent::markov_gaussian_encoder({1.0}, {}), std::invalid_argument);
  CHECK_THROWS_WITH(latent::markov_gaussian_encoder({1.0}, {}),
                    Contains("latent::markov_gaussian_encoder: scale has 1 steps and variance has 0"));
  CHECK_THROWS_AS(latent::markov_gaussian_encoder({1.0}, {0.0}), std::domain_error);
  CHECK_THROWS_WITH(latent::markov_gaussian_encoder({1.0}, {0.0}),
                    Contains("latent::markov_gaussian_encoder: variance[0] is 0, but must be positive"));
  CHECK_THROWS_WITH(latent::markov_gaussian_encoder({NAN}, {1.0}),
                    Contains("latent::markov_gaussian_encoder: scale[0] is nan, but must be finite"));
  CHECK_THROWS_WITH(latent::markov_gaussian_encoder::variance_preserving({0.5, 1.0}),
                    Contains("variance_preserving: alpha[1] is 1, but must be in (0, 1)"));
  const auto q = latent::markov_gaussian_encoder::variance_preserving({0.9, 0.8});
  CHECK_THROWS_AS(q.posterior(1), std::domain_error);
  CHECK_THROWS_WITH(q.posterior(1), Contains("latent::markov_gaussian_encoder: t = 1 is out of range [2, 2]"));
  CHECK_THROWS_WITH(q.scale(3), Contains("t = 3 is out of range [1, 2]"));
  CHECK_THROWS_AS(q.bridge(2), std::domain_error);
  CHECK_THROWS_WITH(q.bridge(2), Contains("latent::markov_gaussian_encoder: t = 2 is out of range [1, 1]"));
  const Eigen::ArrayXXd x = Eigen::ArrayXXd::Zero(2, 3);
  std::vector<Eigen::ArrayXXd> one{x};
  CHECK_THROWS_WITH(latent::markov_gaussian_trajectory(q, x, one),
                    Contains("latent::markov_gaussian_trajectory: eps has 1 arrays, but must have one per step (2)"));
  std::vector<Eigen::ArrayXXd> bad{x, Eigen::ArrayXXd::Zero(2, 2)};
  CHECK_THROWS_WITH(latent::markov_gaussian_trajectory(q, x, bad),
                    Contains("latent::markov_gaussian_trajectory: x is 2 x 3 but eps[t] is 2 x 2"));
  const latent::row_x<double> rec = latent::row_x<double>::Zero(3);
  std::vector<Eigen::ArrayXXd> z{x, x}, none;
  CHECK_THROWS_WITH(latent::mhvae_elbo_denoising(rec, q, x, z, none, none),
                    Contains("latent::mhvae_elbo_denoising: p_mean has 0 and p_log_var has 0 arrays, but each must have T - 1 = 1"));
  CHECK_THROWS_WITH(latent::mhvae_elbo_consistency(rec, q, x, one, one, one),
                    Contains("latent::mhvae_elbo_consistency: z has 1 arrays, but must have one per step (2)"));
  CHECK_THROWS_WITH(latent::mhvae_elbo_consistency(rec, none, none, none, none, none),
                    Contains("latent::mhvae_elbo_consistency: z has 0, q_mean has 0 and q_log_var has 0 arrays"));
  CHECK_THROWS_WITH(latent::mhvae_elbo_denoising(latent::row_x<double>::Zero(2), q, x, z, one, one),
                    Contains("latent::mhvae_elbo_denoising: reconstruction has 2 columns, but must have 3"));
}
