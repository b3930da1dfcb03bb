// latent/distributions/full_gaussian.hpp: a multivariate Gaussian with full covariance held
// by its lower Cholesky factor, Sigma = L L^T (one distribution; points in the D x B batch
// are its columns).
//
// log N(x; mu, L L^T) = -1/2 ||L^{-1}(x - mu)||^2 - sum_i log L_ii - D/2 log 2 pi, with one
// triangular solve per batch (Murphy, "Probabilistic Machine Learning", eq. 3.1 with the
// Cholesky log-determinant; the form used by torch.distributions.MultivariateNormal).
#pragma once

#include <string>

#include <Eigen/Cholesky>
#include <Eigen/Core>

#include "latent/core/check.hpp"
#include "latent/core/constants.hpp"
#include "latent/core/traits.hpp"
#include "latent/distributions/diag_gaussian.hpp"
#include "latent/random/noise.hpp"

namespace latent {
namespace detail {
/// Checks that v is a non-empty vector (either orientation) and returns it as a column.
template <class S, class D>
inline Eigen::Matrix<S, Eigen::Dynamic, 1> as_column(const char* fn, const char* name,
                                                     const Eigen::MatrixBase<D>& v) {
  if (v.size() == 0 || (v.rows() != 1 && v.cols() != 1)) {
    throw_shape(fn, std::string(name) + " is " + shape_string(v.rows(), v.cols()) +
                        ", but must be a non-empty vector");
  }
  return v.cols() == 1 ? Eigen::Matrix<S, Eigen::Dynamic, 1>(v)
                       : Eigen::Matrix<S, Eigen::Dynamic, 1>(v.transpose());
}
}  // namespace detail

/// \f$\mathcal N(\mu, LL^\top)\f$ with L lower-triangular with a positive diagonal.
/// Constructors validate: L square with as many rows as mu, finite, zero above the diagonal,
/// positive diagonal.
template <class S>
class full_gaussian {
 public:
  using scalar_type = S;
  using vector_type = Eigen::Matrix<S, Eigen::Dynamic, 1>;
  using matrix_type = Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic>;

  /// From the mean (a D-vector) and the lower Cholesky factor L of the covariance.
  template <class DM, class DL>
  full_gaussian(const Eigen::MatrixBase<DM>& mean, const Eigen::MatrixBase<DL>& scale_tril)
      : mean_(detail::as_column<S>("latent::full_gaussian", "mean", mean)), l_(scale_tril) {
    constexpr const char* fn = "latent::full_gaussian";
    check_square(fn, "scale_tril", l_);
    check_rows(fn, "scale_tril", l_, mean_.rows());
    check_finite(fn, "mean", mean_);
    check_finite(fn, "scale_tril", l_);
    for (Eigen::Index j = 1; j < l_.cols(); ++j)
      for (Eigen::Index i = 0; i < j; ++i)
        if (value_of(l_(i, j)) != 0) {
          detail::throw_domain(fn, "scale_tril(" + std::to_string(i) + ", " + std::to_string(j) + ")",
                               detail::format_value(value_of(l_(i, j))),
                               "0 (scale_tril must be lower-triangular)");
        }
    for (Eigen::Index i = 0; i < l_.rows(); ++i)
      if (!(value_of(l_(i, i)) > 0)) {
        detail::throw_domain(fn, "scale_tril(" + std::to_string(i) + ", " + std::to_string(i) + ")",
                             detail::format_value(value_of(l_(i, i))),
                             "positive (the diagonal of a Cholesky factor)");
      }
  }

  /// From a symmetric positive-definite covariance (factored by LLT; std::domain_error if the
  /// factorization fails).
  template <class DM, class DC>
  static full_gaussian from_covariance(const Eigen::MatrixBase<DM>& mean,
                                       const Eigen::MatrixBase<DC>& covariance) {
    constexpr const char* fn = "latent::full_gaussian::from_covariance";
    check_square(fn, "covariance", covariance);
    check_finite(fn, "covariance", covariance.derived());
    Eigen::LLT<matrix_type> llt{matrix_type(covariance)};
    if (llt.info() != Eigen::Success) {
      throw std::domain_error(std::string(fn) + ": covariance is not positive definite");
    }
    return full_gaussian(mean, matrix_type(llt.matrixL()));
  }

  const vector_type& mean() const { return mean_; }
  const matrix_type& scale_tril() const { return l_; }
  /// \f$LL^\top\f$, evaluated.
  matrix_type covariance() const { return l_ * l_.transpose(); }
  /// \f$\log\det\Sigma = 2\sum_i\log L_{ii}\f$.
  S log_det_covariance() const { return S(2) * l_.diagonal().array().log().sum(); }
  Eigen::Index dim() const { return mean_.rows(); }

 private:
  vector_type mean_;
  matrix_type l_;
};

template <class DM, class DL>
full_gaussian(const Eigen::MatrixBase<DM>&, const Eigen::MatrixBase<DL>&)
    -> full_gaussian<scalar_t<DM>>;

/// Per-sample log-density of each column of x (D x B, array or matrix):
/// \f$-\tfrac12\lVert L^{-1}(x-\mu)\rVert^2 - \sum_i\log L_{ii} - \tfrac D2\log 2\pi\f$.
/// Returns an evaluated 1 x B row.
template <class S, class DX>
inline row_x<S> log_prob(const full_gaussian<S>& q, const Eigen::DenseBase<DX>& x) {
  check_rows("latent::log_prob(full_gaussian)", "x", x, q.dim());
  const Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic> r =
      x.derived().matrix().colwise() - q.mean();
  const Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic> y =
      q.scale_tril().template triangularView<Eigen::Lower>().solve(r);
  const S c = S(-0.5) * (q.log_det_covariance() + S(double(q.dim())) * log_two_pi<S>());
  return (S(-0.5) * y.array().square().colwise().sum()) + c;
}
/// Entropy \f$\tfrac D2(1 + \log 2\pi) + \tfrac12\log\det\Sigma\f$: a scalar.
template <class S>
inline S entropy(const full_gaussian<S>& q) {
  return S(0.5) * (S(double(q.dim())) * (S(1) + log_two_pi<S>()) + q.log_det_covariance());
}
/// The mean (a D-vector, by reference).
template <class S>
inline const typename full_gaussian<S>::vector_type& mean(const full_gaussian<S>& q) {
  return q.mean();
}
/// The mode, equal to the mean.
template <class S>
inline const typename full_gaussian<S>::vector_type& mode(const full_gaussian<S>& q) {
  return q.mean();
}
/// Reparameterized samples \f$z = \mu + L\varepsilon\f$ for given noise (D x B). Returns an
/// evaluated D x B array.
template <class S, class DE>
inline array_xx<S> rsample(const full_gaussian<S>& q, const Eigen::DenseBase<DE>& eps) {
  check_rows("latent::rsample(full_gaussian)", "eps", eps, q.dim());
  return ((q.scale_tril().template triangularView<Eigen::Lower>() * eps.derived().matrix())
              .colwise() +
          q.mean())
      .array();
}
/// `n` samples (D x n) with fresh noise from `engine`. Returns an evaluated array.
template <class S>
inline array_xx<S> sample(const full_gaussian<S>& q, Eigen::Index n, philox4x32& engine) {
  return rsample(q, randn<array_xx<S>>(q.dim(), n, engine));
}
/// One sample (D x 1) with fresh noise from `engine`.
template <class S>
inline array_xx<S> sample(const full_gaussian<S>& q, philox4x32& engine) {
  return sample(q, 1, engine);
}

}  // namespace latent
