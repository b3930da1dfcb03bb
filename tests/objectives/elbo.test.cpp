// Tests for latent/objectives/elbo.hpp on the linear-Gaussian model of linear_gaussian.hpp,
// whose ELBO and log p(x) are exact.
#include "latent/objectives/elbo.hpp"

#include <catch2/catch.hpp>
#include <cmath>

#include "distributions/vae_test_util.hpp"
#include "objectives/linear_gaussian.hpp"

using namespace vae_test;
using Catch::Matchers::Contains;

namespace {
#ifdef LATENT_SANITIZER_BUILD
constexpr Eigen::Index kReplicates = 2000;
#else
constexpr Eigen::Index kReplicates = 40000;
#endif
}  // namespace

TEST_CASE("elbo_gaussian is unbiased for the exact ELBO, which is below log p(x)", "[elbo][stat]") {
  linear_gaussian m;
  REQUIRE(m.exact_elbo() < m.log_px() - 0.3);  // a visible gap
  const Eigen::Index b = kReplicates;
  const Eigen::ArrayXXd mu = m.q_mean().replicate(1, b).array();
  const Eigen::ArrayXXd lv = m.q_log_var().replicate(1, b).array();
  latent::philox4x32 engine(2024);
  auto ll = [&](const Eigen::ArrayXXd& z) { return m.log_likelihood(z); };
  for (Eigen::Index l : {1, 4}) {
    const Eigen::ArrayXd e = latent::elbo_gaussian(mu, lv, ll, l, engine).transpose();
    const double mean = e.mean();
    const double se = std::sqrt((e - mean).square().sum() / double(b - 1) / double(b));
    INFO("L = " << l << ": mean " << mean << ", exact " << m.exact_elbo() << ", se " << se);
    CHECK(std::abs(mean - m.exact_elbo()) < 5 * se);
    CHECK(se > 0);
  }
}

TEST_CASE("elbo, elbo_monte_carlo and elbo_gaussian agree on the same samples", "[elbo]") {
  linear_gaussian m;
  const Eigen::Index b = 3, l = 5;
  const Eigen::ArrayXXd mu = m.q_mean().replicate(1, b).array();
  const Eigen::ArrayXXd lv = m.q_log_var().replicate(1, b).array();
  latent::philox4x32 engine(7);
  const Eigen::ArrayXXd eps = latent::randn<Eigen::ArrayXXd>(2, l * b, engine);
  Eigen::ArrayXXd rec(l, b), lp(l, b), lq(l, b);
  for (Eigen::Index k = 0; k < l; ++k) {
    const Eigen::ArrayXXd z = latent::diag_gaussian_rsample(mu, lv, eps.middleCols(k * b, b));
    rec.row(k) = m.log_likelihood(z);
    lp.row(k) = latent::standard_normal_log_prob(z);
    lq.row(k) = latent::diag_gaussian_log_prob(z, mu, lv);
  }
  const Eigen::ArrayXXd kl = latent::kl_diag_std_normal(mu, lv);
  auto ll = [&](const Eigen::ArrayXXd& z) { return m.log_likelihood(z); };
  const Eigen::ArrayXXd a = latent::elbo(rec, kl);
  const Eigen::ArrayXXd g = latent::elbo_gaussian(mu, lv, ll, eps);
  CHECK(max_abs_diff(a, g) < 1e-12);
  CHECK(max_abs_diff(latent::elbo(rec, kl, 0.25), rec.colwise().mean() - 0.25 * kl) < 1e-12);
  // The Monte Carlo KL differs from the closed form by sampling noise only.
  const Eigen::ArrayXXd mc = latent::elbo_monte_carlo(rec, lp, lq);
  CHECK(max_abs_diff(mc, rec.colwise().mean() - (lq - lp).colwise().mean()) < 1e-12);
  CHECK(max_abs_diff(latent::elbo_monte_carlo(rec, lp, lq, 0.0), rec.colwise().mean()) < 1e-12);
}

TEST_CASE("elbo_monte_carlo is unbiased for the exact ELBO", "[elbo][stat]") {
  linear_gaussian m;
  const Eigen::Index b = kReplicates;
  const Eigen::ArrayXXd mu = m.q_mean().replicate(1, b).array();
  const Eigen::ArrayXXd lv = m.q_log_var().replicate(1, b).array();
  latent::philox4x32 engine(99);
  const Eigen::ArrayXXd z = latent::diag_gaussian_sample(mu, lv, engine);
  const Eigen::ArrayXd e =
      latent::elbo_monte_carlo(m.log_likelihood(z), latent::standard_normal_log_prob(z),
                               latent::diag_gaussian_log_prob(z, mu, lv))
          .transpose();
  const double se = std::sqrt((e - e.mean()).square().sum() / double(b - 1) / double(b));
  CHECK(std::abs(e.mean() - m.exact_elbo()) < 5 * se);
}

