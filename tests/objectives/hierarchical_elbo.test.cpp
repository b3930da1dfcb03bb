// Tests for latent/objectives/hierarchical_elbo.hpp on a linear-Gaussian hierarchy whose
// ELBO is exact: both decompositions are unbiased for it, and the denoising-matching form (b)
// has lower variance than the consistency form (a).
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

// Decoder: p(x|z_1) = N(c_1 z_1, r_1), p(z_{t-1}|z_t) = N(c_t z_t, r_t) for t = 2..T,
// p(z_T) = N(0, 1), independently in each coordinate: the exact reverse process of the
// chain for data ~ N(0, 1), c_t = sqrt(alpha_t), r_t = 1 - alpha_t (what a well-trained
// decoder learns for such data), perturbed slightly. For the fixed x below it is not the
// posterior, so every KL term is non-zero.
const std::vector<double> kAlpha{0.9, 0.75, 0.6, 0.5};
const std::vector<double> kC{0.95, 0.85, 0.8, 0.7};
const std::vector<double> kR{0.12, 0.25, 0.4, 0.5};

// Exact ELBO = E_q[log p(x, z)] + H[q(z|x)] from the joint Gaussian moments of the chain,
// computed without the posterior formulas of the library.
double exact_elbo(const std::vector<double>& xs) {
  const int T = int(kAlpha.size());
  double total = 0;
  for (double x : xs) {
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
      const double c = kC[t - 1], r = kR[t - 1];
      const double d2 = (m[t - 1] - c * m[t]) * (m[t - 1] - c * m[t]) + v[t - 1] + c * c * v[t] -
                        2 * c * cov_prev[t];
      e += -0.5 * std::log(2 * M_PI * r) - 0.5 * d2 / r;
    }
    for (int t = 1; t <= T; ++t) e += 0.5 * std::log(2 * M_PI * M_E * (1 - kAlpha[t - 1]));
    total += e;
  }
  return total;
}

struct run {
  Eigen::ArrayXd a_rb, a_ratio, b, naive_kl;
};

run estimate(Eigen::Index n, std::uint64_t seed) {
  const auto q = latent::markov_gaussian_encoder::variance_preserving(kAlpha);
  const Eigen::ArrayXXd x = Eigen::Array2d(0.7, -0.4).replicate(1, n);
  latent::philox4x32 engine(seed);
  const auto z = latent::markov_gaussian_trajectory(q, x, engine);
  const int T = q.steps();
  std::vector<Eigen::ArrayXXd> pm, plv;
  for (int t = 2; t <= T; ++t) {  // p(z_{t-1} | z_t) at the sampled z_t
    pm.push_back(kC[t - 1] * z[std::size_t(t - 1)]);
    plv.push_back(Eigen::ArrayXXd::Constant(2, n, std::log(kR[t - 1])));
  }
  const latent::row_x<double> rec = latent::gaussian_fixed_log_likelihood(x, kC[0] * z[0], std::sqrt(kR[0]));
  // Luo's eq. 45 read literally: closed-form KL(q(z_t|z_{t-1}) || p(z_t|z_{t+1})) at the sampled
  // z_{t-1}, z_{t+1}. Biased, because z_{t+1} was drawn given z_t.
  latent::row_x<double> naive = rec;
  for (int t = 1; t <= T; ++t) {
    const Eigen::ArrayXXd qm =
        std::sqrt(kAlpha[t - 1]) * (t == 1 ? x : z[std::size_t(t - 2)]);
    const Eigen::ArrayXXd qlv = Eigen::ArrayXXd::Constant(2, n, std::log(1 - kAlpha[t - 1]));
    if (t == T) {
      naive -= latent::kl_diag_std_normal(qm, qlv);
    } else {
      naive -= latent::kl_diag_diag(qm, qlv, pm[std::size_t(t - 1)], plv[std::size_t(t - 1)]);
    }
  }
  // The general-encoder overload with the encoder's parameters at the sampled z_{t-1}.
  std::vector<Eigen::ArrayXXd> qm, qlv;
  for (int t = 1; t <= T; ++t) {
    qm.push_back(std::sqrt(kAlpha[t - 1]) * (t == 1 ? x : z[std::size_t(t - 2)]));
    qlv.push_back(Eigen::ArrayXXd::Constant(2, n, std::log(1 - kAlpha[t - 1])));
  }
  return {latent::mhvae_elbo_consistency(rec, q, x, z, pm, plv).transpose(),
          latent::mhvae_elbo_consistency(rec, z, qm, qlv, pm, plv).transpose(),
          latent::mhvae_elbo_denoising(rec, q, x, z, pm, plv).transpose(), naive.transpose()};
}

double var(const Eigen::ArrayXd& e) { return (e - e.mean()).square().sum() / double(e.size() - 1); }
}  // namespace

TEST_CASE("MHVAE: both decompositions are unbiased for the exact ELBO; their variances",
          "[mhvae][stat]") {
  const double exact = exact_elbo({0.7, -0.4});
  const Eigen::Index n = kReplicates;
  const run r = estimate(n, 11);
  const double v_rb = var(r.a_rb), v_ratio = var(r.a_ratio), v_b = var(r.b), v_n = var(r.naive_kl);
  const double se_rb = std::sqrt(v_rb / double(n)), se_ratio = std::sqrt(v_ratio / double(n)),
               se_b = std::sqrt(v_b / double(n)), se_n = std::sqrt(v_n / double(n));
  INFO("exact " << exact << "; (a) Rao-Blackwellized " << r.a_rb.mean() << " +- " << se_rb
                << " var " << v_rb << "; (a) log-ratio " << r.a_ratio.mean() << " +- " << se_ratio
                << " var " << v_ratio << "; (b) " << r.b.mean() << " +- " << se_b << " var " << v_b
                << "; eq. 45 literal " << r.naive_kl.mean() << " +- " << se_n << " var " << v_n);
  CHECK(std::abs(r.a_rb.mean() - exact) < 5 * se_rb);
  CHECK(std::abs(r.a_ratio.mean() - exact) < 5 * se_ratio);
  CHECK(std::abs(r.b.mean() - exact) < 5 * se_b);
  // Luo's eq. 45 read literally (closed-form KL at the sampled z_{t-1}, z_{t+1}) is biased
  // by far more than its standard error ...
  CHECK(std::abs(r.naive_kl.mean() - exact) > 20 * se_n);
  // ... and it is the form against which (b) has the lower variance, as Luo expects.
  // With n draws the log of a sample-variance ratio has a standard error of about
  // 2 sqrt(2 / n) < 0.01 here, so the margins below are far outside the noise.
  CHECK(v_n / v_b > 1.5);
  // The unbiased forms of (a) have the LOWER variance on this hierarchy (see docs/vae.md):
  // their per-step terms fluctuate against one another along the trajectory.
  CHECK(v_b / v_rb > 1.1);
  CHECK(v_b / v_ratio > 1.5);
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
