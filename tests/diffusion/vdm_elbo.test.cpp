// Tests for latent/diffusion/vdm_elbo.hpp. Discretized-Gaussian reference values:
// tools/diffusion_reference.py (section "discretized Gaussian", mpmath).
#include <catch2/catch.hpp>

#include <cmath>

#include <Eigen/Core>
#include <unsupported/Eigen/AutoDiff>

#include "latent/diffusion/continuous.hpp"
#include "latent/diffusion/forward.hpp"
#include "latent/diffusion/vdm_elbo.hpp"

using Catch::Matchers::Contains;

TEST_CASE("prior matching KL", "[diffusion][vdm_elbo]") {
  const latent::noise_schedule s(latent::linear_betas(1000));
  Eigen::ArrayXXd x0(3, 2);
  x0 << 0.5, -1.0, 0.2, 0.0, -0.7, 1.0;
  const auto kl = latent::prior_kl(s, x0);
  const double ab = s.alpha_bar()(999);
  for (int j = 0; j < 2; ++j) {
    double want = 0;
    for (int i = 0; i < 3; ++i) {
      const double m = std::sqrt(ab) * x0(i, j), v = 1 - ab;
      want += 0.5 * (m * m + v - 1 - std::log(v));
    }
    CHECK(kl(j) == Approx(want).epsilon(1e-9));
    CHECK(kl(j) >= 0);
  }
  const latent::noise_schedule z(latent::rescale_zero_terminal_snr(latent::linear_betas(1000)));
  CHECK((latent::prior_kl(z, x0) == 0.0).all());
}

TEMPLATE_TEST_CASE("denoising KL equals 1/2 (SNR(t-1) - SNR(t)) ||x0_hat - x0||^2",
                   "[diffusion][vdm_elbo]", float, double) {
  using S = TestType;
  using AS = Eigen::Array<S, Eigen::Dynamic, Eigen::Dynamic>;
  const latent::noise_schedule s(latent::cosine_betas(1000));
  const AS x0 = AS::Random(5, 3), x0_hat = x0 + S(0.01) * AS::Random(5, 3);
  const double tol = std::is_same<S, float>::value ? 1e-5 : 1e-10;
  for (std::int64_t t : {1, 2, 50, 500, 998, 999}) {
    INFO("t = " << t);
    const auto kl = latent::denoising_kl(s, t, x0, x0_hat);
    const double w = 0.5 * (s.snr()(t - 1) - s.snr()(t));
    for (int j = 0; j < 3; ++j) {
      const double d2 = double((x0.col(j) - x0_hat.col(j)).square().sum());
      CHECK(std::abs(double(kl(j)) - w * d2) <= tol * w * d2);
    }
  }
  // With another model variance the KL adds the variance mismatch and stays >= 0.
  const auto kl2 = latent::denoising_kl(s, 300, x0, x0, 2.0 * s.posterior_variance()(300));
  CHECK(double(kl2(0)) == Approx(0.5 * 5 * (std::log(2.0) + 0.5 - 1)).epsilon(1e-5));
}

TEST_CASE("reconstruction term with the discretized Gaussian decoder", "[diffusion][vdm_elbo]") {
  // tools/diffusion_reference.py: {x, mean, log_scale, log p} (mpmath); log_var = 2 log_scale.
  const double ref[][4] = {{0.0, 0.0, -3.0, -2.7680885052940044},
                           {1.0, 0.2, -1.0, -4.1842585039449088},
                           {-1.0, 0.3, -2.0, -4.9046415723137483e+1},
                           {0.5, -0.5, -4.0, -1.4837272309082554e+3},
                           {-0.2, 0.9, -5.0, -1.3237175763176977e+4},
                           {0.996078431372549, 0.0, 0.0, -6.2631410385932917}};
  for (const auto& r : ref) {
    Eigen::ArrayXXd x(1, 1), m(1, 1), l(1, 1);
    x << r[0];
    m << r[1];
    l << 2 * r[2];
    INFO("x = " << r[0] << " mean = " << r[1] << " log_scale = " << r[2]);
    CHECK(latent::reconstruction_nll(x, m, l)(0) == Approx(-r[3]).epsilon(1e-12));
  }
  // The fixed-variance form uses log beta_0 for every element.
  const latent::noise_schedule s(latent::linear_betas(1000));
  Eigen::ArrayXXd x(2, 2), h(2, 2);
  x << 0.0, 1.0, -1.0, 2.0 / 255.0;
  h << 0.01, 0.9, -0.95, 0.0;
  const auto a = latent::reconstruction_nll(s, x, h);
  const auto b = latent::reconstruction_nll(x, h, Eigen::ArrayXXd::Constant(2, 2, std::log(1e-4)));
  CHECK(a(0) == b(0));
  CHECK(a(1) == b(1));
  CHECK((a > 0).all());
}

