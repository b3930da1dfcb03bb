// latent/diffusion/ddim.hpp: the DDIM step (Song, Meng & Ermon 2021, eq. 12 and eq. 16) with
// the options of diffusers' DDIMScheduler.step, and deterministic DDIM inversion.
//
//   x_prev = sqrt(alpha_bar_prev) x0_hat + sqrt(1 - alpha_bar_prev - sigma^2) eps_hat + sigma z
//   sigma  = eta sqrt((1 - alpha_bar_prev)/(1 - alpha_bar_t)) sqrt(1 - alpha_bar_t/alpha_bar_prev)
// For the last step (prev_t = -1) alpha_bar_prev is 1 (set_alpha_to_one) or alpha_bar_0.
// eta = 0 is deterministic (no noise is read or drawn). Writes into a caller-given output,
// allocates nothing, validates everything first.
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

/// Options of ddim_step. Defaults are diffusers' except clip_sample (diffusers: true).
struct ddim_options {
  prediction_type prediction = prediction_type::epsilon;
  double eta = 0.0;                          ///< 0: DDIM (deterministic); 1: DDPM-like variance
  bool clip_sample = false;
  double clip_sample_range = 1.0;
  bool thresholding = false;
  double dynamic_thresholding_ratio = 0.995;
  double sample_max_value = 1.0;
  bool set_alpha_to_one = true;              ///< final alpha_bar_prev = 1, else alpha_bar_0
  bool use_clipped_model_output = false;     ///< re-derive eps_hat from the clipped x0_hat
};

/// The double coefficients of one DDIM step.
struct ddim_coeffs {
  double alpha_bar_t, alpha_bar_prev;
  double ax, am;     ///< x0_hat = ax x_t + am model_output
  double ex, em;     ///< eps_hat = ex x_t + em model_output
  double std;        ///< sigma_t(eta)
  double direction;  ///< sqrt(1 - alpha_bar_prev - sigma^2)
};

