// latent/divergences/kl_full_gaussian.hpp: closed-form KL divergences involving the
// full-covariance (Cholesky) and low-rank-plus-diagonal Gaussians.
//
//   KL(q || p) = 1/2 (tr(S_p^{-1} S_q) + (mu_p - mu_q)^T S_p^{-1} (mu_p - mu_q) - D
//                     + log det S_p - log det S_q)
// (the Gaussian KL, e.g. Murphy, "Probabilistic Machine Learning", eq. 6.33), evaluated
// through triangular solves with the Cholesky factors, or in O(D K^2) for a low-rank q
// against a diagonal p. Each returns a scalar (one pair of distributions), except KL(diag || full),
// which returns a 1 x B row (one KL per column of the diagonal q).
//
// Each KL has an analytic vector-Jacobian product `kl_divergence_vjp(q, p, g)` with respect to
// the means and the factors (lower-triangular part of a Cholesky factor L; W and log d of a
// low-rank-plus-diagonal covariance; log-variances of a diagonal one), from
//   d/dmu_p = Sigma_p^{-1}(mu_p - mu_q) = -d/dmu_q,   d log det(L L^T) / dL = 2 diag(1/L_ii),
//   d ||L^{-1} A||_F^2 / 2 / dL = -L^{-T} (L^{-1} A)(L^{-1} A)^T     (d L^{-1} = -L^{-1} dL L^{-1})
// (Petersen & Pedersen, "The Matrix Cookbook", eqs. 57, 59, 61).
#pragma once

#include <initializer_list>

#include <Eigen/Core>

#include "latent/core/check.hpp"
#include "latent/core/traits.hpp"
#include "latent/distributions/diag_gaussian.hpp"
#include "latent/distributions/full_gaussian.hpp"
#include "latent/distributions/lowrank_gaussian.hpp"
#include "latent/divergences/kl_gaussian.hpp"

