// latent/diffusion/continuous.hpp: continuous-time noise schedules.
//
// The marginal q(x_t | x_0) = N(m(t) x_0, s(t)^2 I) of the VP, sub-VP and VE SDEs of
// Song et al. 2021 ("Score-Based Generative Modeling through SDEs", eqs. 29-34 and
// Appendix B), and the log-SNR ("gamma") parameterization of variational diffusion models
// (Kingma et al. 2021, "Variational Diffusion Models", Sec. 3.2 / eq. 3-4).
//
// Every function exists for a scalar t (float, double, AutoDiffScalar; returns a scalar)
// and for an Eigen array of per-column times (returns an element-wise expression, after an
// O(size) check of t). Parameters are doubles; defaults are those of score_sde
// (beta_min = 0.1, beta_max = 20, sigma_min = 0.01, sigma_max = 50) and of VDM
// (gamma_min = -13.3, gamma_max = 5).
//
// Naming contract used by the score-side SDE classes:
//   vp_beta, vp_log_mean_coeff, vp_marginal_mean_coeff, vp_marginal_std, vp_log_snr,
//   sub_vp_marginal_mean_coeff, sub_vp_marginal_std, sub_vp_log_snr,
//   ve_sigma, ve_marginal_mean_coeff, ve_marginal_std, ve_log_snr,
//   vdm_linear_gamma, vdm_linear_gamma_prime, vdm_alpha_squared, vdm_sigma_squared,
//   vdm_alpha, vdm_sigma, vdm_snr.
#pragma once

#include <cmath>
#include <type_traits>

#include <Eigen/Core>

#include "latent/core/check.hpp"
#include "latent/core/traits.hpp"
#include "latent/diffusion/detail.hpp"