TEST_CASE("VDM continuous and discrete losses; bits per dim", "[diffusion][vdm_elbo]") {
  Eigen::ArrayXXd eps(2, 3), eps_hat(2, 3);
  eps << 0.1, 0.2, 0.3, -0.4, 0.5, 0.6;
  eps_hat << 0.0, 0.25, 0.1, -0.4, 0.45, 0.9;
  Eigen::Array<double, 1, Eigen::Dynamic> gp(3);
  gp << 18.3, 18.3, 18.3;
  const auto lc = latent::vdm_continuous_loss(gp, eps, eps_hat);
  for (int j = 0; j < 3; ++j)
    CHECK(lc(j) == Approx(0.5 * 18.3 * (eps.col(j) - eps_hat.col(j)).square().sum()));
  // The discrete loss with T steps tends to the continuous one as T grows (eq. 14 -> 17).
  const double t = 0.4;
  for (std::int64_t T : {10, 1000, 100000}) {
    Eigen::Array<double, 1, Eigen::Dynamic> gt(3), gs(3);
    gt.setConstant(latent::vdm_linear_gamma(t));
    gs.setConstant(latent::vdm_linear_gamma(t - 1.0 / double(T)));
    const auto ld = latent::vdm_discrete_loss(T, gt, gs, eps, eps_hat);
    const double rel = std::abs(ld(0) / lc(0) - 1);
    // expm1(g'/T) T / g' - 1 ~ g' / (2T)
    CHECK(rel == Approx(std::expm1(18.3 / double(T)) * double(T) / 18.3 - 1).epsilon(1e-6));
  }
  const auto bpd = latent::bits_per_dim(lc, 2);
  CHECK(bpd(1) == Approx(lc(1) / (2 * std::log(2.0))));
}

TEST_CASE("VDM ELBO errors", "[diffusion][vdm_elbo]") {
  const latent::noise_schedule s(latent::linear_betas(1000));
  Eigen::ArrayXXd a(2, 2), b(3, 2);
  a.setZero();
  CHECK_THROWS_WITH(latent::denoising_kl(s, 0, a, a), Contains("t = 0 is the reconstruction term"));
  CHECK_THROWS_WITH(latent::denoising_kl(s, 1000, a, a),
                    Contains("latent::denoising_kl: t = 1000 is out of range [0, 999]"));
  CHECK_THROWS_AS(latent::denoising_kl(s, 5, a, b), std::invalid_argument);
  CHECK_THROWS_WITH(latent::denoising_kl(s, 5, a, a, 0.0), Contains("model_variance is 0"));
  CHECK_THROWS_AS(latent::reconstruction_nll(a, b, b), std::invalid_argument);
  Eigen::Array<double, 1, Eigen::Dynamic> g(3);
  CHECK_THROWS_WITH(latent::vdm_continuous_loss(g, a, a), Contains("gamma_prime has 3 elements"));
  CHECK_THROWS_AS(latent::vdm_discrete_loss(0, g, g, a, a), std::domain_error);
  CHECK_THROWS_AS(latent::bits_per_dim(g, 0), std::invalid_argument);
}