namespace latent {
namespace detail {
/// \f$\tfrac12\sum_i t_i\f$, accumulated into one evaluated scalar term by term: with
/// AutoDiffScalar, a constant (empty derivatives) added to an unevaluated sum of derivative
/// expressions cannot be made coherent, so the terms are never chained in one expression.
template <class S>
inline S half_sum(std::initializer_list<S> terms) {
  S acc = S(0);
  for (const S& t : terms) acc = S(acc + t);
  return S(0.5) * acc;
}
}  // namespace detail

/// \f$\mathrm{KL}(q\|p)\f$ for full-covariance Gaussians: with \f$M = L_p^{-1}L_q\f$ and
/// \f$y = L_p^{-1}(\mu_p-\mu_q)\f$, \f$\tfrac12(\lVert M\rVert_F^2 + \lVert y\rVert^2 - D +
/// \log\det\Sigma_p - \log\det\Sigma_q)\f$. Returns a scalar.
template <class S>
inline S kl_divergence(const full_gaussian<S>& q, const full_gaussian<S>& p) {
  check_rows("latent::kl_divergence(full_gaussian, full_gaussian)", "q.mean", q.mean(), p.dim());
  const auto lp = p.scale_tril().template triangularView<Eigen::Lower>();
  const typename full_gaussian<S>::matrix_type m = lp.solve(q.scale_tril());
  const typename full_gaussian<S>::vector_type y = lp.solve(p.mean() - q.mean());
  return detail::half_sum<S>({m.squaredNorm(), y.squaredNorm(), S(-double(q.dim())),
                              p.log_det_covariance(), S(-q.log_det_covariance())});
}

/// \f$\mathrm{KL}(q\|\mathcal N(0, I)) = \tfrac12(\lVert L_q\rVert_F^2 + \lVert\mu_q\rVert^2 - D -
/// \log\det\Sigma_q)\f$. Returns a scalar.
template <class S>
inline S kl_divergence(const full_gaussian<S>& q, const standard_normal<S>& p) {
  check_rows("latent::kl_divergence(full_gaussian, standard_normal)", "q.mean", q.mean(), p.dim());
  return detail::half_sum<S>({q.scale_tril().squaredNorm(), q.mean().squaredNorm(),
                              S(-double(q.dim())), S(-q.log_det_covariance())});
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
  return detail::half_sum<S>({quad, lv.sum(), S(-double(q.dim())), S(-q.log_det_covariance())});
}

/// \f$\mathrm{KL}(q\|\mathcal N(0, I))\f$ for a low-rank-plus-diagonal q, O(D K^2). Returns a
/// scalar.
template <class S>
inline S kl_divergence(const lowrank_gaussian<S>& q, const standard_normal<S>& p) {
  check_rows("latent::kl_divergence(lowrank_gaussian, standard_normal)", "q.mean", q.mean(),
             p.dim());
  return detail::half_sum<S>({q.variance().sum(), q.mean().squaredNorm(), S(-double(q.dim())),
                              S(-q.log_det_covariance())});
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
  return detail::half_sum<S>({a.squaredNorm(), b.squaredNorm(), y.squaredNorm(),
                              S(-double(q.dim())), p.log_det_covariance(),
                              S(-q.log_det_covariance())});
}

/// \f$\mathrm{KL}(q\|p)\f$ for a diagonal q with B columns (each column one distribution) and a
/// full-covariance p: \f$\tfrac12(\sum_i(\Sigma_p^{-1})_{ii}\sigma_{q,i}^2 + \lVert L_p^{-1}
/// (\mu_p-\mu_q)\rVert^2 - D + \log\det\Sigma_p - \sum_i\log\sigma_{q,i}^2)\f$, O(D^3 + D^2 B).
/// Returns an evaluated 1 x B row.
template <class S>
inline row_x<S> kl_divergence(const diag_gaussian<S>& q, const full_gaussian<S>& p) {
  check_rows("latent::kl_divergence(diag_gaussian, full_gaussian)", "q.mean", q.mean(), p.dim());
  using M = typename full_gaussian<S>::matrix_type;
  const auto lp = p.scale_tril().template triangularView<Eigen::Lower>();
  const M lpinv = lp.solve(M::Identity(p.dim(), p.dim()));
  const array_xx<S> inv_diag = lpinv.colwise().squaredNorm().transpose().array().replicate(1, q.batch());
  const M y = lp.solve((-q.mean().matrix()).colwise() + p.mean());
  const S c = detail::half_sum<S>({S(-double(p.dim())), p.log_det_covariance()});
  const row_x<S> rows = (inv_diag * q.log_var().exp() - q.log_var()).colwise().sum() +
                        y.array().square().colwise().sum();
  return S(0.5) * rows + c;
}

namespace detail {
/// \f$\mathrm{tril}(-L^{-\top}A) + c\,\mathrm{diag}(1/L_{ii})\f$ for a symmetric A: the gradient
/// of \f$-\tfrac12\mathrm{tr}(L^{-1}(\cdot)L^{-\top})\f$-type terms plus a log-determinant.
template <class S>
inline Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic> tril_grad(
    const Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic>& l,
    const Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic>& a, S c) {
  Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic> g =
      (-l.template triangularView<Eigen::Lower>().transpose().solve(a))
          .template triangularView<Eigen::Lower>();
  g.diagonal() += c * l.diagonal().cwiseInverse();
  return g;
}
}  // namespace detail

/// Gradient of a scalar loss through a KL between two full-covariance Gaussians (or a full one
/// and a standard normal: `p` empty).
template <class S>
struct kl_full_grad {
  full_gaussian_grad<S> q, p;
};

/// Vector-Jacobian product of KL(full q || full p) for the upstream scalar g. With
/// \f$M = L_p^{-1}L_q\f$, \f$y = L_p^{-1}(\mu_p-\mu_q)\f$, \f$w = L_p^{-\top}y\f$:
/// \f$\partial/\partial\mu_p = gw = -\partial/\partial\mu_q\f$,
/// \f$\partial/\partial L_q = g(\mathrm{tril}(L_p^{-\top}M) - \mathrm{diag}(1/L_{q,ii}))\f$,
/// \f$\partial/\partial L_p = g(\mathrm{tril}(-L_p^{-\top}(MM^\top + yy^\top)) +
/// \mathrm{diag}(1/L_{p,ii}))\f$. Returns evaluated gradients.
template <class S>
inline kl_full_grad<S> kl_divergence_vjp(const full_gaussian<S>& q, const full_gaussian<S>& p,
                                         S g) {
  check_rows("latent::kl_divergence_vjp(full_gaussian, full_gaussian)", "q.mean", q.mean(), p.dim());
  using M = typename full_gaussian<S>::matrix_type;
  const auto lp = p.scale_tril().template triangularView<Eigen::Lower>();
  const M m = lp.solve(q.scale_tril());
  const M y = lp.solve(p.mean() - q.mean());
  kl_full_grad<S> out;
  out.p.mean = g * lp.transpose().solve(y);
  out.q.mean = -out.p.mean;
  out.q.scale_tril = g * M(lp.transpose().solve(m).template triangularView<Eigen::Lower>());
  out.q.scale_tril.diagonal() -= g * q.scale_tril().diagonal().cwiseInverse();
  out.p.scale_tril = detail::tril_grad<S>(p.scale_tril(), M(g * (m * m.transpose() + y * y.transpose())), g);
  return out;
}

/// Vector-Jacobian product of KL(full q || N(0, I)) for the upstream scalar g:
/// \f$\partial/\partial\mu = g\mu\f$, \f$\partial/\partial L = g(L - \mathrm{diag}(1/L_{ii}))\f$.
/// Returns evaluated gradients (`p` empty).
template <class S>
inline kl_full_grad<S> kl_divergence_vjp(const full_gaussian<S>& q, const standard_normal<S>& p,
                                         S g) {
  check_rows("latent::kl_divergence_vjp(full_gaussian, standard_normal)", "q.mean", q.mean(), p.dim());
  kl_full_grad<S> out;
  out.q.mean = g * q.mean();
  out.q.scale_tril = g * q.scale_tril();
  out.q.scale_tril.diagonal() -= g * q.scale_tril().diagonal().cwiseInverse();
  return out;
}

/// Gradient of a scalar loss through KL(low rank q || diagonal p): `q` (mean, cov_factor,
/// log_cov_diag) and `p` (mean, log_var: D x 1; empty for the standard normal).
template <class S>
struct kl_lowrank_diag_grad {
  lowrank_gaussian_grad<S> q;
  mean_log_var_grad<S> p;
};

/// Vector-Jacobian product of KL(low rank q || diag p) (p with one column) for the upstream
/// scalar g. With \f$\delta = \mu_q - \mu_p\f$, \f$\pi = e^{-\log\sigma_p^2}\f$:
/// \f$\partial/\partial\mu_q = g\pi\delta = -\partial/\partial\mu_p\f$,
/// \f$\partial/\partial W = g(\mathrm{diag}(\pi)W - \Sigma_q^{-1}W)\f$,
/// \f$\partial/\partial\log d = \tfrac g2 d\odot(\pi - \mathrm{diag}\Sigma_q^{-1})\f$,
/// \f$\partial/\partial\log\sigma_p^2 = \tfrac g2(1 - (\mathrm{diag}\Sigma_q + \delta^2)\pi)\f$.
/// O(D K^2). Returns evaluated gradients.
template <class S>
inline kl_lowrank_diag_grad<S> kl_divergence_vjp(const lowrank_gaussian<S>& q,
                                                 const diag_gaussian<S>& p, S g) {
  constexpr const char* fn = "latent::kl_divergence_vjp(lowrank_gaussian, diag_gaussian)";
  check_rows(fn, "p.mean", p.mean(), q.dim());
  check_cols(fn, "p.mean", p.mean(), 1);
  using V = typename lowrank_gaussian<S>::vector_type;
  const V ip = (-p.log_var().col(0)).exp().matrix();
  const V delta = q.mean() - p.mean().col(0).matrix();
  kl_lowrank_diag_grad<S> out;
  out.q.mean = g * ip.cwiseProduct(delta);
  out.q.cov_factor = g * (ip.asDiagonal() * q.cov_factor() - detail::lowrank_solve(q, q.cov_factor()));
  out.q.log_cov_diag = (S(0.5) * g * q.cov_diag().array() *
                        (ip.array() - detail::lowrank_inverse_diagonal(q).array()))
                           .matrix();
  out.p.mean = -out.q.mean.array();
  out.p.log_var = S(0.5) * g * (S(1) - (q.variance() + delta.cwiseAbs2()).array() * ip.array());
  return out;
}

/// Vector-Jacobian product of KL(low rank q || N(0, I)) for the upstream scalar g:
/// \f$\partial/\partial\mu = g\mu\f$, \f$\partial/\partial W = g(W - \Sigma_q^{-1}W)\f$,
/// \f$\partial/\partial\log d = \tfrac g2 d\odot(1 - \mathrm{diag}\Sigma_q^{-1})\f$. O(D K^2).
/// Returns evaluated gradients (`p` empty).
template <class S>
inline kl_lowrank_diag_grad<S> kl_divergence_vjp(const lowrank_gaussian<S>& q,
                                                 const standard_normal<S>& p, S g) {
  check_rows("latent::kl_divergence_vjp(lowrank_gaussian, standard_normal)", "q.mean", q.mean(),
             p.dim());
  kl_lowrank_diag_grad<S> out;
  out.q.mean = g * q.mean();
  out.q.cov_factor = g * (q.cov_factor() - detail::lowrank_solve(q, q.cov_factor()));
  out.q.log_cov_diag =
      (S(0.5) * g * q.cov_diag().array() * (S(1) - detail::lowrank_inverse_diagonal(q).array()))
          .matrix();
  return out;
}

/// Gradient of a scalar loss through KL(low rank q || full p).
template <class S>
struct kl_lowrank_full_grad {
  lowrank_gaussian_grad<S> q;
  full_gaussian_grad<S> p;
};

/// Vector-Jacobian product of KL(low rank q || full p) for the upstream scalar g. With
/// \f$y = L_p^{-1}(\mu_p-\mu_q)\f$: \f$\partial/\partial\mu_p = g\Sigma_p^{-1}(\mu_p-\mu_q) =
/// -\partial/\partial\mu_q\f$, \f$\partial/\partial W = g(\Sigma_p^{-1} - \Sigma_q^{-1})W\f$,
/// \f$\partial/\partial\log d = \tfrac g2 d\odot\mathrm{diag}(\Sigma_p^{-1} - \Sigma_q^{-1})\f$,
/// \f$\partial/\partial L_p = g(\mathrm{tril}(-L_p^{-\top}(L_p^{-1}\Sigma_qL_p^{-\top} + yy^\top))
/// + \mathrm{diag}(1/L_{p,ii}))\f$. O(D^3). Returns evaluated gradients.
template <class S>
inline kl_lowrank_full_grad<S> kl_divergence_vjp(const lowrank_gaussian<S>& q,
                                                 const full_gaussian<S>& p, S g) {
  check_rows("latent::kl_divergence_vjp(lowrank_gaussian, full_gaussian)", "q.mean", q.mean(),
             p.dim());
  using M = typename full_gaussian<S>::matrix_type;
  const auto lp = p.scale_tril().template triangularView<Eigen::Lower>();
  const M lpinv = lp.solve(M::Identity(p.dim(), p.dim()));
  const M a = lpinv * q.cov_factor();
  const M b = lpinv * q.cov_diag().array().sqrt().matrix().asDiagonal();
  const M y = lp.solve(p.mean() - q.mean());
  kl_lowrank_full_grad<S> out;
  out.p.mean = g * lp.transpose().solve(y);
  out.q.mean = -out.p.mean;
  out.q.cov_factor = g * (lp.transpose().solve(a) - detail::lowrank_solve(q, q.cov_factor()));
  out.q.log_cov_diag = (S(0.5) * g * q.cov_diag().array() *
                        (lpinv.colwise().squaredNorm().transpose().array() -
                         detail::lowrank_inverse_diagonal(q).array()))
                           .matrix();
  out.p.scale_tril = detail::tril_grad<S>(
      p.scale_tril(), M(g * (a * a.transpose() + b * b.transpose() + y * y.transpose())), g);
  return out;
}

/// Gradient of a loss through KL(diag q || full p): `q` (mean, log_var: D x B) and `p`.
template <class S>
struct kl_diag_full_grad {
  mean_log_var_grad<S> q;
  full_gaussian_grad<S> p;
};

/// Vector-Jacobian product of KL(diag q || full p) (one KL per column of q) for the upstream row
/// g (1 x B). With \f$w_b = \Sigma_p^{-1}(\mu_p-\mu_{q,b})\f$:
/// \f$\partial/\partial\mu_{q,b} = -g_bw_b\f$, \f$\partial/\partial\mu_p = \sum_b g_bw_b\f$,
/// \f$\partial/\partial\log\sigma_{q,ib}^2 = \tfrac{g_b}2((\Sigma_p^{-1})_{ii}\sigma_{q,ib}^2 - 1)\f$,
/// \f$\partial/\partial L_p = \mathrm{tril}(-L_p^{-\top}(L_p^{-1}\mathrm{diag}(s)L_p^{-\top} +
/// Y\mathrm{diag}(g)Y^\top)) + (\sum_b g_b)\mathrm{diag}(1/L_{p,ii})\f$, \f$s = \sum_b g_b\sigma_{q,b}^2\f$,
/// \f$Y = L_p^{-1}(\mu_p - \mu_q)\f$. Returns evaluated gradients.
template <class S, class DG>
inline kl_diag_full_grad<S> kl_divergence_vjp(const diag_gaussian<S>& q, const full_gaussian<S>& p,
                                              const Eigen::DenseBase<DG>& grad) {
  constexpr const char* fn = "latent::kl_divergence_vjp(diag_gaussian, full_gaussian)";
  check_rows(fn, "q.mean", q.mean(), p.dim());
  detail::check_upstream_row<S>(fn, grad, q.batch());
  using M = typename full_gaussian<S>::matrix_type;
  const row_x<S> g = grad.derived();
  const auto lp = p.scale_tril().template triangularView<Eigen::Lower>();
  const M lpinv = lp.solve(M::Identity(p.dim(), p.dim()));
  const array_xx<S> var_q = q.log_var().exp();
  const M y = lp.solve((-q.mean().matrix()).colwise() + p.mean());
  const M w = lp.transpose().solve(y);
  const M gy = (y.array().rowwise() * g).matrix();
  kl_diag_full_grad<S> out;
  out.q.mean = -(w.array().rowwise() * g);
  out.p.mean = -out.q.mean.matrix().rowwise().sum();
  out.q.log_var = (S(0.5) * ((var_q.colwise() * lpinv.colwise().squaredNorm().transpose().array()) -
                             S(1)))
                      .rowwise() *
                  g;
  const M s = (var_q.rowwise() * g).rowwise().sum().matrix();
  out.p.scale_tril = detail::tril_grad<S>(
      p.scale_tril(), M(lpinv * s.asDiagonal() * lpinv.transpose() + gy * y.transpose()), g.sum());
  return out;
}

}  // namespace latent
