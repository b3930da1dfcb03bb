// Tests for latent/diffusion/continuous.hpp. Reference values: tools/diffusion_reference.py
// (section "continuous"), computed with mpmath at 50 digits from the same formulas.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include <Eigen/Core>
#include <unsupported/Eigen/AutoDiff>

#include "latent/diffusion/continuous.hpp"

using Catch::Matchers::Contains;
using AD = Eigen::AutoDiffScalar<Eigen::VectorXd>;

TEMPLATE_TEST_CASE("VP, sub-VP, VE marginals satisfy their identities", "[diffusion][continuous]",
                   float, double) {
  using S = TestType;
  const double tol = std::is_same<S, float>::value ? 2e-6 : 1e-13;
  for (double td : {0.0, 1e-5, 0.01, 0.3, 0.5, 1.0}) {
    const S t = S(td);
    const double m = double(latent::vp_marginal_mean_coeff(t));
    const double s = double(latent::vp_marginal_std(t));
    CHECK(m * m + s * s == Approx(1.0).epsilon(tol));
    CHECK(double(latent::sub_vp_marginal_mean_coeff(t)) == Approx(m).epsilon(tol));
    CHECK(double(latent::sub_vp_marginal_std(t)) == Approx(s * s).epsilon(tol).margin(1e-30));
    CHECK(double(latent::ve_marginal_mean_coeff(t)) == 1.0);
    CHECK(double(latent::ve_marginal_std(t)) ==
          Approx(0.01 * std::pow(5000.0, double(t))).epsilon(tol));
    CHECK(double(latent::vp_beta(t)) == Approx(0.1 + 19.9 * double(t)).epsilon(tol));
    if (td > 0) {
      CHECK(double(latent::vp_log_snr(t)) ==
            Approx(std::log(m * m / (s * s))).epsilon(std::is_same<S, float>::value ? 1e-4 : 1e-10));
    }
  }
  CHECK(std::isinf(double(latent::vp_log_snr(S(0)))));
}

TEST_CASE("continuous schedules match mpmath reference values", "[diffusion][continuous]") {
  // tools/diffusion_reference.py, section "continuous" (mpmath, 50 digits).
  CHECK(latent::vp_marginal_std(1e-5) == Approx(1.0004971259352383e-3).epsilon(1e-13));
  CHECK(latent::vp_marginal_mean_coeff(0.5) == Approx(2.8118288079675238e-1).epsilon(1e-13));
  CHECK(latent::vp_marginal_std(0.5) == Approx(9.5965420206803625e-1).epsilon(1e-13));
  CHECK(latent::sub_vp_marginal_std(0.5) == Approx(9.2093618754683934e-1).epsilon(1e-13));
  CHECK(latent::ve_sigma(0.5) == Approx(7.0710678118654752e-01).epsilon(1e-13));
  CHECK(latent::vdm_alpha_squared(-13.3) == Approx(9.9999832550959449e-1).epsilon(1e-13));
  CHECK(latent::vdm_sigma_squared(5.0) == Approx(9.9330714907571514e-1).epsilon(1e-13));
}

TEST_CASE("VDM gamma parameterization", "[diffusion][continuous]") {
  for (double g : {-13.3, -2.0, 0.0, 3.0, 5.0, 40.0}) {
    CHECK(latent::vdm_alpha_squared(g) + latent::vdm_sigma_squared(g) == Approx(1.0).epsilon(1e-15));
    CHECK(latent::vdm_alpha(g) * latent::vdm_alpha(g) == Approx(latent::vdm_alpha_squared(g)));
    CHECK(latent::vdm_sigma(g) * latent::vdm_sigma(g) == Approx(latent::vdm_sigma_squared(g)));
    CHECK(latent::vdm_snr(g) ==
          Approx(latent::vdm_alpha_squared(g) / latent::vdm_sigma_squared(g)).epsilon(1e-13));
  }
  CHECK(latent::vdm_linear_gamma(0.0) == -13.3);
  CHECK(latent::vdm_linear_gamma(1.0) == Approx(5.0));
  CHECK(latent::vdm_linear_gamma_prime() == Approx(18.3));
  // No overflow at large |gamma|.
  CHECK(latent::vdm_sigma_squared(-800.0) >= 0.0);
  CHECK(std::isfinite(latent::vdm_alpha_squared(800.0)));
}