namespace diffusion_detail {

inline ddim_coeffs ddim_make(const char* fn, const noise_schedule& s, const ddim_options& o,
                             std::int64_t t, std::int64_t prev_t) {
  check_pair(fn, s, t, prev_t);
  if (!(o.eta >= 0) || !std::isfinite(o.eta))
    detail::throw_domain(fn, "eta", detail::format_value(o.eta), "non-negative and finite");
  ddim_coeffs k{};
  const bool final_step = prev_t < 0;
  const bool one = final_step && o.set_alpha_to_one;
  const std::int64_t p = final_step ? 0 : prev_t;
  const double lab_t = s.log_alpha_bar()(t);
  const double lab_p = one ? 0.0 : s.log_alpha_bar()(p);
  const double omab_p = one ? 0.0 : s.one_minus_alpha_bar()(p);
  const double omab_t = s.one_minus_alpha_bar()(t);
  k.alpha_bar_t = s.alpha_bar()(t);
  k.alpha_bar_prev = one ? 1.0 : s.alpha_bar()(p);
  const double a = std::sqrt(k.alpha_bar_t), b = std::sqrt(omab_t);
  if (o.prediction == prediction_type::epsilon && !(k.alpha_bar_t > 0)) {
    throw std::domain_error(std::string(fn) + ": alpha_bar at t = " + std::to_string(t) +
                            " is 0 (zero terminal SNR), where an epsilon prediction cannot "
                            "recover x0; use v_prediction or sample prediction");
  }
  const auto cx0 = x0_coefficients(o.prediction, a, b);
  const auto ce = eps_coefficients(o.prediction, a, b);
  k.ax = cx0.cx;
  k.am = cx0.cp;
  k.ex = ce.cx;
  k.em = ce.cp;
  // variance = (1 - ab_prev)/(1 - ab_t) (1 - ab_t/ab_prev); the last factor via expm1.
  double beta_eff = -std::expm1(lab_t - lab_p);
  if (std::isinf(lab_t)) beta_eff = 1.0;
  const double variance = omab_p / omab_t * beta_eff;
  k.std = o.eta * std::sqrt(variance);
  k.direction = std::sqrt(std::max(0.0, omab_p - k.std * k.std));
  return k;
}

inline x0_transform ddim_transform(const char* fn, const ddim_options& o) {
  x0_transform tr;
  tr.clip = o.clip_sample;
  tr.clip_range = o.clip_sample_range;
  tr.threshold = o.thresholding;
  tr.ratio = o.dynamic_thresholding_ratio;
  tr.max_value = o.sample_max_value;
  check_x0_transform(fn, tr);
  return tr;
}

template <class DerivedX, class DerivedM, class DerivedOut, class NoiseTerm>
inline void ddim_assign(const noise_schedule& s, const ddim_options& o, std::int64_t t,
                        const ddim_coeffs& k, const x0_transform& tr, const DerivedX& x,
                        const DerivedM& m, const Eigen::ArrayBase<DerivedOut>& out,
                        const NoiseTerm& noise) {
  const double sp = std::sqrt(k.alpha_bar_prev);
  const bool transformed = tr.clip || tr.threshold;
  if (transformed && o.use_clipped_model_output) {
    // eps_hat = (x - a g(x0)) / b: x_prev = (sp - dir a / b) g(x0) + dir / b x
    const double a = std::sqrt(k.alpha_bar_t), b = s.sqrt_one_minus_alpha_bar()(t);
    assign_step(out, x, m, k.ax, k.am, sp - k.direction * a / b, k.direction / b, 0.0, tr, noise);
  } else {
    assign_step(out, x, m, k.ax, k.am, sp, k.direction * k.ex, k.direction * k.em, tr, noise);
  }
}

template <class DerivedX, class DerivedM, class DerivedOut, class Draw>
inline void ddim_body(const char* fn, const noise_schedule& schedule, const ddim_options& o,
                      std::int64_t t, std::int64_t prev_t, const DerivedX& x, const DerivedM& m_in,
                      const Eigen::ArrayBase<DerivedOut>& out, bool have_noise, Draw draw) {
  using S = typename DerivedOut::Scalar;
  check_step_shapes(fn, x, m_in, out);
  const x0_transform tr = ddim_transform(fn, o);
  const ddim_coeffs k = ddim_make(fn, schedule, o, t, prev_t);
  if (o.eta > 0 && !have_noise) {
    throw std::invalid_argument(std::string(fn) + ": eta = " + detail::format_value(o.eta) +
                                " > 0 needs noise (pass an engine or a noise array)");
  }
  if (tr.threshold) check_threshold_scratch(fn, out.derived(), x, m_in);
  const auto& m = m_in.template cast<S>();
  if (k.std > 0) {
    const S sd = S(k.std);
    ddim_assign(schedule, o, t, k, tr, x, m, out,
                make_noise_term(draw(), [sd](const auto& z) { return sd * z; }));
  } else {
    ddim_assign(schedule, o, t, k, tr, x, m, out, no_noise{});
  }
}

}  // namespace diffusion_detail

/// The coefficients of a DDIM step from t to prev_t (validated). Returns a ddim_coeffs value.
inline ddim_coeffs ddim_coefficients(const noise_schedule& schedule, const ddim_options& options,
                                     std::int64_t t, std::int64_t prev_t) {
  return diffusion_detail::ddim_make("latent::ddim_coefficients", schedule, options, t, prev_t);
}

/// DDIM step with given variance noise (used only when eta > 0; diffusers' variance_noise):
/// \f$x_{prev} = \sqrt{\bar\alpha_{prev}}\hat x_0 + \sqrt{1-\bar\alpha_{prev}-\sigma^2}\hat\epsilon
/// + \sigma z\f$ (Song et al. 2021, eq. 12). Writes into `out`.
template <class DerivedX, class DerivedM, class DerivedOut, class DerivedN>
inline void ddim_step(const noise_schedule& schedule, const ddim_options& options, std::int64_t t,
                      std::int64_t prev_t, const Eigen::ArrayBase<DerivedX>& x_t,
                      const Eigen::ArrayBase<DerivedM>& model_output,
                      const Eigen::ArrayBase<DerivedOut>& out,
                      const Eigen::ArrayBase<DerivedN>& noise) {
  using S = typename DerivedOut::Scalar;
  const char* fn = "latent::ddim_step";
  check_same_shape(fn, "x_t", x_t, "noise", noise);
  diffusion_detail::ddim_body(fn, schedule, options, t, prev_t, x_t.derived(),
                              model_output.derived(), out, true,
                              [&] { return detail::given_as<S>(noise); });
}

