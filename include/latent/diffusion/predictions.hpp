// latent/diffusion/predictions.hpp: conversions among the four parameterizations of a
// denoiser at timestep t: x_0, epsilon, v and the score grad log q(x_t).
//
// With a = sqrt(alpha_bar_t), b = sqrt(1 - alpha_bar_t) and x_t = a x_0 + b eps:
//   v = a eps - b x_0 (Salimans & Ho 2022), score = -eps / b (Vincent 2011; Song et al. 2021).
// Every conversion is linear: out = c_x x_t + c_p prediction, with c_x, c_p computed in double
// and cast to the scalar of x_t. Every function returns an element-wise expression. Those
// that divide by a are unbounded at zero terminal SNR (a = 0); those dividing by b at t with
// alpha_bar = 1 (never for betas > 0).
#pragma once

#include <cmath>
#include <cstdint>

#include <Eigen/Core>

#include "latent/core/check.hpp"
#include "latent/diffusion/schedule.hpp"

namespace latent {

/// What a denoiser predicts (diffusers prediction_type: "epsilon", "sample", "v_prediction").
enum class prediction_type { epsilon, sample, v_prediction };

namespace diffusion_detail {

struct linear_coeffs {
  double cx, cp;
};

template <class DerivedX, class DerivedP>
inline auto linear_combination(const char* fn, const noise_schedule& s, std::int64_t t,
                               const Eigen::ArrayBase<DerivedX>& x_t,
                               const Eigen::ArrayBase<DerivedP>& p, linear_coeffs c) {
  using S = scalar_t<DerivedX>;
  (void)s;
  (void)t;
  check_same_shape(fn, "x_t", x_t, "prediction", p);
  return S(c.cx) * x_t.derived() + S(c.cp) * p.derived().template cast<S>();
}

}  // namespace diffusion_detail

/// \f$ (x_t - sqrt(1-ab) eps) / sqrt(ab) \f$ (Ho et al. 2020, eq. 15). Returns an element-wise expression.
template <class DerivedX, class DerivedP>
inline auto x0_from_eps(const noise_schedule& schedule, std::int64_t t,
                   const Eigen::ArrayBase<DerivedX>& x_t, const Eigen::ArrayBase<DerivedP>& eps) {
  check_index("latent::x0_from_eps", "t", t, schedule.size());
  const double a = schedule.sqrt_alpha_bar()(t), b = schedule.sqrt_one_minus_alpha_bar()(t);
  (void)a;
  (void)b;
  return diffusion_detail::linear_combination("latent::x0_from_eps", schedule, t, x_t, eps,
                                              {1/a, -b/a});
}

/// \f$ sqrt(ab) x_t - sqrt(1-ab) v \f$ (Salimans & Ho 2022, App. D). Returns an element-wise expression.
template <class DerivedX, class DerivedP>
inline auto x0_from_v(const noise_schedule& schedule, std::int64_t t,
                   const Eigen::ArrayBase<DerivedX>& x_t, const Eigen::ArrayBase<DerivedP>& v) {
  check_index("latent::x0_from_v", "t", t, schedule.size());
  const double a = schedule.sqrt_alpha_bar()(t), b = schedule.sqrt_one_minus_alpha_bar()(t);
  (void)a;
  (void)b;
  return diffusion_detail::linear_combination("latent::x0_from_v", schedule, t, x_t, v,
                                              {a, -b});
}

/// \f$ (x_t + (1-ab) score) / sqrt(ab) \f$ (Tweedie's formula (Efron 2011)). Returns an element-wise expression.
template <class DerivedX, class DerivedP>
inline auto x0_from_score(const noise_schedule& schedule, std::int64_t t,
                   const Eigen::ArrayBase<DerivedX>& x_t, const Eigen::ArrayBase<DerivedP>& score) {
  check_index("latent::x0_from_score", "t", t, schedule.size());
  const double a = schedule.sqrt_alpha_bar()(t), b = schedule.sqrt_one_minus_alpha_bar()(t);
  (void)a;
  (void)b;
  return diffusion_detail::linear_combination("latent::x0_from_score", schedule, t, x_t, score,
                                              {1/a, b*b/a});
}

/// \f$ (x_t - sqrt(ab) x0) / sqrt(1-ab) \f$ (Ho et al. 2020, eq. 4). Returns an element-wise expression.
template <class DerivedX, class DerivedP>
inline auto eps_from_x0(const noise_schedule& schedule, std::int64_t t,
                   const Eigen::ArrayBase<DerivedX>& x_t, const Eigen::ArrayBase<DerivedP>& x0) {
  check_index("latent::eps_from_x0", "t", t, schedule.size());
  const double a = schedule.sqrt_alpha_bar()(t), b = schedule.sqrt_one_minus_alpha_bar()(t);
  (void)a;
  (void)b;
  return diffusion_detail::linear_combination("latent::eps_from_x0", schedule, t, x_t, x0,
                                              {1/b, -a/b});
}

/// \f$ sqrt(1-ab) x_t + sqrt(ab) v \f$ (Salimans & Ho 2022, App. D). Returns an element-wise expression.
template <class DerivedX, class DerivedP>
inline auto eps_from_v(const noise_schedule& schedule, std::int64_t t,
                   const Eigen::ArrayBase<DerivedX>& x_t, const Eigen::ArrayBase<DerivedP>& v) {
  check_index("latent::eps_from_v", "t", t, schedule.size());
  const double a = schedule.sqrt_alpha_bar()(t), b = schedule.sqrt_one_minus_alpha_bar()(t);
  (void)a;
  (void)b;
  return diffusion_detail::linear_combination("latent::eps_from_v", schedule, t, x_t, v,
                                              {b, a});
}

/// \f$ -sqrt(1-ab) score \f$ (Song et al. 2021, Sec. 4 / Vincent 2011). Returns an element-wise expression.
template <class DerivedX, class DerivedP>
inline auto eps_from_score(const noise_schedule& schedule, std::int64_t t,
                   const Eigen::ArrayBase<DerivedX>& x_t, const Eigen::ArrayBase<DerivedP>& score) {
  check_index("latent::eps_from_score", "t", t, schedule.size());
  const double a = schedule.sqrt_alpha_bar()(t), b = schedule.sqrt_one_minus_alpha_bar()(t);
  (void)a;
  (void)b;
  return diffusion_detail::linear_combination("latent::eps_from_score", schedule, t, x_t, score,
                                              {0, -b});
}

/// \f$ (sqrt(ab) x_t - x0) / sqrt(1-ab) \f$ (Salimans & Ho 2022, App. D). Returns an element-wise expression.
template <class DerivedX, class DerivedP>
inline auto v_from_x0(const noise_schedule& schedule, std::int64_t t,
                   const Eigen::ArrayBase<DerivedX>& x_t, const Eigen::ArrayBase<DerivedP>& x0) {
  check_index("latent::v_from_x0", "t", t, schedule.size());
  const double a = schedule.sqrt_alpha_bar()(t), b = schedule.sqrt_one_minus_alpha_bar()(t);
  (void)a;
  (void)b;
  return diffusion_detail::linear_combination("latent::v_from_x0", schedule, t, x_t, x0,
                                              {a/b, -1/b});
}

/// \f$ (eps - sqrt(1-ab) x_t) / sqrt(ab) \f$ (Salimans & Ho 2022, App. D). Returns an element-wise expression.
template <class DerivedX, class DerivedP>
inline auto v_from_eps(const noise_schedule& schedule, std::int64_t t,
                   const Eigen::ArrayBase<DerivedX>& x_t, const Eigen::ArrayBase<DerivedP>& eps) {
  check_index("latent::v_from_eps", "t", t, schedule.size());
  const double a = schedule.sqrt_alpha_bar()(t), b = schedule.sqrt_one_minus_alpha_bar()(t);
  (void)a;
  (void)b;
  return diffusion_detail::linear_combination("latent::v_from_eps", schedule, t, x_t, eps,
                                              {-b/a, 1/a});
}

/// \f$ -sqrt(1-ab) (score + x_t) / sqrt(ab) \f$ (Salimans & Ho 2022 with eps = -sqrt(1-ab) score). Returns an element-wise expression.
template <class DerivedX, class DerivedP>
inline auto v_from_score(const noise_schedule& schedule, std::int64_t t,
                   const Eigen::ArrayBase<DerivedX>& x_t, const Eigen::ArrayBase<DerivedP>& score) {
  check_index("latent::v_from_score", "t", t, schedule.size());
  const double a = schedule.sqrt_alpha_bar()(t), b = schedule.sqrt_one_minus_alpha_bar()(t);
  (void)a;
  (void)b;
  return diffusion_detail::linear_combination("latent::v_from_score", schedule, t, x_t, score,
                                              {-b/a, -b/a});
}

/// \f$ -(x_t - sqrt(ab) x0) / (1-ab) \f$ (Tweedie's formula (Efron 2011)). Returns an element-wise expression.
template <class DerivedX, class DerivedP>
inline auto score_from_x0(const noise_schedule& schedule, std::int64_t t,
                   const Eigen::ArrayBase<DerivedX>& x_t, const Eigen::ArrayBase<DerivedP>& x0) {
  check_index("latent::score_from_x0", "t", t, schedule.size());
  const double a = schedule.sqrt_alpha_bar()(t), b = schedule.sqrt_one_minus_alpha_bar()(t);
  (void)a;
  (void)b;
  return diffusion_detail::linear_combination("latent::score_from_x0", schedule, t, x_t, x0,
                                              {-1/(b*b), a/(b*b)});
}

/// \f$ -eps / sqrt(1-ab) \f$ (Song et al. 2021, Sec. 4 / Vincent 2011). Returns an element-wise expression.
template <class DerivedX, class DerivedP>
inline auto score_from_eps(const noise_schedule& schedule, std::int64_t t,
                   const Eigen::ArrayBase<DerivedX>& x_t, const Eigen::ArrayBase<DerivedP>& eps) {
  check_index("latent::score_from_eps", "t", t, schedule.size());
  const double a = schedule.sqrt_alpha_bar()(t), b = schedule.sqrt_one_minus_alpha_bar()(t);
  (void)a;
  (void)b;
  return diffusion_detail::linear_combination("latent::score_from_eps", schedule, t, x_t, eps,
                                              {0, -1/b});
}

/// \f$ -(sqrt(1-ab) x_t + sqrt(ab) v) / sqrt(1-ab) \f$ (Salimans & Ho 2022 with score = -eps/sqrt(1-ab)). Returns an element-wise expression.
template <class DerivedX, class DerivedP>
inline auto score_from_v(const noise_schedule& schedule, std::int64_t t,
                   const Eigen::ArrayBase<DerivedX>& x_t, const Eigen::ArrayBase<DerivedP>& v) {
  check_index("latent::score_from_v", "t", t, schedule.size());
  const double a = schedule.sqrt_alpha_bar()(t), b = schedule.sqrt_one_minus_alpha_bar()(t);
  (void)a;
  (void)b;
  return diffusion_detail::linear_combination("latent::score_from_v", schedule, t, x_t, v,
                                              {-1, -a/b});
}

/// The coefficients (c_x, c_p) of x_0_hat = c_x x_t + c_p model_output for a prediction type.
inline diffusion_detail::linear_coeffs x0_coefficients(prediction_type type, double a, double b) {
  switch (type) {
    case prediction_type::epsilon: return {1.0 / a, -b / a};
    case prediction_type::sample: return {0.0, 1.0};
    case prediction_type::v_prediction: return {a, -b};
  }
  return {0.0, 1.0};
}
/// The coefficients (c_x, c_p) of eps_hat = c_x x_t + c_p model_output for a prediction type.
inline diffusion_detail::linear_coeffs eps_coefficients(prediction_type type, double a, double b) {
  switch (type) {
    case prediction_type::epsilon: return {0.0, 1.0};
    case prediction_type::sample: return {1.0 / b, -a / b};
    case prediction_type::v_prediction: return {b, a};
  }
  return {0.0, 1.0};
}

/// x_0_hat from a model output of any prediction type (eq. 15 of Ho et al. 2020 for
/// epsilon; identity for sample; a x_t - b v for v). Returns an element-wise expression.
template <class DerivedX, class DerivedP>
inline auto predict_x0(const noise_schedule& schedule, prediction_type type, std::int64_t t,
                       const Eigen::ArrayBase<DerivedX>& x_t,
                       const Eigen::ArrayBase<DerivedP>& model_output) {
  check_index("latent::predict_x0", "t", t, schedule.size());
  const double a = schedule.sqrt_alpha_bar()(t), b = schedule.sqrt_one_minus_alpha_bar()(t);
  return diffusion_detail::linear_combination("latent::predict_x0", schedule, t, x_t,
                                              model_output, x0_coefficients(type, a, b));
}

/// eps_hat from a model output of any prediction type. Returns an element-wise expression.
template <class DerivedX, class DerivedP>
inline auto predict_eps(const noise_schedule& schedule, prediction_type type, std::int64_t t,
                        const Eigen::ArrayBase<DerivedX>& x_t,
                        const Eigen::ArrayBase<DerivedP>& model_output) {
  check_index("latent::predict_eps", "t", t, schedule.size());
  const double a = schedule.sqrt_alpha_bar()(t), b = schedule.sqrt_one_minus_alpha_bar()(t);
  return diffusion_detail::linear_combination("latent::predict_eps", schedule, t, x_t,
                                              model_output, eps_coefficients(type, a, b));
}

}  // namespace latent