TEST_CASE("elbo_gaussian_vjp matches AutoDiffScalar and finite differences", "[elbo][grad]") {
  linear_gaussian m;
  const Eigen::Index b = 2, l = 3;
  Eigen::ArrayXXd mu(2, b), lv(2, b);
  mu << 0.3, -0.2, 0.5, 0.1;
  lv << -0.4, 0.2, -1.0, 0.3;
  latent::philox4x32 engine(5);
  const Eigen::ArrayXXd eps = latent::randn<Eigen::ArrayXXd>(2, l * b, engine);
  const Eigen::ArrayXXd g = from_cols({{0.7}, {-1.3}});
  const double beta = 0.6;
  Eigen::ArrayXXd grad_z(2, l * b);
  for (Eigen::Index k = 0; k < l; ++k)
    grad_z.middleCols(k * b, b) =
        m.grad_log_likelihood(latent::diag_gaussian_rsample(mu, lv, eps.middleCols(k * b, b)));
  const auto an = latent::elbo_gaussian_vjp(mu, lv, eps, grad_z, g, beta);

  const std::vector<arr> in{mu, lv};
  const auto v = ad_vars(in);
  auto ll_ad = [&](const ad_arr& z) { return m.log_likelihood(z); };
  const ad loss = (latent::elbo_gaussian(v[0], v[1], ll_ad, eps.cast<ad>(), beta) * g.cast<ad>()).sum();
  const auto adg = ad_grads(loss, in);
  CHECK(max_abs_diff(an.mean, adg[0]) < 1e-10);
  CHECK(max_abs_diff(an.log_var, adg[1]) < 1e-10);
  auto ll = [&](const Eigen::ArrayXXd& z) { return m.log_likelihood(z); };
  const auto fdg = fd_grads(
      [&](const std::vector<arr>& p) { return (latent::elbo_gaussian(p[0], p[1], ll, eps, beta) * g).sum(); },
      in);
  CHECK(max_abs_diff(an.mean, fdg[0]) < 1e-6);
  CHECK(max_abs_diff(an.log_var, fdg[1]) < 1e-6);
}

TEST_CASE("ELBO functions validate their arguments", "[elbo]") {
  const Eigen::ArrayXXd r = Eigen::ArrayXXd::Zero(4, 3), k = Eigen::ArrayXXd::Zero(1, 3);
  CHECK_THROWS_AS(latent::elbo(r, Eigen::ArrayXXd::Zero(1, 2)), std::invalid_argument);
  CHECK_THROWS_WITH(latent::elbo(r, Eigen::ArrayXXd::Zero(1, 2)),
                    Contains("latent::elbo: kl has 2 columns, but must have 3"));
  CHECK_THROWS_WITH(latent::elbo(r, Eigen::ArrayXXd::Zero(2, 3)),
                    Contains("latent::elbo: kl has 2 rows, but must have 1"));
  CHECK_THROWS_AS(latent::elbo(r, k, -1.0), std::domain_error);
  CHECK_THROWS_WITH(latent::elbo(r, k, -1.0), Contains("latent::elbo: beta is -1, but must be non-negative"));
  CHECK_THROWS_WITH(latent::elbo(Eigen::ArrayXXd(0, 3), k), Contains("latent::elbo: log_likelihood is empty"));
  CHECK_THROWS_WITH(latent::elbo_monte_carlo(r, k, r),
                    Contains("latent::elbo_monte_carlo: log_likelihood is 4 x 3 but log_prior is 1 x 3"));
  const Eigen::ArrayXXd mu = Eigen::ArrayXXd::Zero(2, 3);
  auto ll = [](const Eigen::ArrayXXd& z) { return Eigen::ArrayXXd(Eigen::ArrayXXd::Zero(1, z.cols())); };
  CHECK_THROWS_WITH(latent::elbo_gaussian(mu, mu, ll, Eigen::ArrayXXd::Zero(2, 4)),
                    Contains("latent::elbo_gaussian: eps has 4 columns, but must have a positive multiple of the 3 columns"));
  CHECK_THROWS_WITH(latent::elbo_gaussian(mu, mu, ll, Eigen::ArrayXXd::Zero(3, 3)),
                    Contains("latent::elbo_gaussian: eps has 3 rows, but must have 2"));
  auto bad_ll = [](const Eigen::ArrayXXd&) { return Eigen::ArrayXXd(Eigen::ArrayXXd::Zero(1, 1)); };
  CHECK_THROWS_WITH(latent::elbo_gaussian(mu, mu, bad_ll, Eigen::ArrayXXd::Zero(2, 3)),
                    Contains("latent::elbo_gaussian: log_likelihood(z) has 1 columns, but must have 3"));
  latent::philox4x32 engine(1);
  CHECK_THROWS_AS(latent::elbo_gaussian(mu, mu, ll, 0, engine), std::invalid_argument);
  CHECK_THROWS_WITH(latent::elbo_gaussian(mu, mu, ll, 0, engine),
                    Contains("latent::elbo_gaussian: samples = 0, but must be at least 1"));
  CHECK_THROWS_WITH(latent::elbo_gaussian_vjp(mu, mu, Eigen::ArrayXXd::Zero(2, 6), Eigen::ArrayXXd::Zero(2, 3), k),
                    Contains("latent::elbo_gaussian_vjp: eps is 2 x 6 but grad_z is 2 x 3"));
}