/// DDIM step drawing noise from the engine when eta > 0 (nothing is drawn when eta = 0).
/// Writes into `out`.
template <class DerivedX, class DerivedM, class DerivedOut>
inline void ddim_step(const noise_schedule& schedule, const ddim_options& options, std::int64_t t,
                      std::int64_t prev_t, const Eigen::ArrayBase<DerivedX>& x_t,
                      const Eigen::ArrayBase<DerivedM>& model_output,
                      const Eigen::ArrayBase<DerivedOut>& out, philox4x32& engine) {
  diffusion_detail::ddim_body("latent::ddim_step", schedule, options, t, prev_t, x_t.derived(),
                              model_output.derived(), out, true,
                              [&] { return detail::engine_noise{engine}; });
}

/// Deterministic DDIM step (eta must be 0). Writes into `out`.
template <class DerivedX, class DerivedM, class DerivedOut>
inline void ddim_step(const noise_schedule& schedule, const ddim_options& options, std::int64_t t,
                      std::int64_t prev_t, const Eigen::ArrayBase<DerivedX>& x_t,
                      const Eigen::ArrayBase<DerivedM>& model_output,
                      const Eigen::ArrayBase<DerivedOut>& out) {
  using S = typename DerivedOut::Scalar;
  diffusion_detail::ddim_body("latent::ddim_step", schedule, options, t, prev_t, x_t.derived(),
                              model_output.derived(), out, false,
                              [&]() {
                                // Never drawn (eta = 0 is checked); zeros, held by value.
                                const auto zero = Eigen::Array<S, Eigen::Dynamic, Eigen::Dynamic>::Zero(
                                    out.rows(), out.cols());
                                return detail::given_noise<decltype(zero)>{zero};
                              });
}

/// Deterministic DDIM inversion x_t -> x_{next_t}, next_t > t (Song et al. 2021, Sec. 4.3;
/// diffusers DDIMInverseScheduler): \f$x_{next} = \sqrt{\bar\alpha_{next}}\hat x_0 +
/// \sqrt{1-\bar\alpha_{next}}\hat\epsilon\f$ with x0_hat, eps_hat from the model output at t.
/// t = -1 means x_t is the clean sample (alpha_bar = 1; not with sample prediction).
/// Writes into `out`.
template <class DerivedX, class DerivedM, class DerivedOut>
inline void ddim_inversion_step(const noise_schedule& schedule, prediction_type prediction,
                                std::int64_t t, std::int64_t next_t,
                                const Eigen::ArrayBase<DerivedX>& x_t,
                                const Eigen::ArrayBase<DerivedM>& model_output,
                                const Eigen::ArrayBase<DerivedOut>& out) {
  using S = typename DerivedOut::Scalar;
  const char* fn = "latent::ddim_inversion_step";
  check_index(fn, "next_t", next_t, schedule.size());
  if (t < -1 || t >= next_t) {
    throw std::domain_error(std::string(fn) + ": t = " + std::to_string(t) +
                            " is out of range [-1, " + std::to_string(next_t - 1) + "]");
  }
  diffusion_detail::check_step_shapes(fn, x_t.derived(), model_output.derived(), out);
  const double ab = schedule.alpha_bar_at(t);
  const double a = std::sqrt(ab), b = std::sqrt(schedule.one_minus_alpha_bar_at(t));
  if (prediction == prediction_type::sample && !(b > 0)) {
    throw std::domain_error(std::string(fn) + ": t = -1 (alpha_bar = 1) cannot recover epsilon "
                            "from a sample prediction");
  }
  if (prediction == prediction_type::epsilon && !(a > 0)) {
    throw std::domain_error(std::string(fn) + ": alpha_bar at t is 0");
  }
  const auto cx0 = x0_coefficients(prediction, a, b);
  const auto ce = eps_coefficients(prediction, a, b);
  const double sn = schedule.sqrt_alpha_bar()(next_t), bn = schedule.sqrt_one_minus_alpha_bar()(next_t);
  diffusion_detail::x0_transform none;
  diffusion_detail::assign_step(out, x_t.derived(), model_output.derived().template cast<S>(),
                                cx0.cx, cx0.cp, sn, bn * ce.cx, bn * ce.cp, none,
                                diffusion_detail::no_noise{});
}

}  // namespace latent
