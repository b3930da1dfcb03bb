// Shared helpers of the end-to-end sampler tests (tests/diffusion/end_to_end_*.test.cpp):
// exact closed-form denoisers of a Gaussian and of an isotropic Gaussian mixture in 2-D,
// and DDPM / DDIM sampling loops that call them at every step.
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

#include <Eigen/Dense>

#include "latent/diffusion/ddim.hpp"
#include "latent/diffusion/ddpm.hpp"
#include "latent/diffusion/predictions.hpp"
#include "latent/diffusion/timesteps.hpp"

namespace e2e {

using Mat = Eigen::MatrixXd;
using Arr = Eigen::ArrayXXd;

#ifdef LATENT_SANITIZER_BUILD
inline constexpr Eigen::Index kSamples = 4000;
#else
inline constexpr Eigen::Index kSamples = 100000;
#endif

/// E[x_0 | x_t] for x_0 ~ N(m, C): m + a C (a^2 C + b^2 I)^{-1} (x_t - a m).
struct gaussian_denoiser {
  Eigen::Vector2d m;
  Eigen::Matrix2d C;
  void operator()(const latent::noise_schedule& s, std::int64_t t, const Arr& x, Arr& out) const {
    const double a = s.sqrt_alpha_bar()(t), b2 = s.one_minus_alpha_bar()(t);
    const Eigen::Matrix2d K = a * C * (a * a * C + b2 * Eigen::Matrix2d::Identity()).inverse();
    const Eigen::Vector2d c = m - a * (K * m);
    out.matrix().noalias() = K * x.matrix();
    out.colwise() += c.array();
  }
};

/// E[x_0 | x_t] for x_0 ~ sum_k w_k N(mu_k, c_k I) (exact: responsibilities times the
/// per-component Gaussian posterior means).
struct mixture_denoiser {
  std::vector<double> w, c;
  std::vector<Eigen::Vector2d> mu;
  mutable Eigen::ArrayXXd d0, d1;
  mutable Eigen::Array<double, 1, Eigen::Dynamic> r1;
  void operator()(const latent::noise_schedule& s, std::int64_t t, const Arr& x, Arr& out) const {
    // Two components, vectorized over the columns with scratch buffers reused across steps.
    const double a = s.sqrt_alpha_bar()(t), b2 = s.one_minus_alpha_bar()(t);
    const double v0 = a * a * c[0] + b2, v1 = a * a * c[1] + b2;
    const double l0 = std::log(w[0]) - std::log(v0), l1 = std::log(w[1]) - std::log(v1);
    const double k0 = c[0] * a / v0, k1 = c[1] * a / v1;
    d0 = x.colwise() - (a * mu[0]).array();
    d1 = x.colwise() - (a * mu[1]).array();
    // r1 = sigmoid(e1 - e0), e_k = l_k - |d_k|^2 / (2 v_k)
    r1 = 1.0 / (1.0 + ((l0 - l1) - 0.5 * d0.square().colwise().sum() / v0 +
                       0.5 * d1.square().colwise().sum() / v1).exp());
    for (int i = 0; i < 2; ++i) {
      out.row(i) = (1.0 - r1) * (mu[0](i) + k0 * d0.row(i)) + r1 * (mu[1](i) + k1 * d1.row(i));
    }
  }
};

/// Overwrites x0 (holding x0_hat at t) with the model output of the given prediction type.
inline void to_model_output(const latent::noise_schedule& s, latent::prediction_type p,
                            std::int64_t t, const Arr& x, Arr& x0) {
  switch (p) {
    case latent::prediction_type::epsilon: x0 = latent::eps_from_x0(s, t, x, x0); break;
    case latent::prediction_type::sample: break;
    case latent::prediction_type::v_prediction: x0 = latent::v_from_x0(s, t, x, x0); break;
  }
}

template <class Denoiser>
Arr ddpm_sample(const latent::noise_schedule& s, const Denoiser& f, latent::prediction_type p,
                Eigen::Index n, std::uint64_t seed) {
  latent::philox4x32 engine(seed);
  Arr x = latent::randn<Arr>(2, n, engine);
  Arr out(2, n), m(2, n);
  latent::ddpm_options o;
  o.prediction = p;
  for (std::int64_t t = s.size() - 1; t >= 0; --t) {
    f(s, t, x, m);
    to_model_output(s, p, t, x, m);
    latent::ddpm_step(s, o, t, t - 1, x, m, out, engine);
    x.swap(out);
  }
  return x;
}

template <class Denoiser>
Arr ddim_sample(const latent::noise_schedule& s, const Denoiser& f, latent::prediction_type p,
                Eigen::Index n, std::uint64_t seed, std::int64_t steps) {
  latent::philox4x32 engine(seed);
  Arr x = latent::randn<Arr>(2, n, engine);
  Arr out(2, n), m(2, n);
  latent::ddim_options o;
  o.prediction = p;
  const auto ts = latent::inference_timesteps(s.size(), steps, latent::timestep_spacing::leading);
  for (std::size_t i = 0; i < ts.size(); ++i) {
    f(s, ts[i], x, m);
    to_model_output(s, p, ts[i], x, m);
    latent::ddim_step(s, o, ts[i], latent::previous_timestep(ts, i), x, m, out);
    x.swap(out);
  }
  return x;
}

/// The exact output law of deterministic DDIM with the Gaussian denoiser: the sampler is
/// affine in x_T, x_out = G x_T + h, so the output is N(h, G G^T). Computed independently of
/// the library, from the DDIM update written out in double (Song et al. 2021, eq. 12).
inline void ddim_gaussian_law(const latent::noise_schedule& s, const gaussian_denoiser& f,
                              std::int64_t steps, Eigen::Vector2d& mean, Eigen::Matrix2d& cov) {
  const auto ts = latent::inference_timesteps(s.size(), steps, latent::timestep_spacing::leading);
  Eigen::Matrix2d G = Eigen::Matrix2d::Identity();
  Eigen::Vector2d h = Eigen::Vector2d::Zero();
  const Eigen::Matrix2d I = Eigen::Matrix2d::Identity();
  for (std::size_t i = 0; i < ts.size(); ++i) {
    const std::int64_t t = ts[i], p = latent::previous_timestep(ts, i);
    const double ab = s.alpha_bar()(t), abp = p >= 0 ? s.alpha_bar()(p) : 1.0;
    const double a = std::sqrt(ab), b = std::sqrt(1 - ab);
    const Eigen::Matrix2d K = a * f.C * (ab * f.C + (1 - ab) * I).inverse();
    // x0 = K x + (I - a K) m ; eps = (x - a x0) / b ; x_p = sqrt(abp) x0 + sqrt(1 - abp) eps
    const Eigen::Matrix2d A0 = K;
    const Eigen::Vector2d c0 = (I - a * K) * f.m;
    const Eigen::Matrix2d Ae = (I - a * A0) / b;
    const Eigen::Vector2d ce = -a * c0 / b;
    const Eigen::Matrix2d A = std::sqrt(abp) * A0 + std::sqrt(1 - abp) * Ae;
    const Eigen::Vector2d c = std::sqrt(abp) * c0 + std::sqrt(1 - abp) * ce;
    G = A * G;
    h = A * h + c;
  }
  mean = h;
  cov = G * G.transpose();
}

/// Sample mean and covariance (unbiased) of the columns.
inline void moments(const Arr& x, Eigen::Vector2d& mean, Eigen::Matrix2d& cov) {
  mean = x.rowwise().mean().matrix();
  const Mat c = x.matrix().colwise() - mean;
  cov = c * c.transpose() / double(x.cols() - 1);
}

/// Standard errors of the sample mean and covariance of N draws from N(m, S):
/// se(mean_i) = sqrt(S_ii / N), se(cov_ij) = sqrt((S_ii S_jj + S_ij^2) / N).
inline void standard_errors(const Eigen::Matrix2d& S, double N, Eigen::Vector2d& se_mean,
                            Eigen::Matrix2d& se_cov) {
  for (int i = 0; i < 2; ++i) {
    se_mean(i) = std::sqrt(S(i, i) / N);
    for (int j = 0; j < 2; ++j) se_cov(i, j) = std::sqrt((S(i, i) * S(j, j) + S(i, j) * S(i, j)) / N);
  }
}

}  // namespace e2e
