// latent/diffusion/schedule.hpp: discrete beta schedules and the derived tables of DDPM.
//
// All tables are double. 1 - alpha_bar is computed as -expm1(sum log1p(-beta)), never as
// 1 - prod(1 - beta), so it keeps full relative precision near t = 0 (where 1 - alpha_bar is
// ~1e-4 and the subtraction would lose four digits), and alpha_bar keeps its relative
// precision near t = T - 1 (where it may be 1e-5 or, after the zero-terminal-SNR rescale, 0).
//
// Formulas: Ho et al. 2020 (DDPM, eqs. 4, 6, 7), Nichol & Dhariwal 2021 (cosine, eq. 17),
// Lin et al. 2023 ("Common Diffusion Noise Schedules and Sample Steps are Flawed", Alg. 1),
// and diffusers' DDPMScheduler (beta_schedule = linear, scaled_linear, squaredcos_cap_v2,
// sigmoid). Values are checked against tools/diffusion_reference.py.
#pragma once

#include <cmath>
#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>

#include <Eigen/Core>

#include "latent/core/check.hpp"

namespace latent {
namespace schedule_detail {

inline void check_steps(const char* fn, std::int64_t T) {
  if (T < 1) {
    throw std::domain_error(std::string(fn) + ": num_train_timesteps = " + std::to_string(T) +
                            " is out of range [1, inf)");
  }
}
inline void check_beta_range(const char* fn, double beta_start, double beta_end) {
  if (!(beta_start > 0 && beta_start < 1))
    detail::throw_domain(fn, "beta_start", detail::format_value(beta_start), "in (0, 1)");
  if (!(beta_end > 0 && beta_end < 1))
    detail::throw_domain(fn, "beta_end", detail::format_value(beta_end), "in (0, 1)");
}
/// Extreme parameters (subnormal endpoints, s >~ 1e15) can round a beta to 0, to a negative
/// subnormal or to 1: say so here instead of letting noise_schedule reject it later.
inline void check_generated(const char* fn, const Eigen::ArrayXd& betas) {
  for (Eigen::Index i = 0; i < betas.size(); ++i) {
    if (!(betas(i) > 0 && betas(i) < 1)) {
      throw std::domain_error(std::string(fn) + ": the parameters give betas[" +
                              std::to_string(i) + "] = " + detail::format_value(betas(i)) +
                              " after rounding, but every beta must be in (0, 1)");
    }
  }
}

/// numpy.linspace(a, b, n): a + i * (b - a) / (n - 1), with the last point exactly b.
inline Eigen::ArrayXd linspace(double a, double b, std::int64_t n) {
  Eigen::ArrayXd out(n);
  if (n == 1) {
    out(0) = a;
    return out;
  }
  const double step = (b - a) / double(n - 1);
  for (std::int64_t i = 0; i < n; ++i) out(i) = (i == n - 1) ? b : a + double(i) * step;
  return out;
}

}  // namespace schedule_detail

/// Linear betas \f$\beta_i = \beta_{start} + i(\beta_{end} - \beta_{start})/(T-1)\f$
/// (Ho et al. 2020, Sec. 4: 1e-4 to 0.02; diffusers beta_schedule="linear").
/// Returns an evaluated ArrayXd of length T.
inline Eigen::ArrayXd linear_betas(std::int64_t num_train_timesteps, double beta_start = 1e-4,
                                   double beta_end = 0.02) {
  schedule_detail::check_steps("latent::linear_betas", num_train_timesteps);
  schedule_detail::check_beta_range("latent::linear_betas", beta_start, beta_end);
  Eigen::ArrayXd betas = schedule_detail::linspace(beta_start, beta_end, num_train_timesteps);
  schedule_detail::check_generated("latent::linear_betas", betas);
  return betas;
}

/// "Scaled linear" betas \f$\beta_i = (\sqrt{\beta_{start}} + i(\sqrt{\beta_{end}} -
/// \sqrt{\beta_{start}})/(T-1))^2\f$ of latent diffusion (diffusers
/// beta_schedule="scaled_linear"; Stable Diffusion uses 0.00085 to 0.012).
/// Returns an evaluated ArrayXd of length T.
inline Eigen::ArrayXd scaled_linear_betas(std::int64_t num_train_timesteps,
                                          double beta_start = 0.00085, double beta_end = 0.012) {
  schedule_detail::check_steps("latent::scaled_linear_betas", num_train_timesteps);
  schedule_detail::check_beta_range("latent::scaled_linear_betas", beta_start, beta_end);
  Eigen::ArrayXd betas =
      schedule_detail::linspace(std::sqrt(beta_start), std::sqrt(beta_end), num_train_timesteps)
          .square();
  schedule_detail::check_generated("latent::scaled_linear_betas", betas);
  return betas;
}

/// Cosine betas (Nichol & Dhariwal 2021, eq. 17; diffusers "squaredcos_cap_v2"):
/// \f$\bar\alpha(t) = \cos^2(\tfrac{t/T + s}{1 + s}\tfrac{\pi}{2})\f$,
/// \f$\beta_i = \min(1 - \bar\alpha(i+1)/\bar\alpha(i), \beta_{max})\f$.
/// 1 - cos^2(b)/cos^2(a) is evaluated as sin(b - a) sin(b + a) / cos^2(a), which has no
/// cancellation (the naive form loses ~4 digits at i = 0). Returns an evaluated ArrayXd.
inline Eigen::ArrayXd cosine_betas(std::int64_t num_train_timesteps, double s = 0.008,
                                   double max_beta = 0.999) {
  const char* fn = "latent::cosine_betas";
  schedule_detail::check_steps(fn, num_train_timesteps);
  check_positive(fn, "s", s);
  if (!(max_beta > 0 && max_beta < 1))
    detail::throw_domain(fn, "max_beta", detail::format_value(max_beta), "in (0, 1)");
  const double half_pi = 1.5707963267948966192313216916397514;
  const double T = double(num_train_timesteps);
  Eigen::ArrayXd betas(num_train_timesteps);
  for (std::int64_t i = 0; i < num_train_timesteps; ++i) {
    const double a = (double(i) / T + s) / (1 + s) * half_pi;
    const double b = (double(i + 1) / T + s) / (1 + s) * half_pi;
    const double ca = std::cos(a);
    const double beta = std::sin(b - a) * std::sin(b + a) / (ca * ca);
    betas(i) = std::min(beta, max_beta);
  }
  schedule_detail::check_generated(fn, betas);
  return betas;
}

/// Sigmoid betas (GeoDiff; diffusers beta_schedule="sigmoid"):
/// \f$\beta_i = \mathrm{sigmoid}(-6 + 12 i/(T-1))(\beta_{end} - \beta_{start}) + \beta_{start}\f$.
/// Returns an evaluated ArrayXd of length T.
inline Eigen::ArrayXd sigmoid_betas(std::int64_t num_train_timesteps, double beta_start = 1e-4,
                                    double beta_end = 0.02) {
  schedule_detail::check_steps("latent::sigmoid_betas", num_train_timesteps);
  schedule_detail::check_beta_range("latent::sigmoid_betas", beta_start, beta_end);
  const Eigen::ArrayXd x = schedule_detail::linspace(-6.0, 6.0, num_train_timesteps);
  Eigen::ArrayXd betas = (1.0 / (1.0 + (-x).exp())) * (beta_end - beta_start) + beta_start;
  schedule_detail::check_generated("latent::sigmoid_betas", betas);
  return betas;
}

/// Zero-terminal-SNR rescale (Lin et al. 2023, Algorithm 1): shift sqrt(alpha_bar) so that
/// its last value is 0 and scale it so that its first value is unchanged, then convert back
/// to betas. The last beta becomes exactly 1. Evaluated without cancellation:
/// \f$\beta_i' = (d_{i-1} - d_i)(d_{i-1} + d_i)/d_{i-1}^2\f$ with \f$d_i = \sqrt{\bar\alpha_i}
/// - \sqrt{\bar\alpha_{T-1}}\f$ and \f$d_{i-1} - d_i = \sqrt{\bar\alpha_{i-1}}\,
/// (-\mathrm{expm1}(\tfrac12\log(1-\beta_i)))\f$. Every inner beta is kept in (0, 1) (a
/// value that rounds to 1 or above where alpha_bar almost vanishes before the last step, or to
/// 0 below the double range, becomes the nearest double inside), so the result always makes a
/// noise_schedule. Throws std::domain_error when sqrt(alpha_bar) does not move or underflows
/// before T - 1. Needs T >= 2. Returns an evaluated ArrayXd.
template <class Derived>
inline Eigen::ArrayXd rescale_zero_terminal_snr(const Eigen::DenseBase<Derived>& betas_in) {
  const char* fn = "latent::rescale_zero_terminal_snr";
  const Eigen::ArrayXd betas = betas_in.derived().template cast<double>().array();
  if (betas.size() < 2) {
    detail::throw_shape(fn, "betas has " + std::to_string(betas.size()) +
                                " elements, but must have at least 2");
  }
  for (Eigen::Index i = 0; i < betas.size(); ++i) {
    if (!(betas(i) > 0 && betas(i) < 1)) {
      detail::throw_domain(fn, "betas[" + std::to_string(i) + "]",
                           detail::format_value(betas(i)), "in (0, 1)");
    }
  }
  const Eigen::Index T = betas.size();
  Eigen::ArrayXd log_sqrt_ab(T);
  double acc = 0;
  for (Eigen::Index i = 0; i < T; ++i) {
    acc += 0.5 * std::log1p(-betas(i));
    log_sqrt_ab(i) = acc;
  }
  const Eigen::ArrayXd s = log_sqrt_ab.unaryExpr([](double v) { return std::exp(v); });
  const double sT = s(T - 1);
  Eigen::ArrayXd out(T);
  out(0) = betas(0);
  for (Eigen::Index i = 1; i < T; ++i) {
    const double d_prev = s(i - 1) - sT;
    if (!(d_prev * d_prev > 0)) {
      // sqrt(alpha_bar) does not move (betas ~1e-17) or underflows before the last step:
      // the rescaled alpha_bar would reach 0 before T - 1.
      throw std::domain_error(
          std::string(fn) + ": sqrt(alpha_bar[" + std::to_string(i - 1) + "]) - sqrt(alpha_bar[" +
          std::to_string(T - 1) + "]) = " + detail::format_value(d_prev) +
          " squares to 0 in double, so the rescaled schedule would reach zero SNR before the "
          "last step");
    }
    const double d = (i == T - 1) ? 0.0 : s(i) - sT;
    const double diff = s(i - 1) * -std::expm1(0.5 * std::log1p(-betas(i)));
    // 1 - (d / d_prev)^2 lies in (0, 1) for 0 <= d < d_prev; where alpha_bar almost vanishes
    // before T - 1 (d << d_prev) the cancellation in d_prev can push the computed value above
    // 1 (by up to ~1e-10 seen), and a rescaled beta below the double range rounds to 0. Both
    // are moved to the nearest double inside (0, 1), a smaller change than the rounding error.
    const double v = diff * (d_prev + d) / (d_prev * d_prev);
    out(i) = std::min(std::max(v, std::numeric_limits<double>::denorm_min()),
                      std::nextafter(1.0, 0.0));
  }
  out(T - 1) = 1.0;
  return out;
}

/// The tables of a discrete DDPM forward process for betas beta_0..beta_{T-1} (Ho et al.
/// 2020, eqs. 4, 6, 7), all in double:
///   alphas = 1 - beta, log_alpha_bar = cumsum log1p(-beta), alpha_bar = exp(log_alpha_bar),
///   one_minus_alpha_bar = -expm1(log_alpha_bar), sqrt tables, snr = alpha_bar / (1 - alpha_bar),
///   log_snr, sigma = sqrt((1 - alpha_bar) / alpha_bar) (the k-diffusion sigma),
///   posterior_variance = beta_t (1 - alpha_bar_{t-1}) / (1 - alpha_bar_t) (0 at t = 0),
///   posterior_log_variance_clipped = log of it with t = 0 replaced by t = 1 (Ho et al. code;
///   for T = 1, log beta_0), posterior_mean_coef1 = beta_t sqrt(alpha_bar_{t-1}) / (1 - alpha_bar_t),
///   posterior_mean_coef2 = (1 - alpha_bar_{t-1}) sqrt(alpha_t) / (1 - alpha_bar_t).
/// Betas must lie in (0, 1); the last may be exactly 1 (zero terminal SNR: alpha_bar_{T-1} = 0,
/// snr = 0, log_snr = -inf, sigma = inf).
class noise_schedule {
 public:
  template <class Derived>
  explicit noise_schedule(const Eigen::DenseBase<Derived>& betas_in) {
    const char* fn = "latent::noise_schedule";
    betas_ = betas_in.derived().template cast<double>().array();
    if (betas_.size() == 0)
      detail::throw_shape(fn, "betas is empty, but must have at least one element");
    const Eigen::Index T = betas_.size();
    for (Eigen::Index i = 0; i < T; ++i) {
      const bool last_one = (i == T - 1 && betas_(i) == 1.0 && T > 1);
      if (!((betas_(i) > 0 && betas_(i) < 1) || last_one)) {
        detail::throw_domain(fn, "betas[" + std::to_string(i) + "]",
                             detail::format_value(betas_(i)),
                             "in (0, 1) (only the last beta of T >= 2 may be exactly 1)");
      }
    }
    alphas_ = 1.0 - betas_;
    log_alpha_bar_.resize(T);
    double acc = 0;
    for (Eigen::Index i = 0; i < T; ++i) {
      acc += std::log1p(-betas_(i));
      log_alpha_bar_(i) = acc;
    }
    // std::exp, not Eigen's vectorized exp: exp(-inf) must be exactly 0 (zero terminal SNR).
    const auto exp_exact = [](double v) { return std::exp(v); };
    alpha_bar_ = log_alpha_bar_.unaryExpr(exp_exact);
    one_minus_alpha_bar_ = -log_alpha_bar_.unaryExpr([](double v) { return std::expm1(v); });
    sqrt_alpha_bar_ = (0.5 * log_alpha_bar_).unaryExpr(exp_exact);
    sqrt_one_minus_alpha_bar_ = one_minus_alpha_bar_.sqrt();
    // log(1 - alpha_bar): log1p(-alpha_bar) where alpha_bar is small (no rounding of 1 - ab).
    log_one_minus_alpha_bar_.resize(T);
    for (Eigen::Index i = 0; i < T; ++i) {
      log_one_minus_alpha_bar_(i) = alpha_bar_(i) < 0.5 ? std::log1p(-alpha_bar_(i))
                                                         : std::log(one_minus_alpha_bar_(i));
    }
    log_snr_ = log_alpha_bar_ - log_one_minus_alpha_bar_;
    snr_ = alpha_bar_ / one_minus_alpha_bar_;
    sigma_ = (-0.5 * log_snr_).unaryExpr(exp_exact);
    posterior_variance_.resize(T);
    posterior_mean_coef1_.resize(T);
    posterior_mean_coef2_.resize(T);
    for (Eigen::Index t = 0; t < T; ++t) {
      const double ab_prev = t > 0 ? alpha_bar_(t - 1) : 1.0;
      const double omab_prev = t > 0 ? one_minus_alpha_bar_(t - 1) : 0.0;
      posterior_variance_(t) = betas_(t) * omab_prev / one_minus_alpha_bar_(t);
      posterior_mean_coef1_(t) = betas_(t) * std::sqrt(ab_prev) / one_minus_alpha_bar_(t);
      posterior_mean_coef2_(t) = omab_prev * std::sqrt(alphas_(t)) / one_minus_alpha_bar_(t);
    }
    posterior_log_variance_clipped_.resize(T);
    // log beta_t + log(1 - alpha_bar_{t-1}) - log(1 - alpha_bar_t), each term accurate.
    const auto log_post = [this](Eigen::Index t) {
      return std::log(betas_(t)) + log_one_minus_alpha_bar_(t - 1) - log_one_minus_alpha_bar_(t);
    };
    for (Eigen::Index t = 0; t < T; ++t) {
      posterior_log_variance_clipped_(t) =
          (t == 0) ? (T > 1 ? log_post(1) : std::log(betas_(0))) : log_post(t);
    }
  }

