// Tests for latent/objectives/iwae.hpp on the linear-Gaussian model of linear_gaussian.hpp:
// ELBO <= IWAE_K <= log p(x), IWAE_K increasing in K and approaching log p(x).
#include "latent/objectives/iwae.hpp"

#include <catch2/catch.hpp>
#include <cmath>

#include "distributions/vae_test_util.hpp"
#include "objectives/linear_gaussian.hpp"

using namespace vae_test;
using Catch::Matchers::Contains;

namespace {
#ifdef LATENT_SANITIZER_BUILD
constexpr Eigen::Index kReplicates = 4000;  // the K = 16 -> 64 step (about 0.06) needs 5 SE < 0.04
constexpr Eigen::Index kLarge = 20000;
#else
constexpr Eigen::Index kReplicates = 8000;
constexpr Eigen::Index kLarge = 400000;
#endif
struct estimate {
  double mean, se;
};
estimate summarize(const Eigen::ArrayXXd& row) {
  const Eigen::ArrayXd e = row.transpose();
  const double m = e.mean();
  return {m, std::sqrt((e - m).square().sum() / double(e.size() - 1) / double(e.size()))};
}
}  // namespace

TEST_CASE("IWAE_K: ELBO <= IWAE_K <= log p(x), increasing in K, approaching log p(x)",
          "[iwae][stat]") {
  linear_gaussian m;
  const Eigen::Index b = kReplicates;
  const Eigen::ArrayXXd mu = m.q_mean().replicate(1, b).array();
  const Eigen::ArrayXXd lv = m.q_log_var().replicate(1, b).array();
  latent::philox4x32 engine(31);
  auto lj = [&](const Eigen::ArrayXXd& z) { return m.log_joint(z); };
  const double elbo = m.exact_elbo(), lpx = m.log_px();
  std::vector<estimate> est;
  const Eigen::Index ks[] = {1, 4, 16, 64};
  for (Eigen::Index k : ks) {
    latent::philox4x32 e2(100 + std::uint64_t(k));
    const Eigen::ArrayXXd eps = latent::randn<Eigen::ArrayXXd>(2, k * b, e2);
    const Eigen::ArrayXXd lw = latent::iwae_gaussian_log_weights(mu, lv, lj, eps);
    const Eigen::ArrayXXd bound = latent::iwae_bound(lw);
    // Jensen, per draw: log-mean-exp >= mean of the logs (the L = K ELBO estimate).
    CHECK((bound - lw.colwise().mean()).minCoeff() >= -1e-12);
    est.push_back(summarize(bound));
    INFO("K = " << k << ": " << est.back().mean << " +- " << est.back().se << "; ELBO " << elbo
                << ", log p(x) " << lpx);
    CHECK(est.back().mean < lpx + 5 * est.back().se);
    CHECK(est.back().mean > elbo - 5 * est.back().se);
  }
  // IWAE_1 is the ELBO.
  CHECK(std::abs(est[0].mean - elbo) < 5 * est[0].se);
  // Strictly increasing: each step exceeds 5 combined standard errors.
  for (std::size_t i = 1; i < est.size(); ++i) {
    INFO("step " << i);
    CHECK(est[i].mean - est[i - 1].mean > 5 * std::hypot(est[i].se, est[i - 1].se));
  }
  // The gap to log p(x) shrinks (roughly like 1/K: Burda et al. 2016; Rainforth et al. 2018).
  CHECK(lpx - est.back().mean < 0.1 * (lpx - elbo));
  // Engine overload: same result as drawing the noise by hand.
  latent::philox4x32 a(9), bb(9);
  const Eigen::ArrayXXd eps = latent::randn<Eigen::ArrayXXd>(2, 4 * 3, bb);
  CHECK(max_abs_diff(latent::iwae_gaussian(mu.leftCols(3), lv.leftCols(3), lj, 4, a),
                     latent::iwae_gaussian(mu.leftCols(3), lv.leftCols(3), lj, eps)) == 0);
}

TEST_CASE("marginal likelihood: importance sampling and naive prior sampling", "[iwae][stat]") {
  linear_gaussian m;
  const double lpx = m.log_px();
  const Eigen::Index n = kLarge;
  latent::philox4x32 engine(77);
  // Importance sampling with q: one column, n samples (as rows).
  const Eigen::ArrayXXd mu = m.q_mean().array(), lv = m.q_log_var().array();
  auto lj = [&](const Eigen::ArrayXXd& z) { return m.log_joint(z); };
  const Eigen::ArrayXXd eps = latent::randn<Eigen::ArrayXXd>(2, n, engine);
  const Eigen::ArrayXXd lw_row = latent::iwae_gaussian_log_weights(
      mu.replicate(1, n), lv.replicate(1, n), lj, eps);  // 1 x n: K = 1 per column
  const Eigen::ArrayXXd lw = lw_row.transpose();                        // n x 1
  const double is = latent::log_marginal_likelihood_importance(lw, Eigen::ArrayXXd::Zero(n, 1))(0);
  // Delta method: se(log mean w) = sd(w) / (sqrt(n) mean(w)).
  const Eigen::ArrayXd w = (lw.col(0) - lw.maxCoeff()).exp();
  const double se_is = std::sqrt((w - w.mean()).square().mean() / double(n)) / w.mean();
  INFO("importance " << is << " +- " << se_is << ", exact " << lpx);
  CHECK(std::abs(is - lpx) < 5 * se_is);
  CHECK(max_abs_diff(latent::log_marginal_likelihood_importance(lw, lw * 0.0), latent::iwae_bound(lw)) == 0);

  // Naive: z ~ p(z) = N(0, I).
  const Eigen::ArrayXXd z = latent::randn<Eigen::ArrayXXd>(2, n, engine);
  const Eigen::ArrayXXd ll = m.log_likelihood(z).transpose();
  const double naive = latent::log_marginal_likelihood_prior(ll)(0);
  const Eigen::ArrayXd wn = (ll.col(0) - ll.maxCoeff()).exp();
  const double se_n = std::sqrt((wn - wn.mean()).square().mean() / double(n)) / wn.mean();
  INFO("naive " << naive << " +- " << se_n);
  CHECK(std::abs(naive - lpx) < 5 * se_n);
  // Importance sampling with a decent q is the lower-variance estimator.
  CHECK(se_is < se_n);
}

