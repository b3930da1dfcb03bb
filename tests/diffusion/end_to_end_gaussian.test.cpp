// End to end (issue point 10): DDPM with 1000 steps and DDIM with 50 steps, driven by the
// exact denoiser E[x_0 | x_t] of a 2-D Gaussian, for each prediction type, on 10^5 samples
// (4000 under LATENT_SANITIZER_BUILD). Tolerances: 5 standard errors of the sample mean and
// covariance (e2e::standard_errors; Gaussian fourth moments).
#include <catch2/catch.hpp>

#include "end_to_end.hpp"

namespace {
e2e::gaussian_denoiser data() {
  e2e::gaussian_denoiser f;
  f.m << 0.5, -1.0;
  f.C << 1.0, 0.6, 0.6, 0.8;
  return f;
}
const latent::noise_schedule& linear() {
  static const latent::noise_schedule s(latent::linear_betas(1000));
  return s;
}
void check_moments(const e2e::Arr& x, const Eigen::Vector2d& m, const Eigen::Matrix2d& C) {
  Eigen::Vector2d mean, se_m;
  Eigen::Matrix2d cov, se_c;
  e2e::moments(x, mean, cov);
  e2e::standard_errors(C, double(x.cols()), se_m, se_c);
  for (int i = 0; i < 2; ++i) {
    INFO("mean[" << i << "] = " << mean(i) << ", want " << m(i) << " +- 5 x " << se_m(i));
    CHECK(std::abs(mean(i) - m(i)) < 5 * se_m(i));
    for (int j = 0; j < 2; ++j) {
      INFO("cov(" << i << ", " << j << ") = " << cov(i, j) << ", want " << C(i, j) << " +- 5 x "
                  << se_c(i, j));
      CHECK(std::abs(cov(i, j) - C(i, j)) < 5 * se_c(i, j));
    }
  }
}
}  // namespace

TEST_CASE("DDPM, 1000 steps, exact Gaussian denoiser: data mean and covariance",
          "[diffusion][end_to_end]") {
  // The deterministic bias of 1000-step DDPM with fixed_small variance is about 1% of the
  // covariance here (computed by propagating the affine chain), below 5 standard errors
  // (5 sqrt(2/N) = 2.2%).
  const auto f = data();
  std::uint64_t seed = 100;
  for (auto p : {latent::prediction_type::epsilon, latent::prediction_type::sample,
                 latent::prediction_type::v_prediction}) {
    INFO("prediction type " << int(p));
    const e2e::Arr x = e2e::ddpm_sample(linear(), f, p, e2e::kSamples, seed++);
    check_moments(x, f.m, f.C);
  }
}

TEST_CASE("DDIM, 50 steps, exact Gaussian denoiser: the exact DDIM output law",
          "[diffusion][end_to_end]") {
  // Deterministic DDIM with 50 steps is a first-order ODE solver: with the exact denoiser its
  // output is exactly N(h, G G^T) (the sampler is affine in x_T), which e2e::ddim_gaussian_law
  // computes independently in double. Samples must match that law within 5 standard errors.
  // Its discretization bias against the data (about -7% in the covariance, -0.7% in the
  // mean, for this schedule) is a property of 50-step DDIM, not of the implementation; it is
  // bounded below and documented in docs/diffusion.md.
  const auto f = data();
  Eigen::Vector2d mean;
  Eigen::Matrix2d cov;
  e2e::ddim_gaussian_law(linear(), f, 50, mean, cov);
  CHECK((mean - f.m).cwiseAbs().maxCoeff() < 0.02);
  CHECK(((cov - f.C).array().abs() / f.C.array().abs()).maxCoeff() < 0.10);
  std::uint64_t seed = 200;
  for (auto p : {latent::prediction_type::epsilon, latent::prediction_type::sample,
                 latent::prediction_type::v_prediction}) {
    INFO("prediction type " << int(p));
    const e2e::Arr x = e2e::ddim_sample(linear(), f, p, e2e::kSamples, seed++, 50);
    check_moments(x, mean, cov);
    // The data mean is reproduced within 5 standard errors even with the bias.
    Eigen::Vector2d m;
    Eigen::Matrix2d c, se_c;
    Eigen::Vector2d se_m;
    e2e::moments(x, m, c);
    e2e::standard_errors(f.C, double(x.cols()), se_m, se_c);
    CHECK(std::abs(m(0) - f.m(0)) < 5 * se_m(0));
    CHECK(std::abs(m(1) - f.m(1)) < 5 * se_m(1));
  }
}
