// latent/divergences/kl_full_gaussian.hpp: closed-form KL divergences involving the
// full-covariance (Cholesky) and low-rank-plus-diagonal Gaussians.
//
//   KL(q || p) = 1/2 (tr(S_p^{-1} S_q) + (mu_p - mu_q)^T S_p^{-1} (mu_p - mu_q) - D
//                     + log det S_p - log det S_q)
// (the Gaussian KL, e.g. Murphy, "Probabilistic Machine Learning", eq. 6.33), evaluated
// through triangular solves with the Cholesky factors, or in O(D K^2) for a low-rank q
// against a diagonal p. Each returns a scalar (one pair of distributions).
#pragma once

#include <Eigen/Core>

#include "latent/core/check.hpp"
#include "latent/core/traits.hpp"
#include "latent/distributions/diag_gaussian.hpp"
#include "latent/distributions/full_gaussian.hpp"
#include "latent/distributions/lowrank_gaussian.hpp"
#include "latent/divergences/kl_gaussian.hpp"

namespace latent {

/// \f$\mathrm{KL}(q\|p)\f$ for full-covariance Gaussians: with \f$M = L_p^{-1}L_q\f$ and
/// \f$y = L_p^{-1}(\mu_p-\mu_q)\f$, \f$\tfrac12(\lVert M\rVert_F^2 + \lVert y\rVert^2 - D +
/// \log\det\Sigma_p - \log\det\Sigma_q)\f$. Returns a scalar.
template <class S>
inline S kl_divergence(const full_gaussian<S>& q, const full_gaussian<S>& p) {
  check_rows("latent::kl_divergence(full_gaussian, full_gaussian)", "q.mean", q.mean(), p.dim());
  const auto lp = p.scale_tril().template triangularView<Eigen::Lower>();
  const typename full_gaussian<S>::matrix_type m = lp.solve(q.scale_tril());
  const typename full_gaussian<S>::vector_type y = lp.solve(p.mean() - q.mean());
  return S(0.5) * (m.squaredNorm() + y.squaredNorm() - S(double(q.dim())) +
                   p.log_det_covariance() - q.log_det_covariance());
}

/// \f$\mathrm{KL}(q\|\mathcal N(0, I)) = \tfrac12(\lVert L_q\rVert_F^2 + \lVert\mu_q\rVert^2 - D -
/// \log\det\Sigma_q)\f$. Returns a scalar.
template <class S>
inline S kl_divergence(const full_gaussian<S>& q, const standard_normal<S>& p) {
  check_rows("latent::kl_divergence(full_gaussian, standard_normal)", "q.mean", q.mean(), p.dim());
  return S(0.5) * (q.scale_tril().squaredNorm() + q.mean().squaredNorm() - S(double(q.dim())) -
                   q.log_det_covariance());
}

/// \f$\mathrm{KL}(q\|p)\f$ for a low-rank-plus-diagonal q and a diagonal Gaussian p given as a
/// diag_gaussian with one column: \f$\tfrac12\sum_i\big((\sum_k W_{ik}^2 + d_i + (\mu_{p,i} -
/// \mu_{q,i})^2)/\sigma_{p,i}^2 + \log\sigma_{p,i}^2\big) - \tfrac12(D + \log\det\Sigma_q)\f$,
/// O(D K^2). Returns a scalar.
template <class S>
inline S kl_divergence(const lowrank_gaussian<S>& q, const diag_gaussian<S>& p) {
  constexpr const char* fn = "latent::kl_divergence(lowrank_gaussian, diag_gaussian)";
  check_rows(fn, "p.mean", p.mean(), q.dim());
  check_cols(fn, "p.mean", p.mean(), 1);
  const auto lv = p.log_var().col(0);
  const auto mp = p.mean().col(0);
  const S quad = ((q.variance().array() + (mp - q.mean().array()).square()) * (-lv).exp()).sum();
  return S(0.5) * (quad + lv.sum() - S(double(q.dim())) - q.log_det_covariance());
}

/// \f$\mathrm{KL}(q\|\mathcal N(0, I))\f$ for a low-rank-plus-diagonal q, O(D K^2). Returns a
/// scalar.
template <class S>
inline S kl_divergence(const lowrank_gaussian<S>& q, const standard_normal<S>& p) {
  check_rows("latent::kl_divergence(lowrank_gaussian, standard_normal)", "q.mean", q.mean(),
             p.dim());
  return S(0.5) * (q.variance().sum() + q.mean().squaredNorm() - S(double(q.dim())) -
                   q.log_det_covariance());
}

/// \f$\mathrm{KL}(q\|p)\f$ for a low-rank-plus-diagonal q and a full-covariance p:
/// \f$\mathrm{tr}(\Sigma_p^{-1}\Sigma_q) = \lVert L_p^{-1}W\rVert_F^2 +
/// \lVert L_p^{-1}\mathrm{diag}(\sqrt d)\rVert_F^2\f$, O(D^3). Returns a scalar.
template <class S>
inline S kl_divergence(const lowrank_gaussian<S>& q, const full_gaussian<S>& p) {
  check_rows("latent::kl_divergence(lowrank_gaussian, full_gaussian)", "q.mean", q.mean(), p.dim());
  using M = typename full_gaussian<S>::matrix_type;
  const auto lp = p.scale_tril().template triangularView<Eigen::Lower>();
  const M a = lp.solve(q.cov_factor());
  const M b = lp.solve(M(q.cov_diag().array().sqrt().matrix().asDiagonal()));
  const typename full_gaussian<S>::vector_type y = lp.solve(p.mean() - q.mean());
  return S(0.5) * (a.squaredNorm() + b.squaredNorm() + y.squaredNorm() - S(double(q.dim())) +
                   p.log_det_covariance() - q.log_det_covariance());
}

}  // namespace latent