TEST_CASE("AutoDiff derivatives of the continuous marginals", "[diffusion][continuous]") {
  const double t0 = 0.37, h = 1e-6;
  AD t(t0, 1, 0);
  const AD s = latent::vp_marginal_std(t);
  const double fd = (latent::vp_marginal_std(t0 + h) - latent::vp_marginal_std(t0 - h)) / (2 * h);
  CHECK(s.derivatives()(0) == Approx(fd).epsilon(1e-7));
  // Analytic: d m/dt = -1/2 beta(t) m(t).
  const AD m = latent::vp_marginal_mean_coeff(t);
  CHECK(m.derivatives()(0) ==
        Approx(-0.5 * latent::vp_beta(t0) * latent::vp_marginal_mean_coeff(t0)).epsilon(1e-12));
  const AD sv = latent::sub_vp_marginal_std(t);
  const double fd2 =
      (latent::sub_vp_marginal_std(t0 + h) - latent::sub_vp_marginal_std(t0 - h)) / (2 * h);
  CHECK(sv.derivatives()(0) == Approx(fd2).epsilon(1e-7));
  AD g(1.5, 1, 0);
  const AD a2 = latent::vdm_alpha_squared(g);
  // d/dg sigmoid(-g) = -sigmoid(g) sigmoid(-g)
  CHECK(a2.derivatives()(0) ==
        Approx(-latent::vdm_alpha_squared(1.5) * latent::vdm_sigma_squared(1.5)).epsilon(1e-13));
  const AD ve = latent::ve_sigma(t);
  CHECK(ve.derivatives()(0) == Approx(latent::ve_sigma(t0) * std::log(5000.0)).epsilon(1e-12));
}

TEMPLATE_TEST_CASE("array overloads equal the scalar functions", "[diffusion][continuous]", float,
                   double) {
  using S = TestType;
  Eigen::Array<S, 1, Eigen::Dynamic> t(5);
  t << S(0), S(0.1), S(0.5), S(0.9), S(1);
  const Eigen::Array<S, 1, Eigen::Dynamic> m = latent::vp_marginal_mean_coeff(t);
  const Eigen::Array<S, 1, Eigen::Dynamic> s = latent::vp_marginal_std(t);
  const Eigen::Array<S, 1, Eigen::Dynamic> sv = latent::sub_vp_marginal_std(t);
  const Eigen::Array<S, 1, Eigen::Dynamic> ve = latent::ve_marginal_std(t, 0.02, 100.0);
  const Eigen::Array<S, 1, Eigen::Dynamic> g = latent::vdm_linear_gamma(t);
  for (int j = 0; j < 5; ++j) {
    CHECK(m(j) == latent::vp_marginal_mean_coeff(t(j)));
    CHECK(s(j) == latent::vp_marginal_std(t(j)));
    CHECK(sv(j) == latent::sub_vp_marginal_std(t(j)));
    CHECK(ve(j) == latent::ve_marginal_std(t(j), 0.02, 100.0));
    CHECK(g(j) == latent::vdm_linear_gamma(t(j)));
  }
  // An expression argument gives the same values as its evaluated array.
  const Eigen::Array<S, 1, Eigen::Dynamic> s2 = latent::vp_marginal_std(t * S(1));
  CHECK((s2 == s).all());
}

TEST_CASE("continuous schedules reject bad arguments", "[diffusion][continuous]") {
  CHECK_THROWS_AS(latent::vp_marginal_std(1.5), std::domain_error);
  CHECK_THROWS_WITH(latent::vp_marginal_std(1.5),
                    Contains("latent::vp_marginal_std: t = 1.5 is out of range [0, 1]"));
  CHECK_THROWS_WITH(latent::vp_marginal_std(0.5, 1.0, 0.5), Contains("beta_max"));
  CHECK_THROWS_AS(latent::vp_beta(0.5, -1.0, 0.5), std::domain_error);
  CHECK_THROWS_WITH(latent::ve_sigma(0.5, 10.0, 1.0),
                    Contains("latent::ve_sigma: sigma_max is 1, but must be > sigma_min = 10"));
  CHECK_THROWS_AS(latent::ve_sigma(0.5, 0.0, 1.0), std::domain_error);
  CHECK_THROWS_WITH(latent::vdm_linear_gamma(0.5, 5.0, -13.3), Contains("gamma_max"));
  CHECK_THROWS_WITH(latent::vdm_alpha(std::numeric_limits<double>::quiet_NaN()),
                    Contains("latent::vdm_alpha: gamma is nan"));
  Eigen::ArrayXd t(2);
  t << 0.5, -0.1;
  CHECK_THROWS_WITH(latent::vp_marginal_std(t), Contains("latent::vp_marginal_std: t[1] is -0.1"));
  CHECK_THROWS_AS(latent::vp_marginal_std(t), std::domain_error);
}
