// latent/diffusion/sigma_schedules.hpp: noise-level (sigma) schedules for sigma-space samplers.
//
// The sampler convention of Karras et al. (2022) and k-diffusion (crowsonkb/k-diffusion,
// k_diffusion/sampling.py: get_sigmas_karras, get_sigmas_exponential,
// get_sigmas_polyexponential, append_zero): a strictly decreasing sequence of n noise levels
// from sigma_max to sigma_min, followed by a final 0 so that the last step of a sampler
// lands on the clean sample. All schedules are computed in double (DESIGN.md: schedules
// in double, cast at the point of use).
#pragma once

#include <cmath>
#include <string>

#include <Eigen/Core>

#include "latent/core/check.hpp"

namespace latent {
namespace detail {

/// ramp_i = i / (n - 1) for i = 0..n-1 (a single point gives 0, as torch.linspace(0, 1, 1)).
inline double unit_ramp(Eigen::Index i, Eigen::Index n) {
  return n > 1 ? static_cast<double>(i) / static_cast<double>(n - 1) : 0.0;
}

inline void check_sigma_schedule_args(const char* function, Eigen::Index n, double sigma_min,
                                      double sigma_max) {
  if (n < 1) {
    throw std::invalid_argument(std::string(function) + ": n = " + std::to_string(n) +
                                " must be at least 1");
  }
  check_positive(function, "sigma_min", sigma_min);
  check_positive(function, "sigma_max", sigma_max);
  if (!(sigma_min <= sigma_max)) {
    throw std::domain_error(std::string(function) + ": sigma_min = " +
                            detail::format_value(sigma_min) + " exceeds sigma_max = " +
                            detail::format_value(sigma_max));
  }
}

inline Eigen::ArrayXd finish_sigmas(const Eigen::ArrayXd& s, bool with_zero) {
  if (!with_zero) return s;
  Eigen::ArrayXd out(s.size() + 1);
  out.head(s.size()) = s;
  out(s.size()) = 0.0;
  return out;
}

}  // namespace detail

/// Appends a final 0 to a sigma schedule: \f$(\sigma_0, \dots, \sigma_{n-1}, 0)\f$
/// (k-diffusion `append_zero`). Returns an evaluated array of size n + 1.
inline Eigen::ArrayXd append_zero(const Eigen::ArrayXd& sigmas) {
  return detail::finish_sigmas(sigmas, true);
}

/// Karras et al. (2022), eq. (5): \f$\sigma_i = (\sigma_{max}^{1/\rho} + \tfrac{i}{n-1}
/// (\sigma_{min}^{1/\rho} - \sigma_{max}^{1/\rho}))^\rho\f$, i = 0..n-1, then a final 0 when
/// `with_zero` (default, as k-diffusion's get_sigmas_karras). rho = 7 is the paper's choice.
/// Returns an evaluated double array of size n (+1).
inline Eigen::ArrayXd sigmas_karras(Eigen::Index n, double sigma_min, double sigma_max,
                                    double rho = 7.0, bool with_zero = true) {
  constexpr const char* fn = "latent::sigmas_karras";
  detail::check_sigma_schedule_args(fn, n, sigma_min, sigma_max);
  check_positive(fn, "rho", rho);
  const double lo = std::pow(sigma_min, 1.0 / rho), hi = std::pow(sigma_max, 1.0 / rho);
  Eigen::ArrayXd s(n);
  for (Eigen::Index i = 0; i < n; ++i) {
    s(i) = std::pow(hi + detail::unit_ramp(i, n) * (lo - hi), rho);
  }
  return detail::finish_sigmas(s, with_zero);
}

/// Exponential schedule (k-diffusion get_sigmas_exponential): log sigma linear from
/// \f$\log\sigma_{max}\f$ to \f$\log\sigma_{min}\f$ over n points, then a final 0 when
/// `with_zero`. Returns an evaluated double array of size n (+1).
inline Eigen::ArrayXd sigmas_exponential(Eigen::Index n, double sigma_min, double sigma_max,
                                         bool with_zero = true) {
  constexpr const char* fn = "latent::sigmas_exponential";
  detail::check_sigma_schedule_args(fn, n, sigma_min, sigma_max);
  const double lmax = std::log(sigma_max), lmin = std::log(sigma_min);
  Eigen::ArrayXd s(n);
  for (Eigen::Index i = 0; i < n; ++i) {
    s(i) = std::exp(lmax + detail::unit_ramp(i, n) * (lmin - lmax));
  }
  return detail::finish_sigmas(s, with_zero);
}

/// Polyexponential schedule (k-diffusion get_sigmas_polyexponential): with
/// \f$r_i = (1 - \tfrac{i}{n-1})^\rho\f$, \f$\sigma_i = \exp(r_i (\log\sigma_{max} -
/// \log\sigma_{min}) + \log\sigma_{min})\f$; rho = 1 is the exponential schedule.
/// Returns an evaluated double array of size n (+1).
inline Eigen::ArrayXd sigmas_polyexponential(Eigen::Index n, double sigma_min,
                                             double sigma_max, double rho = 1.0,
                                             bool with_zero = true) {
  constexpr const char* fn = "latent::sigmas_polyexponential";
  detail::check_sigma_schedule_args(fn, n, sigma_min, sigma_max);
  check_positive(fn, "rho", rho);
  const double lmax = std::log(sigma_max), lmin = std::log(sigma_min);
  Eigen::ArrayXd s(n);
  for (Eigen::Index i = 0; i < n; ++i) {
    // linspace(1, 0, n)[i] = 1 - i / (n - 1); a single point is 1 (sigma_max).
    const double ramp = n > 1 ? 1.0 - detail::unit_ramp(i, n) : 1.0;
    s(i) = std::exp(std::pow(ramp, rho) * (lmax - lmin) + lmin);
  }
  return detail::finish_sigmas(s, with_zero);
}

/// Geometric noise levels of Song & Ermon (2019), Sec. 4.2: \f$\sigma_i = \sigma_1
/// (\sigma_L/\sigma_1)^{(i-1)/(L-1)}\f$, i = 1..L, decreasing from sigma_max to sigma_min,
/// without a final 0 (annealed Langevin dynamics never reaches sigma = 0). The same
/// sequence as sigmas_exponential(L, sigma_min, sigma_max, false).
/// Returns an evaluated double array of size L.
inline Eigen::ArrayXd sigmas_geometric(Eigen::Index levels, double sigma_min,
                                       double sigma_max) {
  constexpr const char* fn = "latent::sigmas_geometric";
  detail::check_sigma_schedule_args(fn, levels, sigma_min, sigma_max);
  const double ratio = sigma_min / sigma_max;
  Eigen::ArrayXd s(levels);
  for (Eigen::Index i = 0; i < levels; ++i) {
    s(i) = sigma_max * std::pow(ratio, detail::unit_ramp(i, levels));
  }
  return s;
}

}  // namespace latent