  /// T, the number of training timesteps.
  std::int64_t size() const { return betas_.size(); }
  const Eigen::ArrayXd& betas() const { return betas_; }
  const Eigen::ArrayXd& alphas() const { return alphas_; }
  const Eigen::ArrayXd& alpha_bar() const { return alpha_bar_; }
  const Eigen::ArrayXd& log_alpha_bar() const { return log_alpha_bar_; }
  const Eigen::ArrayXd& sqrt_alpha_bar() const { return sqrt_alpha_bar_; }
  const Eigen::ArrayXd& one_minus_alpha_bar() const { return one_minus_alpha_bar_; }
  const Eigen::ArrayXd& log_one_minus_alpha_bar() const { return log_one_minus_alpha_bar_; }
  const Eigen::ArrayXd& sqrt_one_minus_alpha_bar() const { return sqrt_one_minus_alpha_bar_; }
  const Eigen::ArrayXd& snr() const { return snr_; }
  const Eigen::ArrayXd& log_snr() const { return log_snr_; }
  const Eigen::ArrayXd& sigma() const { return sigma_; }
  const Eigen::ArrayXd& posterior_variance() const { return posterior_variance_; }
  const Eigen::ArrayXd& posterior_log_variance_clipped() const {
    return posterior_log_variance_clipped_;
  }
  const Eigen::ArrayXd& posterior_mean_coef1() const { return posterior_mean_coef1_; }
  const Eigen::ArrayXd& posterior_mean_coef2() const { return posterior_mean_coef2_; }

  /// log alpha_bar at t, with t = -1 meaning "before the first step" (alpha_bar = 1).
  double log_alpha_bar_at(std::int64_t t) const { return t < 0 ? 0.0 : log_alpha_bar_(t); }
  /// alpha_bar at t, with t = -1 giving 1.
  double alpha_bar_at(std::int64_t t) const { return t < 0 ? 1.0 : alpha_bar_(t); }
  /// 1 - alpha_bar at t, with t = -1 giving 0.
  double one_minus_alpha_bar_at(std::int64_t t) const {
    return t < 0 ? 0.0 : one_minus_alpha_bar_(t);
  }

 private:
  Eigen::ArrayXd betas_, alphas_, alpha_bar_, log_alpha_bar_, sqrt_alpha_bar_,
      one_minus_alpha_bar_, log_one_minus_alpha_bar_, sqrt_one_minus_alpha_bar_, snr_, log_snr_,
      sigma_, posterior_variance_, posterior_log_variance_clipped_, posterior_mean_coef1_,
      posterior_mean_coef2_;
};

}  // namespace latent