TEST_CASE("IWAE normalized weights and the IWAE gradient", "[iwae][grad]") {
  linear_gaussian m;
  const Eigen::Index b = 2, k = 4;
  Eigen::ArrayXXd mu(2, b), lv(2, b);
  mu << 0.3, -0.2, 0.5, 0.1;
  lv << -0.4, 0.2, -1.0, 0.3;
  latent::philox4x32 engine(3);
  const Eigen::ArrayXXd eps = latent::randn<Eigen::ArrayXXd>(2, k * b, engine);
  auto lj = [&](const Eigen::ArrayXXd& z) { return m.log_joint(z); };
  const Eigen::ArrayXXd lw = latent::iwae_gaussian_log_weights(mu, lv, lj, eps);
  const Eigen::ArrayXXd w = latent::iwae_normalized_weights(lw);
  CHECK((w.colwise().sum() - 1.0).abs().maxCoeff() < 1e-14);
  CHECK(w.minCoeff() > 0);
  Eigen::ArrayXXd grad_z(2, k * b);
  for (Eigen::Index i = 0; i < k; ++i) {
    const Eigen::ArrayXXd z = latent::diag_gaussian_rsample(mu, lv, eps.middleCols(i * b, b));
    grad_z.middleCols(i * b, b) = m.grad_log_likelihood(z) - z;  // d log p(x, z) / dz
  }
  const Eigen::ArrayXXd g = from_cols({{0.7}, {-1.3}});
  const auto an = latent::iwae_gaussian_vjp(mu, lv, eps, grad_z, lw, g);
  const std::vector<arr> in{mu, lv};
  const auto v = ad_vars(in);
  auto lj_ad = [&](const ad_arr& z) { return m.log_joint(z); };
  const ad loss = (latent::iwae_gaussian(v[0], v[1], lj_ad, eps.cast<ad>()) * g.cast<ad>()).sum();
  const auto adg = ad_grads(loss, in);
  CHECK(max_abs_diff(an.mean, adg[0]) < 1e-10);
  CHECK(max_abs_diff(an.log_var, adg[1]) < 1e-10);
  const auto fdg = fd_grads(
      [&](const std::vector<arr>& p) { return (latent::iwae_gaussian(p[0], p[1], lj, eps) * g).sum(); }, in);
  CHECK(max_abs_diff(an.mean, fdg[0]) < 1e-6);
  CHECK(max_abs_diff(an.log_var, fdg[1]) < 1e-6);
}

TEST_CASE("IWAE functions validate their arguments", "[iwae]") {
  const Eigen::ArrayXXd empty(0, 3), mu = Eigen::ArrayXXd::Zero(2, 3);
  CHECK_THROWS_AS(latent::iwae_bound(empty), std::invalid_argument);
  CHECK_THROWS_WITH(latent::iwae_bound(empty), Contains("latent::iwae_bound: log_weights is empty"));
  CHECK_THROWS_WITH(latent::iwae_normalized_weights(empty),
                    Contains("latent::iwae_normalized_weights: log_weights is empty"));
  CHECK_THROWS_WITH(latent::log_marginal_likelihood_prior(empty),
                    Contains("latent::log_marginal_likelihood_prior: log_likelihood is empty"));
  CHECK_THROWS_WITH(latent::log_marginal_likelihood_importance(mu, Eigen::ArrayXXd::Zero(3, 3)),
                    Contains("latent::log_marginal_likelihood_importance: log_joint is 2 x 3 but log_proposal is 3 x 3"));
  auto lj = [](const Eigen::ArrayXXd& z) { return Eigen::ArrayXXd(Eigen::ArrayXXd::Zero(1, z.cols())); };
  CHECK_THROWS_WITH(latent::iwae_gaussian(mu, mu, lj, Eigen::ArrayXXd::Zero(2, 5)),
                    Contains("latent::iwae_gaussian: eps has 5 columns, but must have a positive multiple"));
  latent::philox4x32 engine(1);
  CHECK_THROWS_WITH(latent::iwae_gaussian(mu, mu, lj, -2, engine),
                    Contains("latent::iwae_gaussian: samples = -2, but must be at least 1"));
  CHECK_THROWS_WITH(latent::iwae_gaussian_vjp(mu, mu, Eigen::ArrayXXd::Zero(2, 6), Eigen::ArrayXXd::Zero(2, 6),
                                              Eigen::ArrayXXd::Zero(3, 3), Eigen::ArrayXXd::Zero(1, 3)),
                    Contains("latent::iwae_gaussian_vjp: log_weights has 3 rows, but must have 2"));
}
