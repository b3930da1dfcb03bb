// latent/diffusion/ddpm.hpp: the DDPM ancestral reverse step (Ho et al. 2020, Algorithm 2),
// with the options of diffusers' DDPMScheduler.step.
//
//   x0_hat = from the model output (epsilon, sample or v prediction; predictions.hpp),
//            optionally clipped to [-r, r] or dynamically thresholded (Saharia et al. 2022)
//   x_prev = c_0 x0_hat + c_t x_t + sigma z,   z ~ N(0, I),   no noise when prev_t = -1
// with c_0, c_t the posterior-mean coefficients between t and prev_t (posterior.hpp) and
// sigma^2 one of: fixed_small = beta_tilde (clamped at 1e-20), fixed_large = beta_{t|prev},
// their _log twins (the same values through exp(log)), learned = the model's variance
// (diffusers' convention: a variance, not a log variance), learned_range =
// exp(frac log beta_{t|prev} + (1 - frac) log beta_tilde), frac = (v + 1) / 2
// (Nichol & Dhariwal 2021, eq. 15).
//
// Each step validates everything first (O(1) plus O(B) for thresholding), then writes `out`
// in one fused pass (per column with dynamic thresholding) and allocates nothing. `out` may
// alias x_t or the model output, except with thresholding (out is its scratch).
#pragma once

#include <cmath>
#include <cstdint>
#include <string>

#include <Eigen/Core>

#include "latent/core/check.hpp"
#include "latent/diffusion/posterior.hpp"
#include "latent/diffusion/predictions.hpp"
#include "latent/diffusion/schedule.hpp"
#include "latent/diffusion/step_detail.hpp"
#include "latent/random/noise.hpp"

