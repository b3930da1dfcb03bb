// latent/objectives/iwae.hpp: the importance-weighted bound and marginal-likelihood
// estimators.
//
//   IWAE_K(x) = E[log (1/K) sum_k w_k],  w_k = p(x, z_k) / q(z_k|x),  z_k ~ q
//   ELBO = IWAE_1 <= IWAE_K <= IWAE_{K+1} <= log p(x), IWAE_K -> log p(x) as K -> infinity
// (Burda, Grosse & Salakhutdinov 2016, eq. 8 and Theorem 1). Its gradient is
// sum_k wtilde_k grad log w_k with the normalized weights wtilde_k = w_k / sum_j w_j (eq. 14).
//
// Layout: K x B arrays of log-weights (row k = sample k); latents / noise D x (K*B) with
// sample k of column b at column k*B + b (as in elbo.hpp).
#pragma once

#include <cmath>
#include <utility>

#include <Eigen/Core>

#include "latent/core/check.hpp"
#include "latent/core/math.hpp"
#include "latent/core/traits.hpp"
#include "latent/distributions/diag_gaussian.hpp"
#include "latent/objectives/elbo.hpp"
#include "latent/random/noise.hpp"

namespace latent {

/// IWAE bound from a K x B array of log importance weights
/// \f$\log w_k = \log p(x, z_k) - \log q(z_k|x)\f$: \f$\log\frac1K\sum_k w_k\f$ per column,
/// via log-mean-exp (Burda et al. 2016, eq. 8). Returns an evaluated 1 x B row.
template <class DW>
inline row_x<scalar_t<DW>> iwae_bound(const Eigen::ArrayBase<DW>& log_weights) {
  check_non_empty("latent::iwae_bound", "log_weights", log_weights);
  return latent::log_mean_exp_colwise(log_weights.derived());
}

/// Normalized importance weights \f$\tilde w_k = w_k/\sum_j w_j\f$ of each column (a
/// column-wise softmax of the log-weights): the weights of the IWAE gradient
/// \f$\nabla\,\mathrm{IWAE}_K = \sum_k \tilde w_k \nabla\log w_k\f$ (Burda et al. 2016, eq. 14).
/// Returns an evaluated K x B array whose columns sum to 1.
template <class DW>
inline array_xx<scalar_t<DW>> iwae_normalized_weights(const Eigen::ArrayBase<DW>& log_weights) {
  check_non_empty("latent::iwae_normalized_weights", "log_weights", log_weights);
  return latent::softmax_colwise(log_weights.derived());
}

/// Naive Monte Carlo marginal likelihood \f$\log\frac1N\sum_n p(x|z_n)\f$, \f$z_n \sim p(z)\f$,
/// from an N x B array of \f$\log p(x|z_n)\f$ (unbiased for p(x), but its variance grows
/// with the mismatch between prior and posterior). Returns an evaluated 1 x B row.
template <class DR>
inline row_x<scalar_t<DR>> log_marginal_likelihood_prior(
    const Eigen::ArrayBase<DR>& log_likelihood) {
  check_non_empty("latent::log_marginal_likelihood_prior", "log_likelihood", log_likelihood);
  return latent::log_mean_exp_colwise(log_likelihood.derived());
}

/// Importance-sampled marginal likelihood \f$\log\frac1N\sum_n p(x, z_n)/q(z_n|x)\f$,
/// \f$z_n \sim q\f$, from N x B arrays of \f$\log p(x, z_n)\f$ and \f$\log q(z_n|x)\f$
/// (the IWAE bound with K = N; exact with zero variance when q is the true posterior).
/// Returns an evaluated 1 x B row.
template <class DJ, class DQ>
inline row_x<scalar_t<DJ>> log_marginal_likelihood_importance(
    const Eigen::ArrayBase<DJ>& log_joint, const Eigen::ArrayBase<DQ>& log_proposal) {
  constexpr const char* fn = "latent::log_marginal_likelihood_importance";
  check_non_empty(fn, "log_joint", log_joint);
  check_same_shape(fn, "log_joint", log_joint, "log_proposal", log_proposal);
  return latent::log_mean_exp_colwise(log_joint.derived() - log_proposal.derived());
}

/// Log importance weights of a diagonal Gaussian proposal q = N(mean, e^{log_var}) for given
/// noise eps (D x (K*B)): \f$\log w_k = \log p(x, z_k) - \log q(z_k|x)\f$ with
/// \f$z_k = \mu + \sigma\varepsilon_k\f$, where `log_joint(z)` maps D x B latents to the 1 x B
/// row of \f$\log p(x, z)\f$. Returns an evaluated K x B array.
template <class DM, class DL, class DE, class F>
inline array_xx<scalar_t<DM>> iwae_gaussian_log_weights(const Eigen::ArrayBase<DM>& mean,
                                                        const Eigen::ArrayBase<DL>& log_var,
                                                        F&& log_joint,
                                                        const Eigen::ArrayBase<DE>& eps) {
  using S = scalar_t<DM>;
  constexpr const char* fn = "latent::iwae_gaussian";
  check_same_shape(fn, "mean", mean, "log_var", log_var);
  const Eigen::Index k = detail::samples_in(fn, mean, eps);
  const Eigen::Index b = mean.cols();
  const array_xx<S> sigma = (S(0.5) * log_var.derived()).exp();
  // log q(z|x) at z = mu + sigma eps depends on eps only: -1/2 sum(eps^2 + log_var + log 2 pi).
  const row_x<S> half_log_det =
      S(0.5) * log_var.derived().colwise().sum() + S(double(mean.rows())) * half_log_two_pi<S>();
  array_xx<S> out(k, b);
  array_xx<S> z(mean.rows(), b);
  for (Eigen::Index i = 0; i < k; ++i) {
    const auto e = eps.derived().middleCols(i * b, b);
    z = mean.derived() + sigma * e;
    const row_x<S> lj = log_joint(z);
    check_cols(fn, "log_joint(z)", lj, b);
    out.row(i) = lj + S(0.5) * e.square().colwise().sum() + half_log_det;
  }
  return out;
}

/// IWAE bound of a diagonal Gaussian encoder for given noise eps (D x (K*B)). Returns an
/// evaluated 1 x B row.
template <class DM, class DL, class DE, class F>
inline row_x<scalar_t<DM>> iwae_gaussian(const Eigen::ArrayBase<DM>& mean,
                                         const Eigen::ArrayBase<DL>& log_var, F&& log_joint,
                                         const Eigen::ArrayBase<DE>& eps) {
  return iwae_bound(iwae_gaussian_log_weights(mean, log_var, std::forward<F>(log_joint), eps));
}

/// IWAE bound of a diagonal Gaussian encoder with K fresh noise draws from `engine`.
/// Returns an evaluated 1 x B row.
template <class DM, class DL, class F>
inline row_x<scalar_t<DM>> iwae_gaussian(const Eigen::ArrayBase<DM>& mean,
                                         const Eigen::ArrayBase<DL>& log_var, F&& log_joint,
                                         Eigen::Index samples, philox4x32& engine) {
  using S = scalar_t<DM>;
  detail::check_sample_count("latent::iwae_gaussian", "samples", samples);
  const array_xx<S> eps = randn<array_xx<S>>(mean.rows(), samples * mean.cols(), engine);
  return iwae_gaussian(mean, log_var, std::forward<F>(log_joint), eps);
}

/// Pathwise gradient of iwae_gaussian (each column weighted by the upstream 1 x B row g)
/// with respect to the encoder's mean and log-variance, from the same eps, the decoder's
/// grad_z = d log p(x, z)/dz at every sample (D x (K*B)) and the K x B log-weights:
/// \f$\partial/\partial\mu = g\sum_k\tilde w_k\nabla_{z_k}\f$,
/// \f$\partial/\partial\log\sigma^2 = g\sum_k\tilde w_k(\nabla_{z_k}\tfrac12\sigma\varepsilon_k
/// + \tfrac12)\f$ (Burda et al. 2016, eq. 14; the +1/2 is the entropy path of
/// \f$-\log q(z_k|x)\f$, whose mean path cancels). Returns evaluated D x B arrays.
template <class DM, class DL, class DE, class DZ, class DW, class DG>
inline mean_log_var_grad<scalar_t<DM>> iwae_gaussian_vjp(
    const Eigen::ArrayBase<DM>& mean, const Eigen::ArrayBase<DL>& log_var,
    const Eigen::ArrayBase<DE>& eps, const Eigen::ArrayBase<DZ>& grad_z,
    const Eigen::ArrayBase<DW>& log_weights, const Eigen::ArrayBase<DG>& grad) {
  using S = scalar_t<DM>;
  constexpr const char* fn = "latent::iwae_gaussian_vjp";
  check_same_shape(fn, "mean", mean, "log_var", log_var);
  check_same_shape(fn, "eps", eps, "grad_z", grad_z);
  const Eigen::Index k = detail::samples_in(fn, mean, eps);
  check_rows(fn, "log_weights", log_weights, k);
  check_cols(fn, "log_weights", log_weights, mean.cols());
  detail::check_upstream_row<S>(fn, grad, mean.cols());
  const Eigen::Index b = mean.cols();
  const array_xx<S> w = latent::softmax_colwise(log_weights.derived());
  const array_xx<S> half_sigma = S(0.5) * (S(0.5) * log_var.derived()).exp();
  mean_log_var_grad<S> out{array_xx<S>::Zero(mean.rows(), b), array_xx<S>::Zero(mean.rows(), b)};
  for (Eigen::Index i = 0; i < k; ++i) {
    const row_x<S> wi = w.row(i);
    out.mean += grad_z.derived().middleCols(i * b, b).rowwise() * wi;
    out.log_var += (grad_z.derived().middleCols(i * b, b) * half_sigma *
                        eps.derived().middleCols(i * b, b) +
                    S(0.5))
                       .rowwise() *
                   wi;
  }
  const row_x<S> g = grad.derived();
  out.mean.rowwise() *= g;
  out.log_var.rowwise() *= g;
  return out;
}

}  // namespace latent
