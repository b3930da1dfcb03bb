// Tests for latent/divergences/kl_gaussian.hpp.
// Spot values: tools/vae_reference.py, section "gaussian" (torch.distributions.kl_divergence).
#include "latent/divergences/kl_gaussian.hpp"

#include <catch2/catch.hpp>
#include <cmath>

#include "distributions/vae_test_util.hpp"

using namespace vae_test;
using Catch::Matchers::Contains;

namespace {
template <class S>
struct fixture {
  latent::array_xx<S> mu = from_cols<S>({{0.5, -1.0, 2.0}, {0.0, 0.3, -0.7}});
  latent::array_xx<S> lv = from_cols<S>({{-0.5, 0.2, 1.0}, {0.0, -2.0, 0.4}});
  latent::array_xx<S> mu_p = from_cols<S>({{0.1, 0.2, -0.3}, {1.0, -1.0, 0.0}});
  latent::array_xx<S> lv_p = from_cols<S>({{0.3, -0.4, 0.0}, {1.5, 0.5, -1.0}});
};
template <class S>
double tol() { return std::is_same<S, float>::value ? 2e-5 : 1e-12; }
}  // namespace

TEMPLATE_TEST_CASE("Gaussian KLs match torch.distributions", "[kl]", float, double) {
  using S = TestType;
  fixture<S> f;
  const latent::row_x<S> k0 = latent::kl_diag_std_normal(f.mu, f.lv);
  CHECK(k0(0) == Approx(3.0481076231659245).epsilon(tol<S>()));
  CHECK(k0(1) == Approx(0.9035799904389414).epsilon(tol<S>()));
  const latent::row_x<S> k = latent::kl_diag_diag(f.mu, f.lv, f.mu_p, f.lv_p);
  CHECK(k(0) == Approx(4.373244036439639).epsilon(tol<S>()));
  CHECK(k(1) == Approx(3.270270098312358).epsilon(tol<S>()));
  // Element-wise forms sum to the per-sample ones.
  const latent::array_xx<S> e0 = latent::kl_diag_std_normal_elementwise(f.mu, f.lv);
  const latent::array_xx<S> e = latent::kl_diag_diag_elementwise(f.mu, f.lv, f.mu_p, f.lv_p);
  CHECK((e0.colwise().sum() - k0).abs().maxCoeff() < 10 * tol<S>());
  CHECK((e.colwise().sum() - k).abs().maxCoeff() < 10 * tol<S>());
  // The value types forward to the same functions.
  latent::diag_gaussian<S> q(f.mu, f.lv), p(f.mu_p, f.lv_p);
  CHECK((latent::kl_divergence(q, p) - k).abs().maxCoeff() == 0);
  CHECK((latent::kl_divergence(q, latent::standard_normal<S>(3)) - k0).abs().maxCoeff() == 0);
  // KL(q || N(0, I)) is KL(q || diag) with zero mean and log-variance.
  const latent::array_xx<S> z = latent::array_xx<S>::Zero(3, 2);
  CHECK((latent::kl_diag_diag(f.mu, f.lv, z, z) - k0).abs().maxCoeff() < 10 * tol<S>());
}

TEMPLATE_TEST_CASE("Gaussian KL properties: KL(p, p) = 0 and KL >= 0", "[kl]", float, double) {
  using S = TestType;
  std::srand(7);
  for (int rep = 0; rep < 20; ++rep) {
    const latent::array_xx<S> mq = latent::array_xx<S>::Random(5, 8) * S(3);
    const latent::array_xx<S> lq = latent::array_xx<S>::Random(5, 8) * S(4);
    const latent::array_xx<S> mp = latent::array_xx<S>::Random(5, 8) * S(3);
    const latent::array_xx<S> lp = latent::array_xx<S>::Random(5, 8) * S(4);
    CHECK(latent::kl_diag_diag(mq, lq, mq, lq).abs().maxCoeff() < 1e3 * tol<S>());
    CHECK(latent::kl_diag_diag(mq, lq, mp, lp).minCoeff() > 0);
    CHECK(latent::kl_diag_std_normal(mq, lq).minCoeff() > 0);
  }
  const latent::array_xx<S> z = latent::array_xx<S>::Zero(4, 3);
  CHECK(latent::kl_diag_std_normal(z, z).abs().maxCoeff() == 0);
}

