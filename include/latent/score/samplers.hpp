// latent/score/samplers.hpp: sigma-space samplers driven by a denoiser D(x, sigma).
//
// The ODE of Karras et al. (2022), eq. (3) with s(t) = 1, sigma(t) = t:
//     dx/dsigma = (x - D(x, sigma)) / sigma,
// integrated from sigma_max down to 0 along a schedule sigma_0 > ... > sigma_{N-1} > sigma_N = 0
// (latent/diffusion/sigma_schedules.hpp). Formulas and conventions follow k-diffusion
// (crowsonkb/k-diffusion, k_diffusion/sampling.py: to_d, get_ancestral_step, sample_euler,
// sample_euler_ancestral, sample_heun, sample_dpmpp_2m); the code is written from the
// formulas, not copied.
//
// Single steps take the denoiser output as an array and write into a caller-supplied
// output; loop helpers take the denoiser as any callable
//     denoiser(const X& x, double sigma, X& denoised)
// (X = the plain array type of x) that writes D(x, sigma) into `denoised`, allocate their
// scratch arrays once per call, and update x in place. Step coefficients are computed in
// double and cast once per step.
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <utility>

#include <Eigen/Core>

#include "latent/core/check.hpp"
#include "latent/core/parallel.hpp"
#include "latent/core/traits.hpp"
#include "latent/score/detail/noise.hpp"

