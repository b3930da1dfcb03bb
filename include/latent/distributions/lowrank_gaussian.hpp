// latent/distributions/lowrank_gaussian.hpp: a Gaussian with low-rank-plus-diagonal
// covariance Sigma = W W^T + diag(d), W D x K with K << D, d > 0 (one distribution; points in
// the D x B batch are its columns).
//
// Everything costs O(D K^2), never O(D^3), through the capacitance C = I_K + W^T D^{-1} W:
//   Sigma^{-1} = D^{-1} - D^{-1} W C^{-1} W^T D^{-1}     (Woodbury identity)
//   log det Sigma = log det C + sum_i log d_i           (matrix determinant lemma)
// (Petersen & Pedersen, "The Matrix Cookbook", eqs. 156 and 24; the same construction as
// torch.distributions.LowRankMultivariateNormal).
#pragma once

#include <string>

#include <Eigen/Cholesky>
#include <Eigen/Core>

#include "latent/core/check.hpp"
#include "latent/core/constants.hpp"
#include "latent/core/traits.hpp"
#include "latent/distributions/diag_gaussian.hpp"
#include "latent/distributions/full_gaussian.hpp"
#include "latent/random/noise.hpp"

namespace latent {

/// \f$\mathcal N(\mu, WW^\top + \mathrm{diag}(d))\f$. Constructors validate: mu and d vectors of
/// the same length D, W with D rows, all finite, d positive.
template <class S>
class lowrank_gaussian {
 public:
  using scalar_type = S;
  using vector_type = Eigen::Matrix<S, Eigen::Dynamic, 1>;
  using matrix_type = Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic>;

  template <class DM, class DW, class DD>
  lowrank_gaussian(const Eigen::MatrixBase<DM>& mean, const Eigen::MatrixBase<DW>& cov_factor,
                   const Eigen::MatrixBase<DD>& cov_diag)
      : mean_(detail::as_column<S>("latent::lowrank_gaussian", "mean", mean)),
        w_(cov_factor),
        d_(detail::as_column<S>("latent::lowrank_gaussian", "cov_diag", cov_diag)) {
    constexpr const char* fn = "latent::lowrank_gaussian";
    check_rows(fn, "cov_factor", w_, mean_.rows());
    check_rows(fn, "cov_diag", d_, mean_.rows());
    check_finite(fn, "mean", mean_);
    check_finite(fn, "cov_factor", w_);
    check_positive(fn, "cov_diag", d_);
    // Capacitance C = I + W^T D^{-1} W and its Cholesky factor.
    const matrix_type wd = d_.array().inverse().matrix().asDiagonal() * w_;
    matrix_type c = matrix_type::Identity(w_.cols(), w_.cols()) + w_.transpose() * wd;
    Eigen::LLT<matrix_type> llt(c);
    cap_l_ = llt.matrixL();
    log_det_ = S(2) * cap_l_.diagonal().array().log().sum() + d_.array().log().sum();
  }

  const vector_type& mean() const { return mean_; }
  const matrix_type& cov_factor() const { return w_; }
  const vector_type& cov_diag() const { return d_; }
  /// \f$WW^\top + \mathrm{diag}(d)\f$, evaluated (O(D^2 K); for tests and small D).
  matrix_type covariance() const {
    matrix_type c = w_ * w_.transpose();
    c.diagonal() += d_;
    return c;
  }
  /// Diagonal of the covariance, \f$\sum_k W_{ik}^2 + d_i\f$, in O(DK).
  vector_type variance() const { return w_.rowwise().squaredNorm() + d_; }
  /// \f$\log\det\Sigma = \log\det C + \sum_i\log d_i\f$ (matrix determinant lemma).
  S log_det_covariance() const { return log_det_; }
  /// Lower Cholesky factor of the capacitance \f$C = I + W^\top D^{-1}W\f$ (K x K).
  const matrix_type& capacitance_tril() const { return cap_l_; }
  Eigen::Index dim() const { return mean_.rows(); }
  Eigen::Index rank() const { return w_.cols(); }

