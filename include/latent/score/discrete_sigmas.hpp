// latent/score/discrete_sigmas.hpp: between discrete DDPM timesteps and continuous sigmas.
//
// A discrete model trained with cumulative products alpha_bar_t (t = 0..T-1) sees
// x_t / sqrt(alpha_bar_t) = x_0 + sigma_t eps with sigma_t = sqrt((1 - alpha_bar_t) /
// alpha_bar_t) (Karras et al. 2022, Appendix C.3.1; k-diffusion external.py,
// DiscreteEpsDDPMDenoiser). Sigma-space samplers ask for any sigma in [sigma_0, sigma_{T-1}],
// so fractional timesteps are defined by linear interpolation of log sigma between integer
// timesteps (k-diffusion DiscreteSchedule.sigma_to_t / t_to_sigma). Everything is double.
#pragma once

#include <cmath>
#include <string>

#include <Eigen/Core>

#include "latent/core/check.hpp"
#include "latent/diffusion/sigma_schedules.hpp"

namespace latent {

/// \f$\log\sigma_t = \tfrac12(\log(1 - \bar\alpha_t) - \log\bar\alpha_t)\f$ for a table of
/// alpha_bar values, each in (0, 1) and strictly decreasing in t (checked), computed with
/// log1p so that alpha_bar near 1 keeps its digits. Returns an evaluated double array.
template <class Derived>
inline Eigen::ArrayXd log_sigmas_from_alpha_bar(const Eigen::DenseBase<Derived>& alpha_bar) {
  constexpr const char* fn = "latent::log_sigmas_from_alpha_bar";
  check_non_empty(fn, "alpha_bar", alpha_bar);
  const Eigen::ArrayXd ab = alpha_bar.derived().template cast<double>().reshaped().array();
  for (Eigen::Index t = 0; t < ab.size(); ++t) {
    const double v = ab(t);
    if (!(v > 0.0 && v < 1.0)) {
      detail::throw_domain(fn, "alpha_bar[" + std::to_string(t) + "]", detail::format_value(v),
                           "in the open interval (0, 1)");
    }
    if (t > 0 && !(v < ab(t - 1))) {
      throw std::domain_error(std::string(fn) + ": alpha_bar[" + std::to_string(t) + "] = " +
                              detail::format_value(v) + " is not below alpha_bar[" +
                              std::to_string(t - 1) + "] = " + detail::format_value(ab(t - 1)) +
                              "; alpha_bar must be strictly decreasing");
    }
  }
  Eigen::ArrayXd out(ab.size());
  for (Eigen::Index t = 0; t < ab.size(); ++t) {
    out(t) = 0.5 * (std::log1p(-ab(t)) - std::log(ab(t)));
  }
  return out;
}

/// The sigma table of a discrete DDPM schedule, with conversions in both directions by
/// log-sigma interpolation (k-diffusion DiscreteSchedule). A small value type; build it once.
class discrete_sigmas {
 public:
  /// From alpha_bar_t, t = 0..T-1, T >= 2, each in (0, 1), strictly decreasing (checked).
  template <class Derived>
  explicit discrete_sigmas(const Eigen::DenseBase<Derived>& alpha_bar)
      : log_sigmas_(log_sigmas_from_alpha_bar(alpha_bar)) {
    if (log_sigmas_.size() < 2) {
      throw std::invalid_argument(
          "latent::discrete_sigmas: alpha_bar has 1 element, but interpolation needs at least 2");
    }
  }

  /// Number of discrete timesteps T.
  Eigen::Index size() const { return log_sigmas_.size(); }
  /// \f$\log\sigma_t\f$ for t = 0..T-1 (increasing).
  const Eigen::ArrayXd& log_sigmas() const { return log_sigmas_; }
  double sigma_min() const { return std::exp(log_sigmas_(0)); }
  double sigma_max() const { return std::exp(log_sigmas_(log_sigmas_.size() - 1)); }

  /// Sigma at a fractional timestep t in [0, T-1] (checked): \f$\exp((1-w)\log\sigma_{\lfloor
  /// t\rfloor} + w \log\sigma_{\lceil t\rceil})\f$ with w = frac(t). Returns a double.
  double sigma(double t) const {
    check_in_range("latent::discrete_sigmas::sigma", "t", t, 0.0,
                   static_cast<double>(size() - 1));
    const double lo = std::floor(t);
    const auto i = static_cast<Eigen::Index>(lo);
    const double w = t - lo;
    if (w == 0.0) return std::exp(log_sigmas_(i));
    return std::exp((1.0 - w) * log_sigmas_(i) + w * log_sigmas_(i + 1));
  }

  /// The fractional timestep whose interpolated log sigma equals log(sigma): the inverse of
  /// sigma(t) on [sigma_min, sigma_max]; sigmas outside are clamped to t = 0 or T-1, as in
  /// k-diffusion's sigma_to_t (w clamped to [0, 1]). sigma > 0 is checked. Returns a double.
  double timestep(double sigma) const {
    check_positive("latent::discrete_sigmas::timestep", "sigma", sigma);
    const double ls = std::log(sigma);
    const Eigen::Index n = size();
    if (ls <= log_sigmas_(0)) return 0.0;
    if (ls >= log_sigmas_(n - 1)) return static_cast<double>(n - 1);
    // Binary search for log_sigmas_[lo] <= ls < log_sigmas_[lo + 1].
    Eigen::Index lo = 0, hi = n - 1;
    while (hi - lo > 1) {
      const Eigen::Index mid = lo + (hi - lo) / 2;
      if (log_sigmas_(mid) <= ls) lo = mid; else hi = mid;
    }
    const double w = (ls - log_sigmas_(lo)) / (log_sigmas_(lo + 1) - log_sigmas_(lo));
    return static_cast<double>(lo) + w;
  }

  /// n sigmas at timesteps linspace(T-1, 0, n), then a final 0 when `with_zero`
  /// (k-diffusion DiscreteSchedule.get_sigmas(n)). Returns an evaluated double array.
  Eigen::ArrayXd sigmas(Eigen::Index n, bool with_zero = true) const {
    if (n < 1) {
      throw std::invalid_argument("latent::discrete_sigmas::sigmas: n = " + std::to_string(n) +
                                  " must be at least 1");
    }
    Eigen::ArrayXd s(n);
    const double tmax = static_cast<double>(size() - 1);
    for (Eigen::Index i = 0; i < n; ++i) {
      const double t = n > 1 ? tmax * (1.0 - static_cast<double>(i) / static_cast<double>(n - 1))
                             : tmax;
      s(i) = sigma(t < 0.0 ? 0.0 : t);
    }
    return with_zero ? append_zero(s) : s;
  }

 private:
  Eigen::ArrayXd log_sigmas_;
};

}  // namespace latent
