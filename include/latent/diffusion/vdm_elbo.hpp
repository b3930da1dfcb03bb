// latent/diffusion/vdm_elbo.hpp: the terms of the diffusion ELBO.
//
//   -ELBO = KL(q(x_T|x_0) || N(0, I))                                 prior matching
//         + sum_{t>=1} KL(q(x_{t-1}|x_t, x_0) || p(x_{t-1}|x_t))       denoising matching
//         - log p(x_0 | x_1)                                           reconstruction
// (Ho et al. 2020, eq. 5; Kingma et al. 2021, eqs. 6-13). With p's variance equal to the
// posterior variance, the denoising KL in the x_0 parameterization is
// 1/2 (SNR(t-1) - SNR(t)) ||x0_hat - x_0||^2 (Kingma et al. 2021, eq. 13).
// Continuous-time VDM loss: 1/2 gamma'(t) ||eps - eps_hat||^2 (eq. 17); discrete form with
// T steps: T/2 expm1(gamma(t) - gamma(s)) ||eps - eps_hat||^2, s = t - 1/T (eq. 14).
// Every term returns an evaluated row with one value per column (nats). The discretized
// Gaussian decoder itself lives in latent/objectives/discretized_gaussian.hpp (VAE side).
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

#include <Eigen/Core>

#include "latent/core/check.hpp"
#include "latent/core/constants.hpp"
#include "latent/diffusion/detail.hpp"
#include "latent/diffusion/posterior.hpp"
#include "latent/diffusion/schedule.hpp"
#include "latent/objectives/discretized_gaussian.hpp"

