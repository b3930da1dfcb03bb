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
  const S c = S(-0.5) * (q.log_det_covariance() + S(double(q.dim())) * log_two_pi<S>());
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
