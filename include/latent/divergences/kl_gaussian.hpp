// latent/divergences/kl_gaussian.hpp: closed-form KL divergences between diagonal Gaussians,
// and to the standard normal prior, with their analytic vector-Jacobian products.
//
// KL(N(mu_q, s_q^2) || N(mu_p, s_p^2)) per coordinate
//   = 1/2 (log s_p^2 - log s_q^2 + (s_q^2 + (mu_q - mu_p)^2) / s_p^2 - 1),
// summed over the D coordinates of each column (Kingma & Welling 2014, appendix B, for the
// standard normal case; the general case is the textbook Gaussian KL, e.g. Bishop PRML
// exercise 1.30 / Murphy PML eq. 6.33 specialised to diagonal covariances).
#pragma once

#include <Eigen/Core>

#include "latent/core/check.hpp"
#include "latent/core/math.hpp"
#include "latent/core/traits.hpp"
#include "latent/distributions/diag_gaussian.hpp"

namespace latent {

/// Gradient of a KL between two diagonal Gaussians with respect to all four parameters.
template <class S>
struct kl_diag_grad {
  array_xx<S> mean_q;
  array_xx<S> log_var_q;
  array_xx<S> mean_p;
  array_xx<S> log_var_p;
};

/// Element-wise \f$\mathrm{KL}(\mathcal N(\mu,\sigma^2)\,\|\,\mathcal N(0,1)) =
/// \tfrac12(\mu^2 + e^{\log\sigma^2} - 1 - \log\sigma^2)\f$ (Kingma & Welling 2014, app. B).
/// Returns an expression (D x B). Throws std::invalid_argument if the shapes differ.
template <class DM, class DL>
inline auto kl_diag_std_normal_elementwise(const Eigen::ArrayBase<DM>& mean,
                                           const Eigen::ArrayBase<DL>& log_var) {
  using S = scalar_t<DM>;
  check_same_shape("latent::kl_diag_std_normal", "mean", mean, "log_var", log_var);
  return S(0.5) * (mean.derived().square() + exp_fast(log_var) - S(1) - log_var.derived());
}

/// Per-sample \f$\sum_d \tfrac12(\mu_d^2 + \sigma_d^2 - 1 - \log\sigma_d^2)\f$ in one fused
/// pass (Kingma & Welling 2014, app. B; with latent::exp_fast). Returns an evaluated 1 x B
/// row.
template <class DM, class DL>
inline row_x<scalar_t<DM>> kl_diag_std_normal(const Eigen::ArrayBase<DM>& mean,
                                              const Eigen::ArrayBase<DL>& log_var) {
  using S = scalar_t<DM>;
  check_same_shape("latent::kl_diag_std_normal", "mean", mean, "log_var", log_var);
  const S d = S(double(mean.rows()));
  return S(0.5) *
         ((mean.derived().square() + exp_fast(log_var) - log_var.derived()).colwise().sum() - d);
}

/// Vector-Jacobian product of kl_diag_std_normal for an upstream 1 x B row g:
/// \f$\partial/\partial\mu = g\mu\f$, \f$\partial/\partial\log\sigma^2 = \tfrac g2(\sigma^2-1)\f$.
/// Returns evaluated D x B arrays.
template <class DM, class DL, class DG>
inline mean_log_var_grad<scalar_t<DM>> kl_diag_std_normal_vjp(
    const Eigen::ArrayBase<DM>& mean, const Eigen::ArrayBase<DL>& log_var,
    const Eigen::ArrayBase<DG>& grad) {
  using S = scalar_t<DM>;
  constexpr const char* fn = "latent::kl_diag_std_normal_vjp";
  check_same_shape(fn, "mean", mean, "log_var", log_var);
  detail::check_upstream_row<S>(fn, grad, mean.cols());
  const row_x<S> g = grad.derived();
  mean_log_var_grad<S> out;
  out.mean = mean.derived().rowwise() * g;
  out.log_var = (S(0.5) * (log_var.derived().exp() - S(1))).rowwise() * g;
  return out;
}

/// Element-wise \f$\mathrm{KL}(q\|p) = \tfrac12(\log\sigma_p^2 - \log\sigma_q^2 +
/// (\sigma_q^2 + (\mu_q-\mu_p)^2)/\sigma_p^2 - 1)\f$. Returns an expression (D x B).
/// Throws std::invalid_argument if the shapes differ.
template <class DMQ, class DLQ, class DMP, class DLP>
inline auto kl_diag_diag_elementwise(const Eigen::ArrayBase<DMQ>& mean_q,
                                     const Eigen::ArrayBase<DLQ>& log_var_q,
                                     const Eigen::ArrayBase<DMP>& mean_p,
                                     const Eigen::ArrayBase<DLP>& log_var_p) {
  using S = scalar_t<DMQ>;
  constexpr const char* fn = "latent::kl_diag_diag";
  check_same_shape(fn, "mean_q", mean_q, "log_var_q", log_var_q);
  check_same_shape(fn, "mean_q", mean_q, "mean_p", mean_p);
  check_same_shape(fn, "mean_q", mean_q, "log_var_p", log_var_p);
  // sigma_q^2 / sigma_p^2 as exp(lq - lp): finite for equal extreme log-variances, where
  // exp(lq) * exp(-lp) would be inf * 0.
  return S(0.5) * (log_var_p.derived() - log_var_q.derived() +
                   exp_fast(log_var_q.derived() - log_var_p.derived()) +
                   (mean_q.derived() - mean_p.derived()).square() *
                       detail::saturated_precision_fast(log_var_p) -
                   S(1));
}

/// Per-sample KL between diagonal Gaussians (sum over rows of kl_diag_diag_elementwise), in
/// one fused pass. Returns an evaluated 1 x B row.
template <class DMQ, class DLQ, class DMP, class DLP>
inline row_x<scalar_t<DMQ>> kl_diag_diag(const Eigen::ArrayBase<DMQ>& mean_q,
                                         const Eigen::ArrayBase<DLQ>& log_var_q,
                                         const Eigen::ArrayBase<DMP>& mean_p,
                                         const Eigen::ArrayBase<DLP>& log_var_p) {
  return kl_diag_diag_elementwise(mean_q, log_var_q, mean_p, log_var_p).colwise().sum();
}

/// Vector-Jacobian product of kl_diag_diag for an upstream 1 x B row g, with
/// \f$\delta = \mu_q - \mu_p\f$: \f$\partial/\partial\mu_q = g\delta/\sigma_p^2 =
/// -\partial/\partial\mu_p\f$, \f$\partial/\partial\log\sigma_q^2 = \tfrac g2(\sigma_q^2/\sigma_p^2 - 1)\f$,
/// \f$\partial/\partial\log\sigma_p^2 = \tfrac g2(1 - (\sigma_q^2+\delta^2)/\sigma_p^2)\f$.
/// Returns evaluated D x B arrays.
template <class DMQ, class DLQ, class DMP, class DLP, class DG>
inline kl_diag_grad<scalar_t<DMQ>> kl_diag_diag_vjp(const Eigen::ArrayBase<DMQ>& mean_q,
                                                    const Eigen::ArrayBase<DLQ>& log_var_q,
                                                    const Eigen::ArrayBase<DMP>& mean_p,
                                                    const Eigen::ArrayBase<DLP>& log_var_p,
                                                    const Eigen::ArrayBase<DG>& grad) {
  using S = scalar_t<DMQ>;
  constexpr const char* fn = "latent::kl_diag_diag_vjp";
  check_same_shape(fn, "mean_q", mean_q, "log_var_q", log_var_q);
  check_same_shape(fn, "mean_q", mean_q, "mean_p", mean_p);
  check_same_shape(fn, "mean_q", mean_q, "log_var_p", log_var_p);
  detail::check_upstream_row<S>(fn, grad, mean_q.cols());
  const row_x<S> g = grad.derived();
  const array_xx<S> inv_var_p = (-log_var_p.derived()).exp();
  const array_xx<S> delta = mean_q.derived() - mean_p.derived();
  const array_xx<S> var_q = log_var_q.derived().exp();
  kl_diag_grad<S> out;
  out.mean_q = (delta * inv_var_p).rowwise() * g;
  out.mean_p = -out.mean_q;
  out.log_var_q = (S(0.5) * (var_q * inv_var_p - S(1))).rowwise() * g;
  out.log_var_p = (S(0.5) * (S(1) - (var_q + delta.square()) * inv_var_p)).rowwise() * g;
  return out;
}

/// \f$\mathrm{KL}(q\|p)\f$ per sample for diagonal Gaussians of the same shape. Returns an
/// evaluated 1 x B row.
template <class S>
inline row_x<S> kl_divergence(const diag_gaussian<S>& q, const diag_gaussian<S>& p) {
  return kl_diag_diag(q.mean(), q.log_var(), p.mean(), p.log_var());
}

/// \f$\mathrm{KL}(q\|\mathcal N(0, I))\f$ per sample (q must have p.dim() rows). Returns an
/// evaluated 1 x B row.
template <class S>
inline row_x<S> kl_divergence(const diag_gaussian<S>& q, const standard_normal<S>& p) {
  check_rows("latent::kl_divergence", "q.mean", q.mean(), p.dim());
  return kl_diag_std_normal(q.mean(), q.log_var());
}

}  // namespace latent
