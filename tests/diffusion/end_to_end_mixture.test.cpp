// End to end (issue point 10) with a 2-component isotropic Gaussian mixture in 2-D:
// w = (0.3, 0.7), mu = (-2, 0), (2, 1), c = 0.25 I each, and its exact denoiser. DDPM with
// 1000 steps and DDIM with 50 steps, each prediction type, 10^5 samples (4000 under
// LATENT_SANITIZER_BUILD). Checked at 5 standard errors: the mixture weights (binomial
// se = sqrt(w (1 - w) / N), samples assigned to the nearer mean: the components are 9 std
// apart, so misassignment is ~1e-19), the mean and the covariance (se from the mixture's
// covariance, treated as Gaussian-like fourth moments, inflated by 1.5 for the bimodal
// kurtosis; 5 x 1.5 is still far below any coefficient error).
#include <catch2/catch.hpp>

#include "end_to_end.hpp"

namespace {
e2e::mixture_denoiser data() {
  e2e::mixture_denoiser f;
  f.w = {0.3, 0.7};
  f.c = {0.25, 0.25};
  f.mu = {Eigen::Vector2d(-2.0, 0.0), Eigen::Vector2d(2.0, 1.0)};
  return f;
}
const latent::noise_schedule& linear() {
  static const latent::noise_schedule s(latent::linear_betas(1000));
  return s;
}
void check_mixture(const e2e::mixture_denoiser& f, const e2e::Arr& x, double cov_bias_allowance) {
  const double N = double(x.cols());
  // Weight of component 0: samples closer to mu_0.
  double n0 = 0;
  for (Eigen::Index j = 0; j < x.cols(); ++j) {
    const double d0 = (x.col(j).matrix() - f.mu[0]).squaredNorm();
    const double d1 = (x.col(j).matrix() - f.mu[1]).squaredNorm();
    n0 += d0 < d1 ? 1 : 0;
  }
  const double w0 = n0 / N;
  CHECK(std::abs(w0 - f.w[0]) < 5 * std::sqrt(f.w[0] * f.w[1] / N));
  // Mixture mean and covariance.
  const Eigen::Vector2d m = f.w[0] * f.mu[0] + f.w[1] * f.mu[1];
  const Eigen::Vector2d d = f.mu[1] - f.mu[0];
  const Eigen::Matrix2d C = 0.25 * Eigen::Matrix2d::Identity() + f.w[0] * f.w[1] * d * d.transpose();
  Eigen::Vector2d mean, se_m;
  Eigen::Matrix2d cov, se_c;
  e2e::moments(x, mean, cov);
  e2e::standard_errors(C, N, se_m, se_c);
  for (int i = 0; i < 2; ++i) {
    INFO("mean[" << i << "] = " << mean(i) << " want " << m(i));
    CHECK(std::abs(mean(i) - m(i)) < 5 * se_m(i));
    for (int j = 0; j < 2; ++j) {
      INFO("cov(" << i << ", " << j << ") = " << cov(i, j) << " want " << C(i, j));
      CHECK(std::abs(cov(i, j) - C(i, j)) < 5 * 1.5 * se_c(i, j) + cov_bias_allowance);
    }
  }
}
}  // namespace

TEST_CASE("DDPM, 1000 steps, exact mixture denoiser: weights, mean, covariance",
          "[diffusion][end_to_end]") {
  const auto f = data();
  std::uint64_t seed = 300;
  for (auto p : {latent::prediction_type::epsilon, latent::prediction_type::sample,
                 latent::prediction_type::v_prediction}) {
    INFO("prediction type " << int(p));
    check_mixture(f, e2e::ddpm_sample(linear(), f, p, e2e::kSamples, seed++), 0.0);
  }
}

TEST_CASE("DDIM, 50 steps, exact mixture denoiser: weights, mean, covariance",
          "[diffusion][end_to_end]") {
  // 50-step DDIM shrinks each component's variance (first-order ODE error, see
  // end_to_end_gaussian). The allowance on the covariance is 1.2 x the exact shrinkage of
  // one component alone, N(0, 0.25 I) through the same 50 DDIM steps (e2e::ddim_gaussian_law,
  // ~0.027), well below the between-component covariance (w0 w1 d d^T, 3.36 and 0.84) that a
  // wrong weight or mean would move. Weights and mean are checked at plain 5 standard errors.
  const auto f = data();
  e2e::gaussian_denoiser component;
  component.m = Eigen::Vector2d::Zero();
  component.C = 0.25 * Eigen::Matrix2d::Identity();
  Eigen::Vector2d law_mean;
  Eigen::Matrix2d law_cov;
  e2e::ddim_gaussian_law(linear(), component, 50, law_mean, law_cov);
  const double allowance = 1.2 * (0.25 - law_cov(0, 0));
  CHECK(allowance > 0);
  CHECK(allowance < 0.04);
  std::uint64_t seed = 400;
  for (auto p : {latent::prediction_type::epsilon, latent::prediction_type::sample,
                 latent::prediction_type::v_prediction}) {
    INFO("prediction type " << int(p));
    check_mixture(f, e2e::ddim_sample(linear(), f, p, e2e::kSamples, seed++, 50), allowance);
  }
}
