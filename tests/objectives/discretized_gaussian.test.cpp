// Tests for latent/objectives/discretized_gaussian.hpp.
// Spot values: tools/vae_reference.py, section "discretized" (mpmath at 50 digits).
#include "latent/objectives/discretized_gaussian.hpp"

#include <catch2/catch.hpp>
#include <cmath>

#include "distributions/vae_test_util.hpp"

using namespace vae_test;
using Catch::Matchers::Contains;

TEMPLATE_TEST_CASE("discretized Gaussian matches mpmath, deep in both tails", "[discretized]", float,
                   double) {
  using S = TestType;
  struct row {
    double x, m, lv, lp;
  };
  const row cases[] = {
      {-1.0, 0.0, 0.0, -1.8350468796001099},
      {1.0, 0.2, -2.0, -4.1842585039449088},
      {0.5, 0.5, -10.0, -0.82225030378917503},
      {-1.0 + 2.0 * 37 / 255, 0.1, -1.0, -6.1583501242525755},
      {1.0, -5.0, -9.210340371976182, -179772.09799301663},
      {-1.0, 0.9, -6.0, -729.74554892640484},
      {0.2, -0.8, -7.824046010856292, -1245.0427368207928},
      {-1.0 + 2.0 * 200 / 255, -0.3, 1.5, -6.6012327490509591},
  };
  const double eps = std::is_same<S, float>::value ? 1e-5 : 1e-12;
  for (const auto& c : cases) {
    latent::array_xx<S> x(1, 1), m(1, 1), lv(1, 1);
    x << S(c.x);
    m << S(c.m);
    lv << S(c.lv);
    const latent::row_x<S> lp = latent::discretized_gaussian_log_likelihood(x, m, lv);
    INFO("x = " << c.x << ", mean = " << c.m << ", log_var = " << c.lv);
    // float inputs are rounded before the double evaluation: allow for the input rounding
    // (relative 6e-8 of x and mean, which enters the exponent of the far tails).
    CHECK(double(lp(0)) == Approx(c.lp).epsilon(std::is_same<S, float>::value ? 2e-5 : eps));
  }
}

TEST_CASE("discretized Gaussian: the 256 bins sum to one", "[discretized]") {
  for (double m : {-1.2, -0.3, 0.0, 0.77, 1.0}) {
    for (double lv : {-12.0, -6.0, -1.0, 0.0, 2.0}) {
      Eigen::ArrayXXd x(256, 1);
      for (int k = 0; k < 256; ++k) x(k) = -1.0 + 2.0 * k / 255.0;
      const Eigen::ArrayXXd mm = Eigen::ArrayXXd::Constant(256, 1, m);
      const Eigen::ArrayXXd ll = Eigen::ArrayXXd::Constant(256, 1, lv);
      const Eigen::ArrayXXd e = latent::discretized_gaussian_log_likelihood_elementwise(x, mm, ll);
      CHECK(e.exp().sum() == Approx(1.0).epsilon(1e-12));
      CHECK(e.maxCoeff() <= 0);
    }
  }
}

TEST_CASE("discretized Gaussian VJP matches AutoDiffScalar and finite differences",
          "[discretized][grad]") {
  const Eigen::ArrayXXd x = from_cols({{-1.0, 1.0, 2.0 * 100 / 255 - 1}, {0.2, -1.0 + 2.0 / 255, 1.0}});
  const Eigen::ArrayXXd m = from_cols({{-0.9, 0.6, 0.0}, {0.25, -0.5, 0.3}});
  const Eigen::ArrayXXd lv = from_cols({{-3.0, -1.0, -4.0}, {-5.0, -2.0, 0.5}});
  const Eigen::ArrayXXd g = from_cols({{0.7}, {-1.3}});
  const std::vector<arr> in{m, lv};
  const auto v = ad_vars(in);
  const ad loss =
      (latent::discretized_gaussian_log_likelihood(x.cast<ad>(), v[0], v[1]) * g.cast<ad>()).sum();
  const auto adg = ad_grads(loss, in);
  const auto fdg = fd_grads(
      [&](const std::vector<arr>& p) {
        return (latent::discretized_gaussian_log_likelihood(x, p[0], p[1]) * g).sum();
      },
      in);
  const auto an = latent::discretized_gaussian_log_likelihood_vjp(x, m, lv, g);
  CHECK(max_abs_diff(an.mean, adg[0]) < 1e-12);
  CHECK(max_abs_diff(an.log_var, adg[1]) < 1e-12);
  CHECK(max_abs_diff(an.mean, fdg[0]) < 1e-6);
  CHECK(max_abs_diff(an.log_var, fdg[1]) < 1e-6);
  CHECK(loss.value() ==
        Approx((latent::discretized_gaussian_log_likelihood(x, m, lv) * g).sum()).epsilon(1e-14));
}

TEST_CASE("discretized Gaussian validates shapes", "[discretized]") {
  const Eigen::ArrayXXd x = Eigen::ArrayXXd::Zero(3, 2), bad = Eigen::ArrayXXd::Zero(2, 2);
  CHECK_THROWS_AS(latent::discretized_gaussian_log_likelihood(x, bad, x), std::invalid_argument);
  CHECK_THROWS_WITH(latent::discretized_gaussian_log_likelihood(x, bad, x),
                    Contains("latent::discretized_gaussian_log_likelihood: x is 3 x 2 but mean is 2 x 2"));
  CHECK_THROWS_WITH(latent::discretized_gaussian_log_likelihood(x, x, bad),
                    Contains("latent::discretized_gaussian_log_likelihood: x is 3 x 2 but log_var is 2 x 2"));
  CHECK_THROWS_WITH(latent::discretized_gaussian_log_likelihood_vjp(x, x, x, Eigen::ArrayXXd::Ones(1, 1)),
                    Contains("latent::discretized_gaussian_log_likelihood_vjp: grad has 1 columns, but must have 2"));
}