TEST_CASE("Gaussian KL VJPs match AutoDiffScalar and finite differences", "[kl][grad]") {
  fixture<double> f;
  const Eigen::ArrayXXd g = from_cols({{0.7}, {-1.3}});
  SECTION("KL(diag || standard normal)") {
    const std::vector<arr> in{f.mu, f.lv};
    const auto v = ad_vars(in);
    const ad loss = (latent::kl_diag_std_normal(v[0], v[1]) * g.cast<ad>()).sum();
    const auto adg = ad_grads(loss, in);
    const auto fdg = fd_grads(
        [&](const std::vector<arr>& p) { return (latent::kl_diag_std_normal(p[0], p[1]) * g).sum(); },
        in);
    const auto an = latent::kl_diag_std_normal_vjp(f.mu, f.lv, g);
    CHECK(max_abs_diff(an.mean, adg[0]) < 1e-12);
    CHECK(max_abs_diff(an.log_var, adg[1]) < 1e-12);
    CHECK(max_abs_diff(an.mean, fdg[0]) < 1e-7);
    CHECK(max_abs_diff(an.log_var, fdg[1]) < 1e-7);
  }
  SECTION("KL(diag || diag)") {
    const std::vector<arr> in{f.mu, f.lv, f.mu_p, f.lv_p};
    const auto v = ad_vars(in);
    const ad loss = (latent::kl_diag_diag(v[0], v[1], v[2], v[3]) * g.cast<ad>()).sum();
    const auto adg = ad_grads(loss, in);
    const auto fdg = fd_grads(
        [&](const std::vector<arr>& p) {
          return (latent::kl_diag_diag(p[0], p[1], p[2], p[3]) * g).sum();
        },
        in);
    const auto an = latent::kl_diag_diag_vjp(f.mu, f.lv, f.mu_p, f.lv_p, g);
    const arr* a[4] = {&an.mean_q, &an.log_var_q, &an.mean_p, &an.log_var_p};
    for (int i = 0; i < 4; ++i) {
      CHECK(max_abs_diff(*a[i], adg[i]) < 1e-12);
      CHECK(max_abs_diff(*a[i], fdg[i]) < 1e-7);
    }
  }
  SECTION("the element-wise expressions run on AutoDiffScalar") {
    const std::vector<arr> in{f.mu, f.lv};
    const auto v = ad_vars(in);
    const latent::array_xx<ad> e = latent::kl_diag_std_normal_elementwise(v[0], v[1]);
    const auto an = latent::kl_diag_std_normal_vjp(f.mu, f.lv, Eigen::ArrayXXd::Ones(1, 2));
    const auto adg = ad_grads(e.sum(), in);
    CHECK(max_abs_diff(an.log_var, adg[1]) < 1e-12);
  }
}

TEST_CASE("Gaussian KLs validate shapes", "[kl]") {
  fixture<double> f;
  const Eigen::ArrayXXd bad = Eigen::ArrayXXd::Zero(3, 3);
  CHECK_THROWS_AS(latent::kl_diag_std_normal(f.mu, bad), std::invalid_argument);
  CHECK_THROWS_WITH(latent::kl_diag_std_normal(f.mu, bad),
                    Contains("latent::kl_diag_std_normal: mean is 3 x 2 but log_var is 3 x 3"));
  CHECK_THROWS_WITH(latent::kl_diag_std_normal_elementwise(f.mu, bad),
                    Contains("latent::kl_diag_std_normal: mean is 3 x 2 but log_var is 3 x 3"));
  CHECK_THROWS_WITH(latent::kl_diag_diag(f.mu, f.lv, bad, f.lv_p),
                    Contains("latent::kl_diag_diag: mean_q is 3 x 2 but mean_p is 3 x 3"));
  CHECK_THROWS_WITH(latent::kl_diag_diag(f.mu, bad, f.mu_p, f.lv_p),
                    Contains("latent::kl_diag_diag: mean_q is 3 x 2 but log_var_q is 3 x 3"));
  CHECK_THROWS_WITH(latent::kl_diag_diag_elementwise(f.mu, f.lv, f.mu_p, bad),
                    Contains("latent::kl_diag_diag: mean_q is 3 x 2 but log_var_p is 3 x 3"));
  CHECK_THROWS_WITH(latent::kl_diag_diag_vjp(f.mu, f.lv, f.mu_p, f.lv_p, Eigen::ArrayXXd::Ones(1, 5)),
                    Contains("latent::kl_diag_diag_vjp: grad has 5 columns, but must have 2"));
  CHECK_THROWS_WITH(latent::kl_diag_std_normal_vjp(f.mu, f.lv, Eigen::ArrayXXd::Ones(2, 2)),
                    Contains("latent::kl_diag_std_normal_vjp: grad has 2 rows, but must have 1"));
  latent::diag_gaussian<double> q(f.mu, f.lv);
  CHECK_THROWS_AS(latent::kl_divergence(q, latent::standard_normal<double>(4)), std::invalid_argument);
  CHECK_THROWS_WITH(latent::kl_divergence(q, latent::standard_normal<double>(4)),
                    Contains("latent::kl_divergence: q.mean has 3 rows, but must have 4"));
}