namespace latent {
namespace continuous_detail {

template <class T>
using if_scalar_t = std::enable_if_t<!std::is_base_of<Eigen::EigenBase<T>, T>::value, int>;

inline void check_vp(const char* fn, double beta_min, double beta_max) {
  check_nonnegative(fn, "beta_min", beta_min);
  check_positive(fn, "beta_max", beta_max);
  if (!(beta_max >= beta_min))
    detail::throw_domain(fn, "beta_max", detail::format_value(beta_max),
                         ">= beta_min = " + detail::format_value(beta_min));
}
inline void check_ve(const char* fn, double sigma_min, double sigma_max) {
  check_positive(fn, "sigma_min", sigma_min);
  check_positive(fn, "sigma_max", sigma_max);
  if (!(sigma_max > sigma_min))
    detail::throw_domain(fn, "sigma_max", detail::format_value(sigma_max),
                         "> sigma_min = " + detail::format_value(sigma_min));
}
inline void check_gamma_range(const char* fn, double gamma_min, double gamma_max) {
  check_finite(fn, "gamma_min", gamma_min);
  check_finite(fn, "gamma_max", gamma_max);
  if (!(gamma_max > gamma_min))
    detail::throw_domain(fn, "gamma_max", detail::format_value(gamma_max),
                         "> gamma_min = " + detail::format_value(gamma_min));
}
template <class T>
inline void check_time(const char* fn, const T& t) {
  check_in_range(fn, "t", t, 0.0, 1.0);
}

// Unchecked kernels.
template <class T>
inline T vp_log_mean_coeff(const T& t, double bmin, double bmax) {
  return T(-0.25 * (bmax - bmin)) * t * t - T(0.5 * bmin) * t;
}
template <class T>
inline T vp_std(const T& t, double bmin, double bmax) {
  using std::sqrt;
  return sqrt(T(-diffusion_detail::expm1(T(T(2) * vp_log_mean_coeff(t, bmin, bmax)))));
}
template <class T>
inline T vp_log_snr(const T& t, double bmin, double bmax) {
  using std::log;
  const T two_lmc = T(2) * vp_log_mean_coeff(t, bmin, bmax);
  return two_lmc - log(T(-diffusion_detail::expm1(two_lmc)));
}
template <class T>
inline T sub_vp_std(const T& t, double bmin, double bmax) {
  return T(-diffusion_detail::expm1(T(T(2) * vp_log_mean_coeff(t, bmin, bmax))));
}
template <class T>
inline T sub_vp_log_snr(const T& t, double bmin, double bmax) {
  using std::log;
  const T two_lmc = T(2) * vp_log_mean_coeff(t, bmin, bmax);
  return two_lmc - T(2) * log(T(-diffusion_detail::expm1(two_lmc)));
}
template <class T>
inline T ve_sigma(const T& t, double smin, double smax) {
  using std::exp;
  return exp(T(std::log(smin)) + t * T(std::log(smax) - std::log(smin)));
}

}  // namespace continuous_detail

// ---------------------------------------------------------------------------------------
// VP SDE: dx = -1/2 beta(t) x dt + sqrt(beta(t)) dw

/// \f$\beta(t) = \beta_{min} + t(\beta_{max} - \beta_{min})\f$ (Song et al. 2021, eq. 32).
/// Returns a scalar.
template <class T, continuous_detail::if_scalar_t<T> = 0>
inline T vp_beta(const T& t, double beta_min = 0.1, double beta_max = 20.0) {
  continuous_detail::check_vp("latent::vp_beta", beta_min, beta_max);
  continuous_detail::check_time("latent::vp_beta", t);
  return T(beta_min) + t * T(beta_max - beta_min);
}

/// \f$\log m(t) = -\tfrac14 t^2 (\beta_{max}-\beta_{min}) - \tfrac12 t \beta_{min}\f$, the log
/// of the VP marginal mean coefficient (Song et al. 2021, eq. 33). Returns a scalar.
template <class T, continuous_detail::if_scalar_t<T> = 0>
inline T vp_log_mean_coeff(const T& t, double beta_min = 0.1, double beta_max = 20.0) {
  continuous_detail::check_vp("latent::vp_log_mean_coeff", beta_min, beta_max);
  continuous_detail::check_time("latent::vp_log_mean_coeff", t);
  return continuous_detail::vp_log_mean_coeff(t, beta_min, beta_max);
}

/// \f$m(t) = \exp(\log m(t))\f$: x_t = m(t) x_0 + s(t) eps (Song et al. 2021, eq. 33).
/// Returns a scalar.
template <class T, continuous_detail::if_scalar_t<T> = 0>
inline T vp_marginal_mean_coeff(const T& t, double beta_min = 0.1, double beta_max = 20.0) {
  using std::exp;
  continuous_detail::check_vp("latent::vp_marginal_mean_coeff", beta_min, beta_max);
  continuous_detail::check_time("latent::vp_marginal_mean_coeff", t);
  return exp(continuous_detail::vp_log_mean_coeff(t, beta_min, beta_max));
}

/// \f$s(t) = \sqrt{1 - m(t)^2} = \sqrt{-\mathrm{expm1}(2 \log m(t))}\f$ (Song et al. 2021,
/// eq. 33), without cancellation at small t. Returns a scalar.
template <class T, continuous_detail::if_scalar_t<T> = 0>
inline T vp_marginal_std(const T& t, double beta_min = 0.1, double beta_max = 20.0) {
  continuous_detail::check_vp("latent::vp_marginal_std", beta_min, beta_max);
  continuous_detail::check_time("latent::vp_marginal_std", t);
  return continuous_detail::vp_std(t, beta_min, beta_max);
}

/// \f$\log \mathrm{SNR}(t) = \log m^2 - \log(1 - m^2)\f$ of the VP marginal (+inf at t = 0).
/// Returns a scalar.
template <class T, continuous_detail::if_scalar_t<T> = 0>
inline T vp_log_snr(const T& t, double beta_min = 0.1, double beta_max = 20.0) {
  continuous_detail::check_vp("latent::vp_log_snr", beta_min, beta_max);
  continuous_detail::check_time("latent::vp_log_snr", t);
  return continuous_detail::vp_log_snr(t, beta_min, beta_max);
}

// ---------------------------------------------------------------------------------------
// sub-VP SDE: dx = -1/2 beta(t) x dt + sqrt(beta(t) (1 - exp(-2 int_0^t beta))) dw

/// Sub-VP marginal mean coefficient: the same m(t) as VP (Song et al. 2021, eq. 34).
/// Returns a scalar.
template <class T, continuous_detail::if_scalar_t<T> = 0>
inline T sub_vp_marginal_mean_coeff(const T& t, double beta_min = 0.1, double beta_max = 20.0) {
  using std::exp;
  continuous_detail::check_vp("latent::sub_vp_marginal_mean_coeff", beta_min, beta_max);
  continuous_detail::check_time("latent::sub_vp_marginal_mean_coeff", t);
  return exp(continuous_detail::vp_log_mean_coeff(t, beta_min, beta_max));
}

/// Sub-VP marginal std \f$s(t) = 1 - m(t)^2 = -\mathrm{expm1}(2\log m(t))\f$ (Song et al.
/// 2021, eq. 34; note: no square root). Returns a scalar.
template <class T, continuous_detail::if_scalar_t<T> = 0>
inline T sub_vp_marginal_std(const T& t, double beta_min = 0.1, double beta_max = 20.0) {
  continuous_detail::check_vp("latent::sub_vp_marginal_std", beta_min, beta_max);
  continuous_detail::check_time("latent::sub_vp_marginal_std", t);
  return continuous_detail::sub_vp_std(t, beta_min, beta_max);
}

/// Sub-VP \f$\log \mathrm{SNR}(t) = \log m^2 - 2\log(1 - m^2)\f$. Returns a scalar.
template <class T, continuous_detail::if_scalar_t<T> = 0>
inline T sub_vp_log_snr(const T& t, double beta_min = 0.1, double beta_max = 20.0) {
  continuous_detail::check_vp("latent::sub_vp_log_snr", beta_min, beta_max);
  continuous_detail::check_time("latent::sub_vp_log_snr", t);
  return continuous_detail::sub_vp_log_snr(t, beta_min, beta_max);
}

// ---------------------------------------------------------------------------------------
// VE SDE: dx = sqrt(d sigma^2(t)/dt) dw, sigma(t) = sigma_min (sigma_max/sigma_min)^t

/// \f$\sigma(t) = \sigma_{min} (\sigma_{max}/\sigma_{min})^t\f$ (Song et al. 2021, eq. 30).
/// Returns a scalar.
template <class T, continuous_detail::if_scalar_t<T> = 0>
inline T ve_sigma(const T& t, double sigma_min = 0.01, double sigma_max = 50.0) {
  continuous_detail::check_ve("latent::ve_sigma", sigma_min, sigma_max);
  continuous_detail::check_time("latent::ve_sigma", t);
  return continuous_detail::ve_sigma(t, sigma_min, sigma_max);
}

/// VE marginal mean coefficient: 1. Returns a scalar.
template <class T, continuous_detail::if_scalar_t<T> = 0>
inline T ve_marginal_mean_coeff(const T& t, double sigma_min = 0.01, double sigma_max = 50.0) {
  continuous_detail::check_ve("latent::ve_marginal_mean_coeff", sigma_min, sigma_max);
  continuous_detail::check_time("latent::ve_marginal_mean_coeff", t);
  return T(1);
}

/// VE marginal std \f$s(t) = \sigma(t)\f$, the convention of score_sde (x_0 taken as already
/// perturbed by sigma_min; the exact value is sqrt(sigma(t)^2 - sigma_min^2)). Returns a scalar.
template <class T, continuous_detail::if_scalar_t<T> = 0>
inline T ve_marginal_std(const T& t, double sigma_min = 0.01, double sigma_max = 50.0) {
  continuous_detail::check_ve("latent::ve_marginal_std", sigma_min, sigma_max);
  continuous_detail::check_time("latent::ve_marginal_std", t);
  return continuous_detail::ve_sigma(t, sigma_min, sigma_max);
}

/// VE \f$\log\mathrm{SNR}(t) = -2 \log\sigma(t)\f$. Returns a scalar.
template <class T, continuous_detail::if_scalar_t<T> = 0>
inline T ve_log_snr(const T& t, double sigma_min = 0.01, double sigma_max = 50.0) {
  using std::log;
  continuous_detail::check_ve("latent::ve_log_snr", sigma_min, sigma_max);
  continuous_detail::check_time("latent::ve_log_snr", t);
  return T(-2) * log(continuous_detail::ve_sigma(t, sigma_min, sigma_max));
}

// ---------------------------------------------------------------------------------------
// Variational diffusion models: gamma(t) = -log SNR(t)

/// Linear \f$\gamma(t) = \gamma_{min} + (\gamma_{max} - \gamma_{min}) t\f$ (Kingma et al.
/// 2021, Sec. 3.2 baseline; defaults -13.3, 5.0). Returns a scalar.
template <class T, continuous_detail::if_scalar_t<T> = 0>
inline T vdm_linear_gamma(const T& t, double gamma_min = -13.3, double gamma_max = 5.0) {
  continuous_detail::check_gamma_range("latent::vdm_linear_gamma", gamma_min, gamma_max);
  continuous_detail::check_time("latent::vdm_linear_gamma", t);
  return T(gamma_min) + t * T(gamma_max - gamma_min);
}

/// \f$\gamma'(t) = \gamma_{max} - \gamma_{min}\f$ of the linear gamma. Returns a double.
inline double vdm_linear_gamma_prime(double gamma_min = -13.3, double gamma_max = 5.0) {
  continuous_detail::check_gamma_range("latent::vdm_linear_gamma_prime", gamma_min, gamma_max);
  return gamma_max - gamma_min;
}

/// \f$\alpha^2 = \mathrm{sigmoid}(-\gamma)\f$ (Kingma et al. 2021, eq. 4). Returns a scalar.
template <class T, continuous_detail::if_scalar_t<T> = 0>
inline T vdm_alpha_squared(const T& gamma) {
  check_finite("latent::vdm_alpha_squared", "gamma", gamma);
  return diffusion_detail::sigmoid(T(-gamma));
}
/// \f$\sigma^2 = \mathrm{sigmoid}(\gamma)\f$ (Kingma et al. 2021, eq. 3). Returns a scalar.
template <class T, continuous_detail::if_scalar_t<T> = 0>
inline T vdm_sigma_squared(const T& gamma) {
  check_finite("latent::vdm_sigma_squared", "gamma", gamma);
  return diffusion_detail::sigmoid(gamma);
}
/// \f$\alpha = \sqrt{\mathrm{sigmoid}(-\gamma)}\f$. Returns a scalar.
template <class T, continuous_detail::if_scalar_t<T> = 0>
inline T vdm_alpha(const T& gamma) {
  using std::sqrt;
  check_finite("latent::vdm_alpha", "gamma", gamma);
  return sqrt(diffusion_detail::sigmoid(T(-gamma)));
}
/// \f$\sigma = \sqrt{\mathrm{sigmoid}(\gamma)}\f$. Returns a scalar.
template <class T, continuous_detail::if_scalar_t<T> = 0>
inline T vdm_sigma(const T& gamma) {
  using std::sqrt;
  check_finite("latent::vdm_sigma", "gamma", gamma);
  return sqrt(diffusion_detail::sigmoid(gamma));
}
/// \f$\mathrm{SNR} = \alpha^2/\sigma^2 = e^{-\gamma}\f$ (Kingma et al. 2021, eq. 5).
/// Returns a scalar.
template <class T, continuous_detail::if_scalar_t<T> = 0>
inline T vdm_snr(const T& gamma) {
  using std::exp;
  check_finite("latent::vdm_snr", "gamma", gamma);
  return exp(T(-gamma));
}

// ---------------------------------------------------------------------------------------
// Per-column times: element-wise expressions over an array of t (checked up front).

#define LATENT_DIFFUSION_CONTINUOUS_ARRAY(NAME, KERNEL, CHECK, P1, D1, P2, D2)               \
  template <class Derived>                                                                  \
  inline auto NAME(const Eigen::ArrayBase<Derived>& t, double P1 = D1, double P2 = D2) {    \
    using S = scalar_t<Derived>;                                                            \
    CHECK("latent::" #NAME, P1, P2);                                                        \
    check_in_range("latent::" #NAME, "t", t.derived(), 0.0, 1.0);                                    \
    return t.derived().unaryExpr([P1, P2](const S& s) -> S { using std::exp; return KERNEL; });           \
  }

LATENT_DIFFUSION_CONTINUOUS_ARRAY(vp_log_mean_coeff,
                                  continuous_detail::vp_log_mean_coeff(s, beta_min, beta_max),
                                  continuous_detail::check_vp, beta_min, 0.1, beta_max, 20.0)
LATENT_DIFFUSION_CONTINUOUS_ARRAY(vp_marginal_mean_coeff,
                                  S(exp(continuous_detail::vp_log_mean_coeff(s, beta_min,
                                                                             beta_max))),
                                  continuous_detail::check_vp, beta_min, 0.1, beta_max, 20.0)
LATENT_DIFFUSION_CONTINUOUS_ARRAY(vp_marginal_std,
                                  continuous_detail::vp_std(s, beta_min, beta_max),
                                  continuous_detail::check_vp, beta_min, 0.1, beta_max, 20.0)
LATENT_DIFFUSION_CONTINUOUS_ARRAY(vp_log_snr, continuous_detail::vp_log_snr(s, beta_min, beta_max),
                                  continuous_detail::check_vp, beta_min, 0.1, beta_max, 20.0)
LATENT_DIFFUSION_CONTINUOUS_ARRAY(sub_vp_marginal_mean_coeff,
                                  S(exp(continuous_detail::vp_log_mean_coeff(s, beta_min,
                                                                             beta_max))),
                                  continuous_detail::check_vp, beta_min, 0.1, beta_max, 20.0)
LATENT_DIFFUSION_CONTINUOUS_ARRAY(sub_vp_marginal_std,
                                  continuous_detail::sub_vp_std(s, beta_min, beta_max),
                                  continuous_detail::check_vp, beta_min, 0.1, beta_max, 20.0)
LATENT_DIFFUSION_CONTINUOUS_ARRAY(sub_vp_log_snr,
                                  continuous_detail::sub_vp_log_snr(s, beta_min, beta_max),
                                  continuous_detail::check_vp, beta_min, 0.1, beta_max, 20.0)
LATENT_DIFFUSION_CONTINUOUS_ARRAY(ve_sigma, continuous_detail::ve_sigma(s, sigma_min, sigma_max),
                                  continuous_detail::check_ve, sigma_min, 0.01, sigma_max, 50.0)
LATENT_DIFFUSION_CONTINUOUS_ARRAY(ve_marginal_std,
                                  continuous_detail::ve_sigma(s, sigma_min, sigma_max),
                                  continuous_detail::check_ve, sigma_min, 0.01, sigma_max, 50.0)
LATENT_DIFFUSION_CONTINUOUS_ARRAY(vdm_linear_gamma,
                                  S(gamma_min) + s * S(gamma_max - gamma_min),
                                  continuous_detail::check_gamma_range, gamma_min, -13.3,
                                  gamma_max, 5.0)

#undef LATENT_DIFFUSION_CONTINUOUS_ARRAY

}  // namespace latent
