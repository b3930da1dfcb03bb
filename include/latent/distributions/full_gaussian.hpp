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
  // The constant is evaluated on its own: an AutoDiffScalar product of two constants is an
  // expression whose empty derivatives cannot be made coherent with log det's.
  const S norm = S(double(q.dim())) * log_two_pi<S>();
  const S c = S(-0.5) * (q.log_det_covariance() + norm);
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
/// Gradient of a scalar loss with respect to the parameters of a full_gaussian (and, for
/// log_prob, its points): `mean` (D), `scale_tril` (D x D, lower-triangular: entries above the
/// diagonal are not parameters and are 0), `x` (D x B; empty for rsample).
template <class S>
struct full_gaussian_grad {
  typename full_gaussian<S>::vector_type mean;
  typename full_gaussian<S>::matrix_type scale_tril;
  typename full_gaussian<S>::matrix_type x;
};

/// Vector-Jacobian product of rsample(q, eps) = \f$\mu + L\varepsilon\f$ for the upstream
/// gradient G = dloss/dz (D x B): \f$\partial/\partial\mu = \sum_b G_{:b}\f$,
/// \f$\partial/\partial L = \mathrm{tril}(G\varepsilon^\top)\f$ (the pathwise gradient,
/// Kingma & Welling 2014, sec. 2.4). Returns evaluated gradients (`x` empty).
template <class S, class DE, class DG>
inline full_gaussian_grad<S> rsample_vjp(const full_gaussian<S>& q, const Eigen::DenseBase<DE>& eps,
                                         const Eigen::DenseBase<DG>& grad_z) {
  constexpr const char* fn = "latent::rsample_vjp(full_gaussian)";
  check_rows(fn, "eps", eps, q.dim());
  check_rows(fn, "grad_z", grad_z, q.dim());
  check_cols(fn, "grad_z", grad_z, eps.cols());
  using M = typename full_gaussian<S>::matrix_type;
  const M g = grad_z.derived().matrix();
  full_gaussian_grad<S> out;
  out.mean = g.rowwise().sum();
  out.scale_tril = (g * eps.derived().matrix().transpose()).template triangularView<Eigen::Lower>();
  return out;
}

/// Vector-Jacobian product of log_prob(q, x) for the upstream row g (1 x B). With r = x - mu,
/// \f$y = L^{-1}r\f$ and \f$u = L^{-\top}y = \Sigma^{-1}r\f$ per column:
/// \f$\partial/\partial\mu = \sum_b g_b u_b = -\sum_b\partial/\partial x_b\f$,
/// \f$\partial/\partial L = \mathrm{tril}(\sum_b g_b u_b y_b^\top) - (\sum_b g_b)\,
/// \mathrm{diag}(1/L_{ii})\f$ (from \f$d(L^{-1}) = -L^{-1}\,dL\,L^{-1}\f$; Petersen & Pedersen,
/// "The Matrix Cookbook", eq. 59). Two triangular solves per batch. Returns evaluated gradients.
template <class S, class DX, class DG>
inline full_gaussian_grad<S> log_prob_vjp(const full_gaussian<S>& q, const Eigen::DenseBase<DX>& x,
                                          const Eigen::DenseBase<DG>& grad) {
  constexpr const char* fn = "latent::log_prob_vjp(full_gaussian)";
  check_rows(fn, "x", x, q.dim());
  detail::check_upstream_row<S>(fn, grad, x.cols());
  using M = typename full_gaussian<S>::matrix_type;
  const auto l = q.scale_tril().template triangularView<Eigen::Lower>();
  const M r = x.derived().matrix().colwise() - q.mean();
  const M y = l.solve(r);
  const M u = l.transpose().solve(y);
  const row_x<S> g = grad.derived();
  full_gaussian_grad<S> out;
  out.x = -(u.array().rowwise() * g).matrix();
  out.mean = -out.x.rowwise().sum();
  out.scale_tril = (-out.x * y.transpose()).template triangularView<Eigen::Lower>();
  out.scale_tril.diagonal() -= g.sum() * q.scale_tril().diagonal().cwiseInverse();
  return out;
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