namespace latent {

// ---------------------------------------------------------------------------------------
// Coefficients

/// Karras ODE derivative \f$d = (x - D(x, \sigma)) / \sigma\f$ (k-diffusion `to_d`;
/// Karras et al. 2022, Algorithm 1 line 4). sigma > 0 is checked. Returns an expression.
template <class DerivedX, class DerivedD>
inline auto to_d(const Eigen::ArrayBase<DerivedX>& x, double sigma,
                 const Eigen::ArrayBase<DerivedD>& denoised) {
  using S = scalar_t<DerivedX>;
  check_positive("latent::to_d", "sigma", sigma);
  check_same_shape("latent::to_d", "x", x, "denoised", denoised);
  return (x.derived() - denoised.derived()) * S(1.0 / sigma);
}

/// Noise split of an ancestral step from sigma_from to sigma_to.
struct ancestral_sigmas {
  double down;  ///< deterministic target level sigma_down
  double up;    ///< standard deviation of the fresh noise added after the step
};

/// \f$\sigma_{up} = \min(\sigma_{to}, \eta \sqrt{\sigma_{to}^2 (\sigma_{from}^2 -
/// \sigma_{to}^2) / \sigma_{from}^2})\f$, \f$\sigma_{down} = \sqrt{\sigma_{to}^2 -
/// \sigma_{up}^2}\f$ (k-diffusion get_ancestral_step; the variance-preserving split of the
/// DDPM posterior in sigma space). Both radicands are clamped at 0, so rounding never gives
/// NaN (sigma_to = sigma_from, or float inputs where sigma_up^2 exceeds sigma_to^2 by an ulp).
/// Requires sigma_from > 0, 0 <= sigma_to <= sigma_from, eta >= 0 (checked). Returns a value.
inline ancestral_sigmas get_ancestral_step(double sigma_from, double sigma_to, double eta = 1.0) {
  constexpr const char* fn = "latent::get_ancestral_step";
  check_positive(fn, "sigma_from", sigma_from);
  check_nonnegative(fn, "sigma_to", sigma_to);
  check_nonnegative(fn, "eta", eta);
  if (sigma_to > sigma_from) {
    throw std::domain_error(std::string(fn) + ": sigma_to = " + detail::format_value(sigma_to) +
                            " exceeds sigma_from = " + detail::format_value(sigma_from));
  }
  if (eta == 0.0) return {sigma_to, 0.0};
  // Scale-free form: with q = sigma_to / sigma_from, sigma_up = eta sigma_to sqrt(1 - q^2) and
  // sigma_down = sigma_to sqrt(1 - (sigma_up / sigma_to)^2), so no sigma is squared (finite for
  // any finite sigma; squaring overflowed above ~1e154).
  if (sigma_to == 0.0) return {0.0, 0.0};
  const double q = sigma_to / sigma_from;
  const double up_ratio = std::min(1.0, eta * std::sqrt(std::max(0.0, 1.0 - q * q)));
  const double up = sigma_to * up_ratio;
  const double down = sigma_to * std::sqrt(std::max(0.0, 1.0 - up_ratio * up_ratio));
  return {down, up};
}

/// Stochasticity ("churn") settings of Karras et al. (2022), Algorithm 2 and Table 5.
struct churn_options {
  double s_churn = 0.0;  ///< total churn; gamma_i = min(s_churn / N, sqrt(2) - 1)
  double s_tmin = 0.0;   ///< churn only for s_tmin <= sigma_i <= s_tmax
  double s_tmax = std::numeric_limits<double>::infinity();
  double s_noise = 1.0;  ///< noise inflation S_noise
};

/// \f$\gamma_i = \min(S_{churn}/N, \sqrt2 - 1)\f$ if \f$S_{tmin} \le \sigma_i \le S_{tmax}\f$,
/// else 0, where N is the number of steps (Karras et al. 2022, Algorithm 2 line 4;
/// k-diffusion sample_euler/sample_heun). Returns a double.
inline double churn_gamma(double sigma, Eigen::Index num_steps, const churn_options& churn) {
  constexpr const char* fn = "latent::churn_gamma";
  check_nonnegative(fn, "s_churn", churn.s_churn);
  check_nonnegative(fn, "s_noise", churn.s_noise);
  if (num_steps < 1) {
    throw std::invalid_argument(std::string(fn) + ": num_steps = " + std::to_string(num_steps) +
                                " must be at least 1");
  }
  if (!(churn.s_tmin <= sigma && sigma <= churn.s_tmax)) return 0.0;
  return std::min(churn.s_churn / static_cast<double>(num_steps), std::sqrt(2.0) - 1.0);
}

// ---------------------------------------------------------------------------------------
// Single steps (write into out; out may alias x)

/// Raises the noise level from sigma to sigma_hat >= sigma by adding fresh noise:
/// \f$\hat x = x + S_{noise} \sqrt{\hat\sigma^2 - \sigma^2}\, z\f$ (Karras et al. 2022,
/// Algorithm 2 lines 5-6). Writes out.
template <class DerivedX, class DerivedZ, class DerivedO>
inline void churn_step(const Eigen::ArrayBase<DerivedX>& x, double sigma, double sigma_hat,
                       const Eigen::ArrayBase<DerivedZ>& noise,
                       const Eigen::ArrayBase<DerivedO>& out, double s_noise = 1.0) {
  using S = scalar_t<DerivedX>;
  constexpr const char* fn = "latent::churn_step";
  check_nonnegative(fn, "sigma", sigma);
  check_nonnegative(fn, "s_noise", s_noise);
  if (!(sigma_hat >= sigma) || !std::isfinite(sigma_hat)) {
    throw std::domain_error(std::string(fn) + ": sigma_hat = " + detail::format_value(sigma_hat) +
                            " must be finite and at least sigma = " + detail::format_value(sigma));
  }
  check_same_shape(fn, "x", x, "noise", noise);
  check_same_shape(fn, "x", x, "out", out);
  const S c = S(s_noise * std::sqrt(std::max(0.0, sigma_hat * sigma_hat - sigma * sigma)));
  latent::assign(out, x.derived() + c * noise.derived());
}

/// Euler step of the Karras ODE from sigma to sigma_next: \f$x' = x + (\sigma_{next} -
/// \sigma)(x - D)/\sigma\f$ (Karras et al. 2022, Algorithm 2 lines 7-8; k-diffusion
/// sample_euler). sigma > 0, sigma_next >= 0 (checked). Writes out (may alias x).
template <class DerivedX, class DerivedD, class DerivedO>
inline void euler_step(const Eigen::ArrayBase<DerivedX>& x, const Eigen::ArrayBase<DerivedD>& denoised,
                       double sigma, double sigma_next, const Eigen::ArrayBase<DerivedO>& out) {
  using S = scalar_t<DerivedX>;
  constexpr const char* fn = "latent::euler_step";
  check_positive(fn, "sigma", sigma);
  check_nonnegative(fn, "sigma_next", sigma_next);
  check_same_shape(fn, "x", x, "denoised", denoised);
  check_same_shape(fn, "x", x, "out", out);
  // x + (x - D) h / sigma = a x + (1 - a) D with a = sigma_next / sigma.
  const double a = sigma_next / sigma;
  latent::assign(out, S(a) * x.derived() + S(1.0 - a) * denoised.derived());
}

namespace detail {
/// The Euler ancestral update for either noise source (random/noise.hpp).
template <class DerivedX, class DerivedD, class DerivedO, class Noise>
inline void euler_ancestral_update(const Eigen::ArrayBase<DerivedX>& x,
                                   const Eigen::ArrayBase<DerivedD>& denoised, double sigma,
                                   double sigma_next, const Eigen::ArrayBase<DerivedO>& out,
                                   double eta, double s_noise, const Noise& noise) {
  using S = scalar_t<DerivedX>;
  constexpr const char* fn = "latent::euler_ancestral_step";
  check_positive(fn, "sigma", sigma);
  check_nonnegative(fn, "s_noise", s_noise);
  const ancestral_sigmas as = get_ancestral_step(sigma, sigma_next, eta);
  check_same_shape(fn, "x", x, "denoised", denoised);
  noise.check(fn, x);
  check_same_shape(fn, "x", x, "out", out);
  // x + (sigma_down - sigma) (x - D) / sigma = D + a (x - D), a = sigma_down / sigma: exactly D
  // at sigma_down = 0, and one multiply fewer than a x + (1 - a) D (the multipliers bound the
  // step when its noise is drawn in the same loop).
  const S a = S(as.down / sigma), cz = S(s_noise * as.up);
  noise.assign(fn, out, [&](const auto& z) {
    return denoised.derived() + a * (x.derived() - denoised.derived()) + cz * z;
  });
}
}  // namespace detail

/// Euler ancestral step (k-diffusion sample_euler_ancestral): with (sigma_down, sigma_up) =
/// get_ancestral_step(sigma, sigma_next, eta), \f$x' = x + (\sigma_{down} - \sigma)(x - D)/\sigma
/// + S_{noise}\sigma_{up} z\f$. Writes out (may alias x).
template <class DerivedX, class DerivedD, class DerivedZ, class DerivedO>
inline void euler_ancestral_step(const Eigen::ArrayBase<DerivedX>& x,
                                 const Eigen::ArrayBase<DerivedD>& denoised, double sigma,
                                 double sigma_next, const Eigen::ArrayBase<DerivedZ>& noise,
                                 const Eigen::ArrayBase<DerivedO>& out, double eta = 1.0,
                                 double s_noise = 1.0) {
  detail::euler_ancestral_update(x, denoised, sigma, sigma_next, out, eta, s_noise,
                                 detail::given(noise));
}

/// Euler ancestral step drawing its noise from `engine` (shaped like out), evaluated inside
/// the noise kernel when x, denoised and out are plain contiguous arrays. Writes out (may
/// alias x).
template <class DerivedX, class DerivedD, class DerivedO>
inline void euler_ancestral_step(const Eigen::ArrayBase<DerivedX>& x,
                                 const Eigen::ArrayBase<DerivedD>& denoised, double sigma,
                                 double sigma_next, const Eigen::ArrayBase<DerivedO>& out, double eta,
                                 double s_noise, philox4x32& engine) {
  detail::euler_ancestral_update(x, denoised, sigma, sigma_next, out, eta, s_noise,
                                 detail::engine_noise{engine});
}

/// Euler ancestral step with eta = 1 and s_noise = 1, noise from `engine`. Writes out.
template <class DerivedX, class DerivedD, class DerivedO>
inline void euler_ancestral_step(const Eigen::ArrayBase<DerivedX>& x,
                                 const Eigen::ArrayBase<DerivedD>& denoised, double sigma,
                                 double sigma_next, const Eigen::ArrayBase<DerivedO>& out,
                                 philox4x32& engine) {
  euler_ancestral_step(x, denoised, sigma, sigma_next, out, 1.0, 1.0, engine);
}

/// Heun correction (Karras et al. 2022, Algorithm 1 lines 9-11; k-diffusion sample_heun):
/// given the Euler prediction x_e = euler_step(x, D, sigma, sigma_next) and D_e = D(x_e,
/// sigma_next), \f$x' = x + (\sigma_{next} - \sigma)(d + d_e)/2\f$ with \f$d = (x - D)/\sigma\f$,
/// \f$d_e = (x_e - D_e)/\sigma_{next}\f$. Needs sigma_next > 0 (the last step to 0 is a plain
/// Euler step). Writes out (may alias x or x_euler).
template <class DerivedX, class DerivedD, class DerivedXe, class DerivedDe, class DerivedO>
inline void heun_step(const Eigen::ArrayBase<DerivedX>& x, const Eigen::ArrayBase<DerivedD>& denoised,
                      const Eigen::ArrayBase<DerivedXe>& x_euler,
                      const Eigen::ArrayBase<DerivedDe>& denoised_euler, double sigma,
                      double sigma_next, const Eigen::ArrayBase<DerivedO>& out) {
  using S = scalar_t<DerivedX>;
  constexpr const char* fn = "latent::heun_step";
  check_positive(fn, "sigma", sigma);
  check_positive(fn, "sigma_next", sigma_next);
  check_same_shape(fn, "x", x, "denoised", denoised);
  check_same_shape(fn, "x", x, "x_euler", x_euler);
  check_same_shape(fn, "x", x, "denoised_euler", denoised_euler);
  check_same_shape(fn, "x", x, "out", out);
  const double h = sigma_next - sigma;
  const S c1 = S(0.5 * h / sigma), c2 = S(0.5 * h / sigma_next);
  latent::assign(out, x.derived() + c1 * (x.derived() - denoised.derived()) +
                  c2 * (x_euler.derived() - denoised_euler.derived()));
}

/// First-order DPM-Solver++ step (Lu et al. 2022, "DPM-Solver++", eq. (9) with alpha = 1;
/// equal to deterministic DDIM): \f$x' = (\sigma_{next}/\sigma) x - \mathrm{expm1}(-h) D\f$,
/// \f$h = \log\sigma - \log\sigma_{next}\f$; at sigma_next = 0 the result is D.
/// Writes out (may alias x).
template <class DerivedX, class DerivedD, class DerivedO>
inline void dpmpp_1s_step(const Eigen::ArrayBase<DerivedX>& x, const Eigen::ArrayBase<DerivedD>& denoised,
                          double sigma, double sigma_next, const Eigen::ArrayBase<DerivedO>& out) {
  using S = scalar_t<DerivedX>;
  constexpr const char* fn = "latent::dpmpp_1s_step";
  check_positive(fn, "sigma", sigma);
  check_nonnegative(fn, "sigma_next", sigma_next);
  check_same_shape(fn, "x", x, "denoised", denoised);
  check_same_shape(fn, "x", x, "out", out);
  const double ratio = sigma_next / sigma;
  const double c = sigma_next > 0 ? -std::expm1(std::log(ratio)) : 1.0;
  latent::assign(out, S(ratio) * x.derived() + S(c) * denoised.derived());
}

/// DPM-Solver++(2M) multistep step (Lu et al. 2022, Algorithm 2; k-diffusion
/// sample_dpmpp_2m), with lambda = -log sigma: h = lambda_next - lambda, h_last = lambda -
/// lambda_prev, r = h_last / h, \f$D_d = (1 + \tfrac1{2r}) D - \tfrac1{2r} D_{old}\f$,
/// \f$x' = (\sigma_{next}/\sigma) x - \mathrm{expm1}(-h) D_d\f$. Requires sigma_prev > sigma >
/// sigma_next > 0 (the first step and the final step to 0 are dpmpp_1s_step).
/// Writes out (may alias x).
template <class DerivedX, class DerivedD, class DerivedDo, class DerivedO>
inline void dpmpp_2m_step(const Eigen::ArrayBase<DerivedX>& x, const Eigen::ArrayBase<DerivedD>& denoised,
                          const Eigen::ArrayBase<DerivedDo>& old_denoised, double sigma_prev,
                          double sigma, double sigma_next, const Eigen::ArrayBase<DerivedO>& out) {
  using S = scalar_t<DerivedX>;
  constexpr const char* fn = "latent::dpmpp_2m_step";
  check_positive(fn, "sigma_prev", sigma_prev);
  check_positive(fn, "sigma", sigma);
  check_positive(fn, "sigma_next", sigma_next);
  if (!(sigma_prev > sigma && sigma > sigma_next)) {
    throw std::domain_error(std::string(fn) + ": sigmas (" + detail::format_value(sigma_prev) +
                            ", " + detail::format_value(sigma) + ", " +
                            detail::format_value(sigma_next) + ") must be strictly decreasing");
  }
  check_same_shape(fn, "x", x, "denoised", denoised);
  check_same_shape(fn, "x", x, "old_denoised", old_denoised);
  check_same_shape(fn, "x", x, "out", out);
  const double h = std::log(sigma) - std::log(sigma_next);
  const double h_last = std::log(sigma_prev) - std::log(sigma);
  const double half_inv_r = 0.5 * h / h_last;
  const double c = -std::expm1(-h);
  latent::assign(out, S(sigma_next / sigma) * x.derived() +
                  S(c * (1.0 + half_inv_r)) * denoised.derived() -
                  S(c * half_inv_r) * old_denoised.derived());
}

// ---------------------------------------------------------------------------------------
// Loop helpers

namespace detail {

/// sigmas must hold at least 2 values, all finite, strictly decreasing, positive except a
/// final value that may be 0.
inline void check_sampler_sigmas(const char* fn, const Eigen::ArrayXd& sigmas) {
  if (sigmas.size() < 2) {
    throw std::invalid_argument(std::string(fn) + ": sigmas has " +
                                std::to_string(sigmas.size()) +
                                " elements, but must have at least 2");
  }
  const Eigen::Index n = sigmas.size();
  // (.eval(): core's is_eigen_v does not recognize VectorBlock; once per sampler call.)
  check_positive(fn, "sigmas", sigmas.head(n - 1).eval());
  check_nonnegative(fn, "sigmas", sigmas.tail(1).eval());
  for (Eigen::Index i = 1; i < n; ++i) {
    if (!(sigmas(i) < sigmas(i - 1))) {
      throw std::domain_error(std::string(fn) + ": sigmas[" + std::to_string(i) + "] = " +
                              format_value(sigmas(i)) + " is not below sigmas[" +
                              std::to_string(i - 1) + "] = " + format_value(sigmas(i - 1)) +
                              "; sigmas must be strictly decreasing");
    }
  }
}

template <class Derived>
using plain_of_t = typename Derived::PlainObject;

}  // namespace detail

/// Karras et al. (2022) Algorithm 2 with Euler steps (k-diffusion sample_euler), churn
/// included: for each i, gamma_i = churn_gamma(...), sigma_hat = sigma_i (1 + gamma_i), x is
/// raised to sigma_hat by churn_step, then one Euler step to sigma_{i+1}. Updates x in place;
/// allocates one D x B scratch array (two with churn) per call.
template <class Denoiser, class Derived>
inline void sample_euler(Denoiser&& denoiser, Eigen::ArrayBase<Derived>& x,
                         const Eigen::ArrayXd& sigmas, const churn_options& churn,
                         philox4x32& engine) {
  constexpr const char* fn = "latent::sample_euler";
  detail::check_sampler_sigmas(fn, sigmas);
  const Eigen::Index steps = sigmas.size() - 1;
  churn_gamma(sigmas(0), steps, churn);  // validates the options once
  detail::plain_of_t<Derived> denoised(x.rows(), x.cols());
  detail::plain_of_t<Derived> noise;
  for (Eigen::Index i = 0; i < steps; ++i) {
    const double gamma = churn_gamma(sigmas(i), steps, churn);
    const double sigma_hat = sigmas(i) * (1.0 + gamma);
    if (gamma > 0) {
      if (noise.size() == 0) noise.resize(x.rows(), x.cols());
      detail::fill_noise(noise, engine);
      churn_step(x, sigmas(i), sigma_hat, noise, x, churn.s_noise);
    }
    denoiser(x.derived(), sigma_hat, denoised);
    euler_step(x, denoised, sigma_hat, sigmas(i + 1), x);
  }
}

/// Deterministic Euler sampler (no churn). Updates x in place.
template <class Denoiser, class Derived>
inline void sample_euler(Denoiser&& denoiser, Eigen::ArrayBase<Derived>& x,
                         const Eigen::ArrayXd& sigmas) {
  constexpr const char* fn = "latent::sample_euler";
  detail::check_sampler_sigmas(fn, sigmas);
  detail::plain_of_t<Derived> denoised(x.rows(), x.cols());
  for (Eigen::Index i = 0; i + 1 < sigmas.size(); ++i) {
    denoiser(x.derived(), sigmas(i), denoised);
    euler_step(x, denoised, sigmas(i), sigmas(i + 1), x);
  }
}

/// Ancestral sampling with Euler steps (k-diffusion sample_euler_ancestral): each step
/// goes to sigma_down deterministically and adds S_noise sigma_up fresh noise. Updates x in
/// place; one scratch array per call.
template <class Denoiser, class Derived>
inline void sample_euler_ancestral(Denoiser&& denoiser, Eigen::ArrayBase<Derived>& x,
                                   const Eigen::ArrayXd& sigmas, double eta, double s_noise,
                                   philox4x32& engine) {
  constexpr const char* fn = "latent::sample_euler_ancestral";
  detail::check_sampler_sigmas(fn, sigmas);
  check_nonnegative(fn, "eta", eta);
  check_nonnegative(fn, "s_noise", s_noise);
  detail::plain_of_t<Derived> denoised(x.rows(), x.cols());
  for (Eigen::Index i = 0; i + 1 < sigmas.size(); ++i) {
    denoiser(x.derived(), sigmas(i), denoised);
    euler_ancestral_step(x, denoised, sigmas(i), sigmas(i + 1), x, eta, s_noise, engine);
  }
}

/// Euler ancestral sampler with eta = 1, s_noise = 1. Updates x in place.
template <class Denoiser, class Derived>
inline void sample_euler_ancestral(Denoiser&& denoiser, Eigen::ArrayBase<Derived>& x,
                                   const Eigen::ArrayXd& sigmas, philox4x32& engine) {
  sample_euler_ancestral(std::forward<Denoiser>(denoiser), x, sigmas, 1.0, 1.0, engine);
}

/// Karras et al. (2022) Algorithm 2 (k-diffusion sample_heun): churn, Euler predictor, Heun
/// corrector; the final step to sigma = 0 is a plain Euler step (the corrector would divide
/// by 0). Two denoiser calls per step except the last. Updates x in place; three scratch
/// arrays (four with churn) per call.
template <class Denoiser, class Derived>
inline void sample_heun(Denoiser&& denoiser, Eigen::ArrayBase<Derived>& x,
                        const Eigen::ArrayXd& sigmas, const churn_options& churn,
                        philox4x32& engine) {
  constexpr const char* fn = "latent::sample_heun";
  detail::check_sampler_sigmas(fn, sigmas);
  const Eigen::Index steps = sigmas.size() - 1;
  churn_gamma(sigmas(0), steps, churn);
  detail::plain_of_t<Derived> denoised(x.rows(), x.cols()), x_euler(x.rows(), x.cols()),
      denoised_euler(x.rows(), x.cols());
  detail::plain_of_t<Derived> noise;
  for (Eigen::Index i = 0; i < steps; ++i) {
    const double gamma = churn_gamma(sigmas(i), steps, churn);
    const double sigma_hat = sigmas(i) * (1.0 + gamma);
    if (gamma > 0) {
      if (noise.size() == 0) noise.resize(x.rows(), x.cols());
      detail::fill_noise(noise, engine);
      churn_step(x, sigmas(i), sigma_hat, noise, x, churn.s_noise);
    }
    denoiser(x.derived(), sigma_hat, denoised);
    if (sigmas(i + 1) == 0.0) {
      euler_step(x, denoised, sigma_hat, 0.0, x);
    } else {
      euler_step(x, denoised, sigma_hat, sigmas(i + 1), x_euler);
      denoiser(x_euler, sigmas(i + 1), denoised_euler);
      heun_step(x, denoised, x_euler, denoised_euler, sigma_hat, sigmas(i + 1), x);
    }
  }
}

/// Deterministic Heun sampler (no churn). Updates x in place.
template <class Denoiser, class Derived>
inline void sample_heun(Denoiser&& denoiser, Eigen::ArrayBase<Derived>& x,
                        const Eigen::ArrayXd& sigmas) {
  constexpr const char* fn = "latent::sample_heun";
  detail::check_sampler_sigmas(fn, sigmas);
  detail::plain_of_t<Derived> denoised(x.rows(), x.cols()), x_euler(x.rows(), x.cols()),
      denoised_euler(x.rows(), x.cols());
  for (Eigen::Index i = 0; i + 1 < sigmas.size(); ++i) {
    denoiser(x.derived(), sigmas(i), denoised);
    if (sigmas(i + 1) == 0.0) {
      euler_step(x, denoised, sigmas(i), 0.0, x);
    } else {
      euler_step(x, denoised, sigmas(i), sigmas(i + 1), x_euler);
      denoiser(x_euler, sigmas(i + 1), denoised_euler);
      heun_step(x, denoised, x_euler, denoised_euler, sigmas(i), sigmas(i + 1), x);
    }
  }
}

/// DPM-Solver++(2M) (Lu et al. 2022; k-diffusion sample_dpmpp_2m): a first-order step
/// first and to sigma = 0, the two-step multistep update in between. One denoiser call per
/// step. Updates x in place; two scratch arrays per call (swapped, never copied).
template <class Denoiser, class Derived>
inline void sample_dpmpp_2m(Denoiser&& denoiser, Eigen::ArrayBase<Derived>& x,
                            const Eigen::ArrayXd& sigmas) {
  constexpr const char* fn = "latent::sample_dpmpp_2m";
  detail::check_sampler_sigmas(fn, sigmas);
  detail::plain_of_t<Derived> denoised(x.rows(), x.cols()), old_denoised(x.rows(), x.cols());
  for (Eigen::Index i = 0; i + 1 < sigmas.size(); ++i) {
    denoiser(x.derived(), sigmas(i), denoised);
    if (i == 0 || sigmas(i + 1) == 0.0) {
      dpmpp_1s_step(x, denoised, sigmas(i), sigmas(i + 1), x);
    } else {
      dpmpp_2m_step(x, denoised, old_denoised, sigmas(i - 1), sigmas(i), sigmas(i + 1), x);
    }
    denoised.swap(old_denoised);
  }
}

}  // namespace latent