namespace latent {

/// Prior matching \f$KL(N(\sqrt{\bar\alpha_T}x_0, (1-\bar\alpha_T)I) \| N(0, I)) =
/// \tfrac12\sum_i(\bar\alpha_T x_{0,i}^2 - \bar\alpha_T - \log(1-\bar\alpha_T))\f$
/// (Ho et al. 2020, L_T). 0 at zero terminal SNR. Returns an evaluated row.
template <class DerivedX>
inline Eigen::Array<scalar_t<DerivedX>, 1, Eigen::Dynamic> prior_kl(
    const noise_schedule& schedule, const Eigen::ArrayBase<DerivedX>& x0) {
  using S = scalar_t<DerivedX>;
  const Eigen::Index T = schedule.size();
  const double ab = schedule.alpha_bar()(T - 1);
  const double c = -ab - schedule.log_one_minus_alpha_bar()(T - 1);
  return (S(0.5 * ab) * x0.derived().square().colwise().sum() +
          S(0.5 * c * double(x0.rows())))
      .eval();
}

/// Denoising matching \f$KL(q(x_{t-1}|x_t,x_0) \| N(\mu_\theta, \sigma_p^2 I))\f$ in closed
/// form, with \f$\mu_\theta\f$ the posterior mean at x0_hat, \f$\mu_q - \mu_\theta =
/// c_0 (x_0 - \hat x_0)\f$ evaluated without cancellation: \f$\tfrac12\sum_i[\log(\sigma_p^2/
/// \tilde\beta) + \tilde\beta/\sigma_p^2 - 1 + c_0^2 (x_0 - \hat x_0)_i^2 / \sigma_p^2]\f$
/// (Ho et al. 2020, eq. 8). t in [1, T - 1]. Returns an evaluated row.
template <class DerivedX, class DerivedH>
inline Eigen::Array<scalar_t<DerivedX>, 1, Eigen::Dynamic> denoising_kl(
    const noise_schedule& schedule, std::int64_t t, const Eigen::ArrayBase<DerivedX>& x0,
    const Eigen::ArrayBase<DerivedH>& x0_hat, double model_variance) {
  using S = scalar_t<DerivedX>;
  const char* fn = "latent::denoising_kl";
  check_index(fn, "t", t, schedule.size());
  if (t < 1)
    throw std::domain_error(std::string(fn) + ": t = 0 is the reconstruction term; t must be in [1, " +
                            std::to_string(schedule.size() - 1) + "]");
  check_same_shape(fn, "x0", x0, "x0_hat", x0_hat);
  check_positive(fn, "model_variance", model_variance);
  const posterior_coeffs c = posterior_coefficients(schedule, t, t - 1);
  const double q = c.variance, p = model_variance;
  // log(p/q) + q/p - 1 = u - log1p(u) with u = (q - p)/p: exactly 0 for p = q and ~u^2/2, not a
  // rounding residue of ~1e-16, when the two variances differ in the last bits (FMA builds).
  const double u = (q - p) / p;
  const double constant = 0.5 * double(x0.rows()) * (u - std::log1p(u));
  return (S(0.5 * c.coef_x0 * c.coef_x0 / p) *
              (x0.derived() - x0_hat.derived().template cast<S>()).square().colwise().sum() +
          S(constant))
      .eval();
}

/// denoising_kl with the model variance equal to the posterior variance (fixed_small):
/// equals 1/2 (SNR(t-1) - SNR(t)) ||x0_hat - x0||^2. Returns an evaluated row.
template <class DerivedX, class DerivedH>
inline Eigen::Array<scalar_t<DerivedX>, 1, Eigen::Dynamic> denoising_kl(
    const noise_schedule& schedule, std::int64_t t, const Eigen::ArrayBase<DerivedX>& x0,
    const Eigen::ArrayBase<DerivedH>& x0_hat) {
  check_index("latent::denoising_kl", "t", t, schedule.size());
  if (t < 1) return denoising_kl(schedule, t, x0, x0_hat, 1.0);  // throws the t = 0 message
  return denoising_kl(schedule, t, x0, x0_hat, schedule.posterior_variance()(t));
}

/// Reconstruction term \f$L_0 = -\log p(x_0 | x_1)\f$ with the discretized Gaussian decoder
/// of Ho et al. 2020 (eq. 13; latent/objectives/discretized_gaussian.hpp) centred at the
/// model's x0_hat (the posterior mean at t = 0 is x0_hat: coef1 = 1, coef2 = 0) with variance
/// exp(log_var) per element. Data in [-1, 1] on the 256-level grid. Returns an evaluated row
/// (nats per column).
template <class DerivedX, class DerivedH, class DerivedL>
inline Eigen::Array<scalar_t<DerivedX>, 1, Eigen::Dynamic> reconstruction_nll(
    const Eigen::ArrayBase<DerivedX>& x0, const Eigen::ArrayBase<DerivedH>& x0_hat,
    const Eigen::ArrayBase<DerivedL>& log_var) {
  return (-discretized_gaussian_log_likelihood(x0, x0_hat, log_var)).eval();
}

/// Reconstruction term with the fixed decoder variance beta_0 of the schedule (Ho et al.
/// 2020, Sec. 3.3: sigma_1^2 = beta_1 in their 1-based indexing). Returns an evaluated row.
template <class DerivedX, class DerivedH>
inline Eigen::Array<scalar_t<DerivedX>, 1, Eigen::Dynamic> reconstruction_nll(
    const noise_schedule& schedule, const Eigen::ArrayBase<DerivedX>& x0,
    const Eigen::ArrayBase<DerivedH>& x0_hat) {
  using S = scalar_t<DerivedX>;
  const S lv = S(std::log(schedule.betas()(0)));
  return reconstruction_nll(x0, x0_hat,
                            Eigen::Array<S, Eigen::Dynamic, Eigen::Dynamic>::Constant(
                                x0.rows(), x0.cols(), lv));
}

/// Negative ELBO in bits per dimension: nats / (D log 2). Returns an evaluated row.
template <class Derived>
inline Eigen::Array<scalar_t<Derived>, 1, Eigen::Dynamic> bits_per_dim(
    const Eigen::ArrayBase<Derived>& nats, Eigen::Index dims) {
  using S = scalar_t<Derived>;
  if (dims < 1)
    throw std::invalid_argument("latent::bits_per_dim: dims = " + std::to_string(dims) +
                                " must be at least 1");
  return (nats.derived() * S(1.0 / (double(dims) * std::log(2.0)))).eval();
}

/// Continuous-time VDM diffusion loss \f$\tfrac12\gamma'(t)\|\epsilon - \hat\epsilon\|^2\f$
/// (Kingma et al. 2021, eq. 17), gamma'(t) per column. Returns an evaluated row.
template <class DerivedG, class DerivedE, class DerivedH>
inline Eigen::Array<scalar_t<DerivedE>, 1, Eigen::Dynamic> vdm_continuous_loss(
    const Eigen::ArrayBase<DerivedG>& gamma_prime, const Eigen::ArrayBase<DerivedE>& eps,
    const Eigen::ArrayBase<DerivedH>& eps_hat) {
  using S = scalar_t<DerivedE>;
  const char* fn = "latent::vdm_continuous_loss";
  check_same_shape(fn, "eps", eps, "eps_hat", eps_hat);
  check_size(fn, "gamma_prime", gamma_prime, eps.cols());
  return (S(0.5) * gamma_prime.derived().template cast<S>().transpose().reshaped(1, eps.cols()) *
          (eps.derived() - eps_hat.derived().template cast<S>()).square().colwise().sum())
      .eval();
}

/// Discrete-time VDM diffusion loss with T steps \f$\tfrac{T}{2}\,\mathrm{expm1}(\gamma(t) -
/// \gamma(s))\|\epsilon - \hat\epsilon\|^2\f$, s = t - 1/T (Kingma et al. 2021, eq. 14), with
/// gamma(t) and gamma(s) per column. Returns an evaluated row.
template <class DerivedGT, class DerivedGS, class DerivedE, class DerivedH>
inline Eigen::Array<scalar_t<DerivedE>, 1, Eigen::Dynamic> vdm_discrete_loss(
    std::int64_t num_steps, const Eigen::ArrayBase<DerivedGT>& gamma_t,
    const Eigen::ArrayBase<DerivedGS>& gamma_s, const Eigen::ArrayBase<DerivedE>& eps,
    const Eigen::ArrayBase<DerivedH>& eps_hat) {
  using S = scalar_t<DerivedE>;
  const char* fn = "latent::vdm_discrete_loss";
  if (num_steps < 1)
    throw std::domain_error(std::string(fn) + ": num_steps = " + std::to_string(num_steps) +
                            " is out of range [1, inf)");
  check_same_shape(fn, "eps", eps, "eps_hat", eps_hat);
  check_size(fn, "gamma_t", gamma_t, eps.cols());
  check_size(fn, "gamma_s", gamma_s, eps.cols());
  Eigen::Array<S, 1, Eigen::Dynamic> out =
      (eps.derived() - eps_hat.derived().template cast<S>()).square().colwise().sum();
  for (Eigen::Index j = 0; j < out.size(); ++j) {
    const S d = S(gamma_t.derived()(j)) - S(gamma_s.derived()(j));
    out(j) *= S(0.5 * double(num_steps)) * diffusion_detail::expm1(d);
  }
  return out;
}

}  // namespace latent
