// latent/diffusion/posterior.hpp: the forward-process posterior q(x_s | x_t, x_0), s < t.
//
// For s = prev_t (t - 1 for the full chain, or any earlier timestep of a skipped or custom
// sequence; -1 means the clean sample, alpha_bar = 1) the effective one-step quantities are
// alpha_{t|s} = alpha_bar_t / alpha_bar_s and beta_{t|s} = 1 - alpha_{t|s}, evaluated as
// -expm1(log alpha_bar_t - log alpha_bar_s), and (Ho et al. 2020, eqs. 6-7):
//   mean     = sqrt(alpha_bar_s) beta_{t|s} / (1 - alpha_bar_t) x_0
//            + sqrt(alpha_{t|s}) (1 - alpha_bar_s) / (1 - alpha_bar_t) x_t
//   variance = (1 - alpha_bar_s) / (1 - alpha_bar_t) beta_{t|s}.
// These are the coefficients of diffusers' DDPMScheduler.step with previous_timestep.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>

#include <Eigen/Core>

#include "latent/core/check.hpp"
#include "latent/diffusion/schedule.hpp"

namespace latent {

/// The double coefficients of q(x_s | x_t, x_0) between timestep t and s = prev_t < t.
struct posterior_coeffs {
  double alpha_bar_t, alpha_bar_prev;
  double one_minus_alpha_bar_t, one_minus_alpha_bar_prev;
  double alpha_t_given_prev, beta_t_given_prev;  ///< alpha_bar_t / alpha_bar_prev and 1 - that
  double coef_x0, coef_xt;                       ///< posterior mean coefficients
  double variance;                               ///< posterior variance beta_tilde
};

namespace diffusion_detail {
inline void check_pair(const char* fn, const noise_schedule& s, std::int64_t t,
                       std::int64_t prev_t) {
  check_index(fn, "t", t, s.size());
  if (prev_t < -1 || prev_t >= t) {
    throw std::domain_error(std::string(fn) + ": prev_t = " + std::to_string(prev_t) +
                            " is out of range [-1, " + std::to_string(t - 1) + "]");
  }
}
inline posterior_coeffs make_posterior(const noise_schedule& s, std::int64_t t,
                                       std::int64_t prev_t) {
  posterior_coeffs c{};
  const double lab_t = s.log_alpha_bar_at(t), lab_p = s.log_alpha_bar_at(prev_t);
  c.alpha_bar_t = s.alpha_bar_at(t);
  c.alpha_bar_prev = s.alpha_bar_at(prev_t);
  c.one_minus_alpha_bar_t = s.one_minus_alpha_bar_at(t);
  c.one_minus_alpha_bar_prev = s.one_minus_alpha_bar_at(prev_t);
  double log_alpha = lab_t - lab_p;
  if (!std::isinf(lab_t) && -log_alpha < 1e-8 * std::abs(lab_t)) {
    // Tiny betas beside a large cumulative sum (betas 1e-213 after alpha_bar = 0.5): the
    // difference of cumulative sums cancels to 0, and beta_{t|prev} with it (log 0 = -inf made
    // the learned-range variance NaN). Summed over the steps in between instead.
    log_alpha = 0;
    for (std::int64_t i = prev_t + 1; i <= t; ++i) log_alpha += std::log1p(-s.betas()(i));
  }
  c.alpha_t_given_prev = std::exp(log_alpha);
  c.beta_t_given_prev = -std::expm1(log_alpha);
  if (std::isinf(lab_t)) {  // zero terminal SNR: alpha_bar_t = 0
    c.alpha_t_given_prev = 0.0;
    c.beta_t_given_prev = 1.0;
  }
  c.coef_x0 = std::sqrt(c.alpha_bar_prev) * c.beta_t_given_prev / c.one_minus_alpha_bar_t;
  c.coef_xt = std::sqrt(c.alpha_t_given_prev) * c.one_minus_alpha_bar_prev / c.one_minus_alpha_bar_t;
  c.variance = c.one_minus_alpha_bar_prev / c.one_minus_alpha_bar_t * c.beta_t_given_prev;
  return c;
}
}  // namespace diffusion_detail

/// The coefficients of q(x_{prev_t} | x_t, x_0) (Ho et al. 2020, eq. 7, generalized to a
/// skipped step). prev_t in [-1, t - 1]. Returns a posterior_coeffs value.
inline posterior_coeffs posterior_coefficients(const noise_schedule& schedule, std::int64_t t,
                                               std::int64_t prev_t) {
  diffusion_detail::check_pair("latent::posterior_coefficients", schedule, t, prev_t);
  return diffusion_detail::make_posterior(schedule, t, prev_t);
}

/// Posterior mean \f$\tilde\mu_t = c_0 x_0 + c_t x_t\f$ for the step t -> prev_t
/// (Ho et al. 2020, eq. 7). Returns an element-wise expression.
template <class DerivedX0, class DerivedXt>
inline auto posterior_mean(const noise_schedule& schedule, std::int64_t t, std::int64_t prev_t,
                           const Eigen::ArrayBase<DerivedX0>& x0,
                           const Eigen::ArrayBase<DerivedXt>& x_t) {
  using S = scalar_t<DerivedXt>;
  const char* fn = "latent::posterior_mean";
  diffusion_detail::check_pair(fn, schedule, t, prev_t);
  check_same_shape(fn, "x0", x0, "x_t", x_t);
  const posterior_coeffs c = diffusion_detail::make_posterior(schedule, t, prev_t);
  return S(c.coef_x0) * x0.derived().template cast<S>() + S(c.coef_xt) * x_t.derived();
}

/// Posterior mean for the adjacent step t -> t - 1. Returns an element-wise expression.
template <class DerivedX0, class DerivedXt>
inline auto posterior_mean(const noise_schedule& schedule, std::int64_t t,
                           const Eigen::ArrayBase<DerivedX0>& x0,
                           const Eigen::ArrayBase<DerivedXt>& x_t) {
  return posterior_mean(schedule, t, t - 1, x0, x_t);
}

/// Posterior variance \f$\tilde\beta = (1-\bar\alpha_s)/(1-\bar\alpha_t)\,\beta_{t|s}\f$
/// (Ho et al. 2020, eq. 7). Returns a double.
inline double posterior_variance(const noise_schedule& schedule, std::int64_t t,
                                 std::int64_t prev_t) {
  diffusion_detail::check_pair("latent::posterior_variance", schedule, t, prev_t);
  return diffusion_detail::make_posterior(schedule, t, prev_t).variance;
}
/// Posterior variance for the adjacent step t -> t - 1. Returns a double.
inline double posterior_variance(const noise_schedule& schedule, std::int64_t t) {
  return posterior_variance(schedule, t, t - 1);
}
/// log of the posterior variance with t = 0 replaced by t = 1, as in Ho et al.'s code and
/// Nichol & Dhariwal's learned-range interpolation. Returns a double.
inline double posterior_log_variance_clipped(const noise_schedule& schedule, std::int64_t t) {
  check_index("latent::posterior_log_variance_clipped", "t", t, schedule.size());
  return schedule.posterior_log_variance_clipped()(t);
}

}  // namespace latent