 private:
  vector_type mean_;
  matrix_type w_;
  vector_type d_;
  matrix_type cap_l_;
  S log_det_;
};

template <class DM, class DW, class DD>
lowrank_gaussian(const Eigen::MatrixBase<DM>&, const Eigen::MatrixBase<DW>&,
                 const Eigen::MatrixBase<DD>&) -> lowrank_gaussian<scalar_t<DM>>;

namespace detail {
/// Mahalanobis terms \f$r^\top\Sigma^{-1}r\f$ of the columns of r (D x B), by Woodbury.
template <class S, class DR>
inline row_x<S> lowrank_mahalanobis(const lowrank_gaussian<S>& q, const Eigen::MatrixBase<DR>& r) {
  using M = typename lowrank_gaussian<S>::matrix_type;
  const M rd = q.cov_diag().array().inverse().matrix().asDiagonal() * r;  // D^{-1} r
  const M u = q.cov_factor().transpose() * rd;                             // W^T D^{-1} r
  const M v = q.capacitance_tril().template triangularView<Eigen::Lower>().solve(u);
  return (r.array() * rd.array()).colwise().sum() - v.array().square().colwise().sum();
}
/// \f$\Sigma^{-1}B\f$ for the columns of B (D x n), by Woodbury: \f$D^{-1}B -
/// D^{-1}WC^{-1}W^\top D^{-1}B\f$, O(D K n). Evaluated.
template <class S, class DB>
inline typename lowrank_gaussian<S>::matrix_type lowrank_solve(const lowrank_gaussian<S>& q,
                                                             const Eigen::MatrixBase<DB>& b) {
  using M = typename lowrank_gaussian<S>::matrix_type;
  const auto dinv = q.cov_diag().array().inverse().matrix().asDiagonal();
  const M bd = dinv * b;
  const auto lc = q.capacitance_tril().template triangularView<Eigen::Lower>();
  const M v = lc.transpose().solve(lc.solve(q.cov_factor().transpose() * bd));  // C^{-1} W^T D^{-1} B
  return bd - dinv * (q.cov_factor() * v);
}
/// Diagonal of \f$\Sigma^{-1}\f$: \f$1/d_i - \lVert L_C^{-1}W^\top D^{-1}e_i\rVert^2\f$, O(D K^2).
template <class S>
inline typename lowrank_gaussian<S>::vector_type lowrank_inverse_diagonal(
    const lowrank_gaussian<S>& q) {
  using M = typename lowrank_gaussian<S>::matrix_type;
  const M a = q.capacitance_tril().template triangularView<Eigen::Lower>().solve(
      q.cov_factor().transpose() * q.cov_diag().array().inverse().matrix().asDiagonal());
  return q.cov_diag().cwiseInverse() - a.colwise().squaredNorm().transpose();
}
}  // namespace detail

/// Per-sample log-density of each column of x (D x B):
/// \f$-\tfrac12(r^\top\Sigma^{-1}r + \log\det\Sigma + D\log 2\pi)\f$, \f$r = x - \mu\f$, with
/// \f$\Sigma^{-1}\f$ by Woodbury and \f$\log\det\Sigma\f$ by the determinant lemma.
/// Returns an evaluated 1 x B row.
template <class S, class DX>
inline row_x<S> log_prob(const lowrank_gaussian<S>& q, const Eigen::DenseBase<DX>& x) {
  check_rows("latent::log_prob(lowrank_gaussian)", "x", x, q.dim());
  const Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic> r =
      x.derived().matrix().colwise() - q.mean();
  // The constant is evaluated on its own: an AutoDiffScalar product of two constants is an
  // expression whose empty derivatives cannot be made coherent with log det's.
  const S norm = S(double(q.dim())) * log_two_pi<S>();
  const S c = S(-0.5) * (q.log_det_covariance() + norm);
  return S(-0.5) * detail::lowrank_mahalanobis(q, r) + c;
}
/// Entropy \f$\tfrac D2(1 + \log 2\pi) + \tfrac12\log\det\Sigma\f$: a scalar.
template <class S>
inline S entropy(const lowrank_gaussian<S>& q) {
  return S(0.5) * (S(double(q.dim())) * (S(1) + log_two_pi<S>()) + q.log_det_covariance());
}
template <class S>
inline const typename lowrank_gaussian<S>::vector_type& mean(const lowrank_gaussian<S>& q) {
  return q.mean();
}
template <class S>
inline const typename lowrank_gaussian<S>::vector_type& mode(const lowrank_gaussian<S>& q) {
  return q.mean();
}
/// Reparameterized samples \f$z = \mu + W\varepsilon_W + \sqrt d\odot\varepsilon_D\f$ for given
/// noise eps_factor (K x B) and eps_diag (D x B). Returns an evaluated D x B array.
template <class S, class DW, class DD>
inline array_xx<S> rsample(const lowrank_gaussian<S>& q, const Eigen::DenseBase<DW>& eps_factor,
                           const Eigen::DenseBase<DD>& eps_diag) {
  constexpr const char* fn = "latent::rsample(lowrank_gaussian)";
  check_rows(fn, "eps_factor", eps_factor, q.rank());
  check_rows(fn, "eps_diag", eps_diag, q.dim());
  check_cols(fn, "eps_diag", eps_diag, eps_factor.cols());
  using std::sqrt;
  return ((q.cov_factor() * eps_factor.derived().matrix()).colwise() + q.mean()).array() +
         eps_diag.derived().array().colwise() * q.cov_diag().array().sqrt();
}
/// Gradient of a scalar loss with respect to the parameters of a lowrank_gaussian (and, for
/// log_prob, its points): `mean` (D), `cov_factor` (D x K), `log_cov_diag` (D: with respect to
/// \f$\log d_i\f$, the unconstrained parameter; divide by d for d/dd), `x` (D x B; empty for
/// rsample).
template <class S>
struct lowrank_gaussian_grad {
  typename lowrank_gaussian<S>::vector_type mean;
  typename lowrank_gaussian<S>::matrix_type cov_factor;
  typename lowrank_gaussian<S>::vector_type log_cov_diag;
  typename lowrank_gaussian<S>::matrix_type x;
};

/// Vector-Jacobian product of rsample(q, eps_factor, eps_diag) =
/// \f$\mu + W\varepsilon_W + \sqrt d\odot\varepsilon_D\f$ for the upstream G (D x B):
/// \f$\partial/\partial\mu = \sum_b G_{:b}\f$, \f$\partial/\partial W = G\varepsilon_W^\top\f$,
/// \f$\partial/\partial\log d = \tfrac12\sqrt d\odot\sum_b G_{:b}\odot\varepsilon_{D,:b}\f$.
/// Returns evaluated gradients (`x` empty).
template <class S, class DW, class DD, class DG>
inline lowrank_gaussian_grad<S> rsample_vjp(const lowrank_gaussian<S>& q,
                                            const Eigen::DenseBase<DW>& eps_factor,
                                            const Eigen::DenseBase<DD>& eps_diag,
                                            const Eigen::DenseBase<DG>& grad_z) {
  constexpr const char* fn = "latent::rsample_vjp(lowrank_gaussian)";
  check_rows(fn, "eps_factor", eps_factor, q.rank());
  check_rows(fn, "eps_diag", eps_diag, q.dim());
  check_cols(fn, "eps_diag", eps_diag, eps_factor.cols());
  check_rows(fn, "grad_z", grad_z, q.dim());
  check_cols(fn, "grad_z", grad_z, eps_factor.cols());
  using std::sqrt;
  lowrank_gaussian_grad<S> out;
  out.mean = grad_z.derived().matrix().rowwise().sum();
  out.cov_factor = grad_z.derived().matrix() * eps_factor.derived().matrix().transpose();
  out.log_cov_diag = (S(0.5) * q.cov_diag().array().sqrt() *
                      (grad_z.derived().array() * eps_diag.derived().array()).rowwise().sum())
                         .matrix();
  return out;
}

/// Vector-Jacobian product of log_prob(q, x) for the upstream row g (1 x B). With
/// \f$u_b = \Sigma^{-1}(x_b-\mu)\f$ (Woodbury) and \f$\partial\log N/\partial\Sigma =
/// \tfrac12(uu^\top - \Sigma^{-1})\f$ (Matrix Cookbook eqs. 57, 61), through
/// \f$\Sigma = WW^\top + \mathrm{diag}(d)\f$:
/// \f$\partial/\partial\mu = \sum_b g_b u_b = -\sum_b\partial/\partial x_b\f$,
/// \f$\partial/\partial W = \sum_b g_b u_b(u_b^\top W) - (\sum_b g_b)\Sigma^{-1}W\f$,
/// \f$\partial/\partial\log d_i = \tfrac{d_i}2(\sum_b g_b u_{ib}^2 - (\sum_b g_b)(\Sigma^{-1})_{ii})\f$.
/// O(D K (K + B)). Returns evaluated gradients.
template <class S, class DX, class DG>
inline lowrank_gaussian_grad<S> log_prob_vjp(const lowrank_gaussian<S>& q,
                                             const Eigen::DenseBase<DX>& x,
                                             const Eigen::DenseBase<DG>& grad) {
  constexpr const char* fn = "latent::log_prob_vjp(lowrank_gaussian)";
  check_rows(fn, "x", x, q.dim());
  detail::check_upstream_row<S>(fn, grad, x.cols());
  using M = typename lowrank_gaussian<S>::matrix_type;
  const row_x<S> g = grad.derived();
  const S gsum = g.sum();
  const M r = x.derived().matrix().colwise() - q.mean();
  const M u = detail::lowrank_solve(q, r);
  const M gu = (u.array().rowwise() * g).matrix();
  lowrank_gaussian_grad<S> out;
  out.x = -gu;
  out.mean = gu.rowwise().sum();
  out.cov_factor = gu * (u.transpose() * q.cov_factor()) - gsum * detail::lowrank_solve(q, q.cov_factor());
  out.log_cov_diag = (S(0.5) * q.cov_diag().array() *
                      ((gu.array() * u.array()).rowwise().sum() -
                       gsum * detail::lowrank_inverse_diagonal(q).array()))
                         .matrix();
  return out;
}

/// `n` samples (D x n) with fresh noise from `engine`. Returns an evaluated array.
template <class S>
inline array_xx<S> sample(const lowrank_gaussian<S>& q, Eigen::Index n, philox4x32& engine) {
  const array_xx<S> ew = randn<array_xx<S>>(q.rank(), n, engine);
  const array_xx<S> ed = randn<array_xx<S>>(q.dim(), n, engine);
  return rsample(q, ew, ed);
}
/// One sample (D x 1) with fresh noise from `engine`.
template <class S>
inline array_xx<S> sample(const lowrank_gaussian<S>& q, philox4x32& engine) {
  return sample(q, 1, engine);
}

}  // namespace latent
