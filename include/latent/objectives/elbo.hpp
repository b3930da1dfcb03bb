// latent/objectives/elbo.hpp: the evidence lower bound of a VAE,
//
//   ELBO(x) = E_q(z|x)[log p(x|z)] - beta KL(q(z|x) || p(z))  <=  log p(x)
//
// (Kingma & Welling 2014, eq. 3 and eq. 10 for the L-sample estimator with a closed-form KL;
// beta as in Higgins et al. 2017, beta-VAE, eq. 4). The decoder is the user's: the library
// takes the per-sample terms it produced, or a callable z -> log p(x|z).
//
// Layout of L samples for a batch of B: an L x B array of terms (row l = sample l), and a
// D x (L*B) array of latents / noise in which sample l of column b is column l*B + b.
#pragma once

#include <string>
#include <type_traits>
#include <utility>

#include <Eigen/Core>

#include "latent/core/check.hpp"
#include "latent/core/traits.hpp"
#include "latent/distributions/diag_gaussian.hpp"
#include "latent/divergences/kl_gaussian.hpp"
#include "latent/random/noise.hpp"

namespace latent {
namespace detail {
inline void check_sample_count(const char* fn, const char* name, Eigen::Index n) {
  if (n < 1) {
    throw std::invalid_argument(std::string(fn) + ": " + name + " = " + std::to_string(n) +
                                ", but must be at least 1");
  }
}
// Checks that eps is D x (L*B) for the given mean (D x B) and returns L.
template <class DM, class DE>
inline Eigen::Index samples_in(const char* fn, const Eigen::ArrayBase<DM>& mean,
                               const Eigen::ArrayBase<DE>& eps) {
  check_rows(fn, "eps", eps, mean.rows());
  if (mean.cols() == 0 || eps.cols() == 0 || eps.cols() % mean.cols() != 0) {
    throw_shape(fn, "eps has " + std::to_string(eps.cols()) +
                        " columns, but must have a positive multiple of the " +
                        std::to_string(mean.cols()) + " columns of mean (L samples per column)");
  }
  return eps.cols() / mean.cols();
}
}  // namespace detail

/// ELBO estimator with a closed-form KL: \f$\frac1L\sum_l \log p(x|z_l) - \beta\,\mathrm{KL}\f$,
/// from an L x B array of reconstruction terms and a 1 x B row of KLs (Kingma & Welling 2014,
/// eq. 10). Returns an evaluated 1 x B row.
template <class DR, class DK>
inline row_x<scalar_t<DR>> elbo(const Eigen::ArrayBase<DR>& log_likelihood,
                                const Eigen::ArrayBase<DK>& kl, double beta = 1.0) {
  using S = scalar_t<DR>;
  constexpr const char* fn = "latent::elbo";
  check_non_empty(fn, "log_likelihood", log_likelihood);
  check_rows(fn, "kl", kl, 1);
  check_cols(fn, "kl", kl, log_likelihood.cols());
  check_nonnegative(fn, "beta", beta);
  return log_likelihood.derived().colwise().mean() - S(beta) * kl.derived();
}

/// ELBO estimator with a Monte Carlo KL: \f$\frac1L\sum_l[\log p(x|z_l) - \beta(\log q(z_l|x) -
/// \log p(z_l))]\f$ from three L x B arrays (Kingma & Welling 2014, eq. 6). Use it when the KL
/// has no closed form. Returns an evaluated 1 x B row.
template <class DR, class DP, class DQ>
inline row_x<scalar_t<DR>> elbo_monte_carlo(const Eigen::ArrayBase<DR>& log_likelihood,
                                            const Eigen::ArrayBase<DP>& log_prior,
                                            const Eigen::ArrayBase<DQ>& log_posterior,
                                            double beta = 1.0) {
  using S = scalar_t<DR>;
  constexpr const char* fn = "latent::elbo_monte_carlo";
  check_non_empty(fn, "log_likelihood", log_likelihood);
  check_same_shape(fn, "log_likelihood", log_likelihood, "log_prior", log_prior);
  check_same_shape(fn, "log_likelihood", log_likelihood, "log_posterior", log_posterior);
  check_nonnegative(fn, "beta", beta);
  return (log_likelihood.derived() - S(beta) * (log_posterior.derived() - log_prior.derived()))
      .colwise()
      .mean();
}

/// ELBO of a diagonal Gaussian encoder q = N(mean, e^{log_var}) with a standard normal prior,
/// for given noise eps (D x (L*B)): z_l = mean + sigma * eps_l, and `log_likelihood(z)` maps a
/// D x B array of latents to the 1 x B row of log p(x|z). Closed-form KL. Returns an evaluated
/// 1 x B row.
template <class DM, class DL, class DE, class F>
inline row_x<scalar_t<DM>> elbo_gaussian(const Eigen::ArrayBase<DM>& mean,
                                         const Eigen::ArrayBase<DL>& log_var,
                                         F&& log_likelihood, const Eigen::ArrayBase<DE>& eps,
                                         double beta = 1.0) {
  using S = scalar_t<DM>;
  constexpr const char* fn = "latent::elbo_gaussian";
  check_same_shape(fn, "mean", mean, "log_var", log_var);
  check_nonnegative(fn, "beta", beta);
  const Eigen::Index l = detail::samples_in(fn, mean, eps);
  const Eigen::Index b = mean.cols();
  const array_xx<S> sigma = (S(0.5) * log_var.derived()).exp();
  array_xx<S> z(mean.rows(), b);
  row_x<S> sum = row_x<S>::Zero(b);
  for (Eigen::Index k = 0; k < l; ++k) {
    z = mean.derived() + sigma * eps.derived().middleCols(k * b, b);
    const row_x<S> r = log_likelihood(z);
    check_cols(fn, "log_likelihood(z)", r, b);
    sum += r;
  }
  return sum / S(double(l)) - S(beta) * kl_diag_std_normal(mean, log_var);
}

/// elbo_gaussian with L fresh noise draws from `engine`. Returns an evaluated 1 x B row.
template <class DM, class DL, class F>
inline row_x<scalar_t<DM>> elbo_gaussian(const Eigen::ArrayBase<DM>& mean,
                                         const Eigen::ArrayBase<DL>& log_var,
                                         F&& log_likelihood, Eigen::Index samples,
                                         philox4x32& engine, double beta = 1.0) {
  using S = scalar_t<DM>;
  detail::check_sample_count("latent::elbo_gaussian", "samples", samples);
  const array_xx<S> eps = randn<array_xx<S>>(mean.rows(), samples * mean.cols(), engine);
  return elbo_gaussian(mean, log_var, std::forward<F>(log_likelihood), eps, beta);
}

/// Pathwise gradient of elbo_gaussian's estimate (summed over the batch, each column weighted
/// by the upstream 1 x B row g) with respect to the encoder's mean and log-variance, given
/// the same eps and the decoder's gradients grad_z = d log p(x|z)/dz at every sample (both
/// D x (L*B)):
/// \f$\partial/\partial\mu = \frac gL\sum_l \nabla_z - g\beta\mu\f$,
/// \f$\partial/\partial\log\sigma^2 = \frac gL\sum_l \nabla_z\,\tfrac12\sigma\varepsilon_l -
/// \tfrac{g\beta}2(\sigma^2 - 1)\f$ (Kingma & Welling 2014, sec. 2.4). Returns evaluated arrays.
template <class DM, class DL, class DE, class DZ, class DG>
inline mean_log_var_grad<scalar_t<DM>> elbo_gaussian_vjp(
    const Eigen::ArrayBase<DM>& mean, const Eigen::ArrayBase<DL>& log_var,
    const Eigen::ArrayBase<DE>& eps, const Eigen::ArrayBase<DZ>& grad_z,
    const Eigen::ArrayBase<DG>& grad, double beta = 1.0) {
  using S = scalar_t<DM>;
  constexpr const char* fn = "latent::elbo_gaussian_vjp";
  check_same_shape(fn, "mean", mean, "log_var", log_var);
  check_same_shape(fn, "eps", eps, "grad_z", grad_z);
  check_nonnegative(fn, "beta", beta);
  const Eigen::Index l = detail::samples_in(fn, mean, eps);
  detail::check_upstream_row<S>(fn, grad, mean.cols());
  const Eigen::Index b = mean.cols();
  const array_xx<S> half_sigma = S(0.5) * (S(0.5) * log_var.derived()).exp();
  mean_log_var_grad<S> out{array_xx<S>::Zero(mean.rows(), b), array_xx<S>::Zero(mean.rows(), b)};
  for (Eigen::Index k = 0; k < l; ++k) {
    out.mean += grad_z.derived().middleCols(k * b, b);
    out.log_var += grad_z.derived().middleCols(k * b, b) * half_sigma *
                   eps.derived().middleCols(k * b, b);
  }
  const S inv_l = S(1) / S(double(l));
  const row_x<S> g = grad.derived();
  const row_x<S> bg = S(beta) * g;
  const auto kl = kl_diag_std_normal_vjp(mean, log_var, bg);
  out.mean = (out.mean * inv_l).rowwise() * g - kl.mean;
  out.log_var = (out.log_var * inv_l).rowwise() * g - kl.log_var;
  return out;
}

}  // namespace latent