namespace latent {

/// How the variance of p(x_prev | x_t) is chosen (diffusers variance_type).
enum class variance_type {
  fixed_small,
  fixed_small_log,
  fixed_large,
  fixed_large_log,
  learned,
  learned_range
};

/// Options of ddpm_step. Defaults are diffusers' except clip_sample (diffusers: true).
struct ddpm_options {
  prediction_type prediction = prediction_type::epsilon;
  variance_type variance = variance_type::fixed_small;
  bool clip_sample = false;                   ///< clamp x0_hat to [-clip_sample_range, +]
  double clip_sample_range = 1.0;
  bool thresholding = false;                  ///< dynamic thresholding (wins over clipping)
  double dynamic_thresholding_ratio = 0.995;  ///< percentile of |x0_hat| in each column
  double sample_max_value = 1.0;              ///< upper bound of the threshold s
};

/// The double coefficients of one DDPM step: x_prev = k0 g(ax x + am m) + kx x + sigma z.
struct ddpm_coeffs {
  double ax, am;  ///< x0_hat = ax x_t + am model_output
  double k0, kx;  ///< posterior-mean coefficients of x0_hat and x_t
  double std;     ///< sigma for the fixed variance types (0 when prev_t = -1)
  double min_log, max_log;  ///< log beta_tilde (clamped) and log beta_{t|prev} (learned_range)
  bool noise;     ///< whether noise is added (prev_t >= 0)
};

namespace diffusion_detail {

inline bool is_learned(variance_type v) {
  return v == variance_type::learned || v == variance_type::learned_range;
}

inline ddpm_coeffs ddpm_make(const char* fn, const noise_schedule& s, const ddpm_options& o,
                             std::int64_t t, std::int64_t prev_t) {
  check_pair(fn, s, t, prev_t);
  const posterior_coeffs pc = make_posterior(s, t, prev_t);
  const double a = std::sqrt(pc.alpha_bar_t), b = std::sqrt(pc.one_minus_alpha_bar_t);
  if (o.prediction == prediction_type::epsilon && !(pc.alpha_bar_t > 0)) {
    throw std::domain_error(std::string(fn) + ": alpha_bar at t = " + std::to_string(t) +
                            " is 0 (zero terminal SNR), where an epsilon prediction cannot "
                            "recover x0; use v_prediction or sample prediction");
  }
  const auto c = x0_coefficients(o.prediction, a, b);
  ddpm_coeffs k{};
  k.ax = c.cx;
  k.am = c.cp;
  k.k0 = pc.coef_x0;
  k.kx = pc.coef_xt;
  k.noise = prev_t >= 0;
  const double small = std::max(pc.variance, 1e-20);
  k.min_log = std::log(small);
  k.max_log = std::log(pc.beta_t_given_prev);
  switch (o.variance) {
    case variance_type::fixed_small: k.std = std::sqrt(small); break;
    case variance_type::fixed_small_log: k.std = std::exp(0.5 * k.min_log); break;
    case variance_type::fixed_large: k.std = std::sqrt(pc.beta_t_given_prev); break;
    case variance_type::fixed_large_log: k.std = std::exp(0.5 * k.max_log); break;
    default: k.std = 0; break;
  }
  if (!k.noise) k.std = 0;
  return k;
}

inline x0_transform ddpm_transform(const char* fn, const ddpm_options& o) {
  x0_transform tr;
  tr.clip = o.clip_sample;
  tr.clip_range = o.clip_sample_range;
  tr.threshold = o.thresholding;
  tr.ratio = o.dynamic_thresholding_ratio;
  tr.max_value = o.sample_max_value;
  check_x0_transform(fn, tr);
  return tr;
}

/// Shared body of the fixed-variance DDPM steps; `draw` returns the noise source
/// (random/noise.hpp: given_noise or engine_noise).
template <class DerivedX, class DerivedM, class DerivedOut, class Draw>
inline void ddpm_fixed(const char* fn, const noise_schedule& schedule, const ddpm_options& o,
                       std::int64_t t, std::int64_t prev_t, const DerivedX& x,
                       const DerivedM& m_in, const Eigen::ArrayBase<DerivedOut>& out, Draw draw) {
  using S = typename DerivedOut::Scalar;
  if (is_learned(o.variance)) {
    detail::throw_shape(fn, "variance_type learned / learned_range needs the predicted_variance "
                            "argument");
  }
  check_step_shapes(fn, x, m_in, out);
  const x0_transform tr = ddpm_transform(fn, o);
  const ddpm_coeffs k = ddpm_make(fn, schedule, o, t, prev_t);
  if (tr.threshold) check_threshold_scratch(fn, out.derived(), x, m_in);
  const auto& m = m_in.template cast<S>();
  if (k.noise) {
    const S sd = S(k.std);
    assign_step(out, x, m, k.ax, k.am, k.k0, k.kx, 0.0, tr,
                make_noise_term(draw(), [sd](const auto& z) { return sd * z; }));
  } else {
    assign_step(out, x, m, k.ax, k.am, k.k0, k.kx, 0.0, tr, no_noise{});
  }
}

template <class DerivedX, class DerivedM, class DerivedV, class DerivedOut, class Draw>
inline void ddpm_learned(const char* fn, const noise_schedule& schedule, const ddpm_options& o,
                         std::int64_t t, std::int64_t prev_t, const DerivedX& x,
                         const DerivedM& m_in, const DerivedV& v_in,
                         const Eigen::ArrayBase<DerivedOut>& out, Draw draw) {
  using S = typename DerivedOut::Scalar;
  if (!is_learned(o.variance)) {
    detail::throw_shape(fn, "predicted_variance is given, but variance_type is not learned or "
                            "learned_range");
  }
  check_step_shapes(fn, x, m_in, out);
  check_same_shape(fn, "x_t", x, "predicted_variance", v_in);
  const x0_transform tr = ddpm_transform(fn, o);
  const ddpm_coeffs k = ddpm_make(fn, schedule, o, t, prev_t);
  if (tr.threshold) check_threshold_scratch(fn, out.derived(), x, m_in);
  if (tr.threshold && same_storage(out.derived(), v_in))
    detail::throw_shape(fn, "with dynamic thresholding, out must not alias predicted_variance");
  const auto& m = m_in.template cast<S>();
  const auto& v = v_in.template cast<S>();
  if (!k.noise) {
    assign_step(out, x, m, k.ax, k.am, k.k0, k.kx, 0.0, tr, no_noise{});
    return;
  }
  if (o.variance == variance_type::learned) {
    assign_step(out, x, m, k.ax, k.am, k.k0, k.kx, 0.0, tr,
                make_noise_term(draw(), [&v](const auto& z) { return v.sqrt() * z; }));
  } else {
    // exp(0.5 (frac max_log + (1 - frac) min_log)), frac = (v + 1) / 2
    const S c0 = S(0.5 * k.min_log + 0.25 * (k.max_log - k.min_log));
    const S c1 = S(0.25 * (k.max_log - k.min_log));
    assign_step(out, x, m, k.ax, k.am, k.k0, k.kx, 0.0, tr,
                make_noise_term(draw(), [&v, c0, c1](const auto& z) { return (c0 + c1 * v).exp() * z; }));
  }
}

}  // namespace diffusion_detail

/// The coefficients of a DDPM step from t to prev_t (validated). Returns a ddpm_coeffs value.
inline ddpm_coeffs ddpm_coefficients(const noise_schedule& schedule, const ddpm_options& options,
                                     std::int64_t t, std::int64_t prev_t) {
  return diffusion_detail::ddpm_make("latent::ddpm_coefficients", schedule, options, t, prev_t);
}

/// DDPM step x_t -> x_{prev_t} with the given standard normal noise (ignored when
/// prev_t = -1): \f$x_{prev} = c_0 \hat x_0 + c_t x_t + \sigma z\f$ (Ho et al. 2020, Alg. 2 and
/// eq. 7; prev_t from the timestep sequence, -1 after the last). Writes into `out`.
template <class DerivedX, class DerivedM, class DerivedOut, class DerivedN>
inline void ddpm_step(const noise_schedule& schedule, const ddpm_options& options, std::int64_t t,
                      std::int64_t prev_t, const Eigen::ArrayBase<DerivedX>& x_t,
                      const Eigen::ArrayBase<DerivedM>& model_output,
                      const Eigen::ArrayBase<DerivedOut>& out,
                      const Eigen::ArrayBase<DerivedN>& noise) {
  using S = typename DerivedOut::Scalar;
  const char* fn = "latent::ddpm_step";
  check_same_shape(fn, "x_t", x_t, "noise", noise);
  diffusion_detail::ddpm_fixed(fn, schedule, options, t, prev_t, x_t.derived(),
                               model_output.derived(), out,
                               [&] { return detail::given_as<S>(noise); });
}

/// DDPM step drawing its noise from the engine (no draw when prev_t = -1). Writes into `out`.
template <class DerivedX, class DerivedM, class DerivedOut>
inline void ddpm_step(const noise_schedule& schedule, const ddpm_options& options, std::int64_t t,
                      std::int64_t prev_t, const Eigen::ArrayBase<DerivedX>& x_t,
                      const Eigen::ArrayBase<DerivedM>& model_output,
                      const Eigen::ArrayBase<DerivedOut>& out, philox4x32& engine) {
  diffusion_detail::ddpm_fixed("latent::ddpm_step", schedule, options, t, prev_t, x_t.derived(),
                               model_output.derived(), out,
                               [&] { return detail::engine_noise{engine}; });
}

/// DDPM step with a learned variance (variance_type learned or learned_range):
/// predicted_variance is the variance channel of the model output (the second half of
/// diffusers' model_output). Noise given. Writes into `out`.
template <class DerivedX, class DerivedM, class DerivedV, class DerivedOut, class DerivedN>
inline void ddpm_step(const noise_schedule& schedule, const ddpm_options& options, std::int64_t t,
                      std::int64_t prev_t, const Eigen::ArrayBase<DerivedX>& x_t,
                      const Eigen::ArrayBase<DerivedM>& model_output,
                      const Eigen::ArrayBase<DerivedV>& predicted_variance,
                      const Eigen::ArrayBase<DerivedOut>& out,
                      const Eigen::ArrayBase<DerivedN>& noise) {
  using S = typename DerivedOut::Scalar;
  const char* fn = "latent::ddpm_step";
  check_same_shape(fn, "x_t", x_t, "noise", noise);
  diffusion_detail::ddpm_learned(fn, schedule, options, t, prev_t, x_t.derived(),
                                 model_output.derived(), predicted_variance.derived(), out,
                                 [&] { return detail::given_as<S>(noise); });
}

/// DDPM step with a learned variance, noise from the engine. Writes into `out`.
template <class DerivedX, class DerivedM, class DerivedV, class DerivedOut>
inline void ddpm_step(const noise_schedule& schedule, const ddpm_options& options, std::int64_t t,
                      std::int64_t prev_t, const Eigen::ArrayBase<DerivedX>& x_t,
                      const Eigen::ArrayBase<DerivedM>& model_output,
                      const Eigen::ArrayBase<DerivedV>& predicted_variance,
                      const Eigen::ArrayBase<DerivedOut>& out, philox4x32& engine) {
  diffusion_detail::ddpm_learned("latent::ddpm_step", schedule, options, t, prev_t, x_t.derived(),
                                 model_output.derived(), predicted_variance.derived(), out,
                                 [&] { return detail::engine_noise{engine}; });
}

}  // namespace latent
