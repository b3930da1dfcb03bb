// Test bodies of the end-to-end sampler tests, one executable per (data, prediction type)
// so that each runs in a few seconds: tests/diffusion/end_to_end_<data>_<prediction>.test.cpp.
//
// Gaussian (x_0 ~ N(m, C) in 2-D): DDPM with 1000 steps must reproduce m and C within 5
// standard errors of 10^5 samples (e2e::standard_errors; Gaussian fourth moments). Its
// deterministic bias (fixed_small variance, computed by propagating the affine chain) is
// about 1% of C here, below 5 standard errors (5 sqrt(2/N) = 2.2%).
// Deterministic DDIM with 50 steps is a first-order ODE solver: with the exact denoiser its
// output is exactly N(h, G G^T) (the sampler is affine in x_T), computed independently in
// double by e2e::ddim_gaussian_law; samples must match that law within 5 standard errors,
// and the data mean within 5 standard errors. Its covariance bias against the data (about
// -7% here) is a property of 50-step DDIM, bounded below and documented in docs/diffusion.md.
//
// Mixture (w = (0.3, 0.7), mu = (-2, 0), (2, 1), c = 0.25 I): the mixture weights (binomial
// se = sqrt(w (1 - w) / N), samples assigned to the nearer mean: the components are 9 std
// apart, so misassignment is ~1e-19), the mean and the covariance at 5 standard errors (se
// from the mixture covariance with Gaussian fourth moments, inflated by 1.5 for the bimodal
// kurtosis). For DDIM the covariance gets an allowance of 1.2 x the exact 50-step shrinkage
// of one component alone, N(0, 0.25 I) (~0.027), well below the between-component
// covariance (3.36 and 0.84) that a wrong weight or mean would move.
#pragma once

#include <catch2/catch.hpp>

#include "end_to_end.hpp"

namespace e2e {
inline e2e::gaussian_denoiser gaussian_data() {
  e2e::gaussian_denoiser f;
  f.m << 0.5, -1.0;
  f.C << 1.0, 0.6, 0.6, 0.8;
  return f;
}
inline const latent::noise_schedule& linear() {
  static const latent::noise_schedule s(latent::linear_betas(1000));
  return s;
}
inline void check_moments(const e2e::Arr& x, const Eigen::Vector2d& m, const Eigen::Matrix2d& C) {
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
inline e2e::mixture_denoiser mixture_data() {
  e2e::mixture_denoiser f;
  f.w = {0.3, 0.7};
  f.c = {0.25, 0.25};
  f.mu = {Eigen::Vector2d(-2.0, 0.0), Eigen::Vector2d(2.0, 1.0)};
  return f;
}
inline void check_mixture(const e2e::mixture_denoiser& f, const e2e::Arr& x, double cov_bias_allowance) {
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

inline void gaussian_ddpm(latent::prediction_type p, std::uint64_t seed) {
  const auto f = gaussian_data();
  const e2e::Arr x = e2e::ddpm_sample(linear(), f, p, e2e::kSamples, seed);
  check_moments(x, f.m, f.C);
}

inline void gaussian_ddim(latent::prediction_type p, std::uint64_t seed) {
  const auto f = gaussian_data();
  Eigen::Vector2d mean;
  Eigen::Matrix2d cov;
  e2e::ddim_gaussian_law(linear(), f, 50, mean, cov);
  CHECK((mean - f.m).cwiseAbs().maxCoeff() < 0.02);
  CHECK(((cov - f.C).array().abs() / f.C.array().abs()).maxCoeff() < 0.10);
  const e2e::Arr x = e2e::ddim_sample(linear(), f, p, e2e::kSamples, seed, 50);
  check_moments(x, mean, cov);
  Eigen::Vector2d m, se_m;
  Eigen::Matrix2d c, se_c;
  e2e::moments(x, m, c);
  e2e::standard_errors(f.C, double(x.cols()), se_m, se_c);
  CHECK(std::abs(m(0) - f.m(0)) < 5 * se_m(0));
  CHECK(std::abs(m(1) - f.m(1)) < 5 * se_m(1));
}

inline void mixture_ddpm(latent::prediction_type p, std::uint64_t seed) {
  const auto f = mixture_data();
  check_mixture(f, e2e::ddpm_sample(linear(), f, p, e2e::kSamples, seed), 0.0);
}

inline void mixture_ddim(latent::prediction_type p, std::uint64_t seed) {
  const auto f = mixture_data();
  e2e::gaussian_denoiser component;
  component.m = Eigen::Vector2d::Zero();
  component.C = 0.25 * Eigen::Matrix2d::Identity();
  Eigen::Vector2d law_mean;
  Eigen::Matrix2d law_cov;
  e2e::ddim_gaussian_law(linear(), component, 50, law_mean, law_cov);
  const double allowance = 1.2 * (0.25 - law_cov(0, 0));
  CHECK(allowance > 0);
  CHECK(allowance < 0.04);
  check_mixture(f, e2e::ddim_sample(linear(), f, p, e2e::kSamples, seed, 50), allowance);
}

}  // namespace e2e
