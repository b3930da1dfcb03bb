// Tests for latent/score/edm.hpp. Spot values: tools/score_reference.py (mpmath, Karras et al.
// 2022 Table 1).
#include <catch2/catch.hpp>

#include <cmath>

#include <unsupported/Eigen/AutoDiff>

#include "latent/score/edm.hpp"

using Catch::Contains;

TEMPLATE_TEST_CASE("EDM preconditioning matches Karras et al. Table 1", "[edm]", float, double) {
  const TestType s = TestType(0.7);
  const double tol = std::is_same<TestType, float>::value ? 1e-6 : 1e-15;
  CHECK(double(latent::edm_c_skip(s)) == Approx(0.33783783783783783).epsilon(tol));
  CHECK(double(latent::edm_c_out(s)) == Approx(0.4068667356033675).epsilon(tol));
  CHECK(double(latent::edm_c_in(s)) == Approx(1.1624763874381927).epsilon(tol));
  CHECK(double(latent::edm_c_noise(s)) == Approx(-0.0891687359846831).epsilon(tol));
  CHECK(double(latent::edm_loss_weight(s)) == Approx(6.040816326530612).epsilon(tol));
  const auto c = latent::edm_preconditioning(0.7);
  CHECK(c.c_skip == Approx(0.33783783783783783).epsilon(1e-15));
  CHECK(c.c_noise == Approx(-0.0891687359846831).epsilon(1e-15));
}

TEST_CASE("EDM coefficients: unit-variance identities", "[edm]") {
  // Karras et al. 2022, Appendix B.6: Var[c_in (y + n)] = 1 and the effective target
  // (y - c_skip (y + n)) / c_out has unit variance: c_skip^2 sd^2 + ... i.e.
  // ((1 - c_skip)^2 sd^2 + c_skip^2 sigma^2) / c_out^2 = 1.
  for (double sd : {0.5, 1.0, 0.2}) {
    for (double s : {0.002, 0.1, 1.0, 80.0}) {
      const auto c = latent::edm_preconditioning(s, sd);
      CHECK(c.c_in * c.c_in * (sd * sd + s * s) == Approx(1.0));
      const double var_target =
          ((1 - c.c_skip) * (1 - c.c_skip) * sd * sd + c.c_skip * c.c_skip * s * s) / (c.c_out * c.c_out);
      CHECK(var_target == Approx(1.0));
      CHECK(latent::edm_loss_weight(s, sd) == Approx(1.0 / (c.c_out * c.c_out)));
    }
  }
}

TEST_CASE("EDM denoiser output and network target invert each other", "[edm]") {
  const Eigen::ArrayXXd y = (Eigen::ArrayXXd(2, 2) << 0.3, -0.2, 0.9, 0.1).finished();
  const Eigen::ArrayXXd n = (Eigen::ArrayXXd(2, 2) << 1.0, -0.5, 0.25, 2.0).finished();
  const double sigma = 1.3;
  const auto c = latent::edm_preconditioning(sigma);
  const Eigen::ArrayXXd x = y + sigma * n;
  const Eigen::ArrayXXd F = latent::edm_network_target(y, x, c);
  const Eigen::ArrayXXd D = latent::edm_denoised(x, F, c);
  CHECK(D.isApprox(y, 1e-14));
}

TEST_CASE("EDM coefficients have exact derivatives (AutoDiffScalar)", "[edm][autodiff]") {
  using AD = Eigen::AutoDiffScalar<Eigen::VectorXd>;
  const double s = 0.9, h = 1e-6;
  const AD sa(s, 1, 0);
  auto fd = [&](auto f) { return (f(s + h) - f(s - h)) / (2 * h); };
  CHECK(latent::edm_c_skip(sa).derivatives()(0) ==
        Approx(fd([](double v) { return latent::edm_c_skip(v); })).epsilon(1e-7));
  CHECK(latent::edm_c_out(sa).derivatives()(0) ==
        Approx(fd([](double v) { return latent::edm_c_out(v); })).epsilon(1e-7));
  CHECK(latent::edm_c_in(sa).derivatives()(0) ==
        Approx(fd([](double v) { return latent::edm_c_in(v); })).epsilon(1e-7));
  // Analytic: d c_noise / d sigma = 1 / (4 sigma); d c_skip = -2 sigma sd^2 / (sigma^2 + sd^2)^2.
  CHECK(latent::edm_c_noise(sa).derivatives()(0) == Approx(0.25 / s));
  CHECK(latent::edm_c_skip(sa).derivatives()(0) ==
        Approx(-2 * s * 0.25 / std::pow(s * s + 0.25, 2)));
}

TEST_CASE("EDM functions validate their arguments", "[edm][errors]") {
  CHECK_THROWS_AS(latent::edm_preconditioning(0.0), std::domain_error);
  CHECK_THROWS_WITH(latent::edm_preconditioning(0.0),
                    Contains("latent::edm_preconditioning: sigma is 0, but must be positive"));
  CHECK_THROWS_WITH(latent::edm_preconditioning(1.0, -0.5),
                    Contains("latent::edm_preconditioning: sigma_data is -0.5"));
  const Eigen::ArrayXXd a = Eigen::ArrayXXd::Ones(2, 3), b(2, 2);
  const auto c = latent::edm_preconditioning(1.0);
  CHECK_THROWS_AS(latent::edm_denoised(a, b, c), std::invalid_argument);
  CHECK_THROWS_WITH(latent::edm_denoised(a, b, c),
                    Contains("latent::edm_denoised: x is 2 x 3 but network_output is 2 x 2"));
  CHECK_THROWS_WITH(latent::edm_network_target(a, b, c),
                    Contains("latent::edm_network_target: clean is 2 x 3 but noisy is 2 x 2"));
}
