// latent/distributions/diag_gaussian.hpp: the diagonal Gaussian of a VAE encoder and the
// standard normal prior.
//
// A batch is D x B, one sample per column. Free functions take Eigen expressions and are
// the hot path (element-wise terms are expressions, per-sample sums are length-B rows);
// diag_gaussian<S> and standard_normal<S> are small validated value types whose non-member
// functions (log_prob, entropy, mean, mode, rsample, sample) forward to them.
//
// Gradients: every density and sampling function has an analytic vector-Jacobian product
// (`*_vjp`) with respect to the mean and the log-variance, so that a VAE can be trained with
// Eigen alone (the pathwise / reparameterization gradient of Kingma & Welling 2014, sec. 2.4).
#pragma once

#include <limits>
#include <stdexcept>
#include <string>

#include <Eigen/Core>

#include "latent/core/check.hpp"
#include "latent/core/constants.hpp"
#include "latent/core/math.hpp"
#include "latent/core/traits.hpp"
#include "latent/random/noise.hpp"

namespace latent {

/// Evaluated D x B array of scalar S.
template <class S>
using array_xx = Eigen::Array<S, Eigen::Dynamic, Eigen::Dynamic>;
/// Evaluated 1 x B row of scalar S (a per-sample reduction).
template <class S>
using row_x = Eigen::Array<S, 1, Eigen::Dynamic>;

/// Gradient of a scalar loss with respect to the mean and the log-variance of a diagonal
/// Gaussian (both D x B, evaluated).
template <class S>
struct mean_log_var_grad {
  array_xx<S> mean;
  array_xx<S> log_var;
};

/// Gradient of a loss through a log-density: with respect to the point x, the mean and the
/// log-variance (all D x B, evaluated).
template <class S>
struct log_prob_grad {
  array_xx<S> x;
  array_xx<S> mean;
  array_xx<S> log_var;
};

namespace detail {
template <class S, class Row>
inline void check_upstream_row(const char* fn, const Row& grad, Eigen::Index cols) {
  check_rows(fn, "grad", grad, 1);
  check_cols(fn, "grad", grad, cols);
}

/// saturated_precision through latent::exp_fast: \f$\min(e^{-\log\sigma^2}, \max S)\f$ for float
/// and double, the standard exp for AutoDiffScalar. Returns an expression.
template <class DL>
inline auto saturated_precision_fast(const Eigen::ArrayBase<DL>& log_var) {
  using S = scalar_t<DL>;
  if constexpr (is_autodiff_v<S>) {
    return saturated_precision(log_var);
  } else {
    return exp_fast(-log_var.derived()).min(std::numeric_limits<S>::max());
  }
}
}  // namespace detail

// ---------------------------------------------------------------------------------------
// Free functions (hot path)

/// Reparameterized sample \f$z = \mu + e^{\log\sigma^2/2}\,\varepsilon\f$ for given noise
/// \f$\varepsilon\f$ (Kingma & Welling 2014, eq. 10). Returns an expression (D x B).
/// Throws std::invalid_argument if the shapes differ.
template <class DM, class DL, class DE>
inline auto diag_gaussian_rsample(const Eigen::ArrayBase<DM>& mean,
                                  const Eigen::ArrayBase<DL>& log_var,
                                  const Eigen::ArrayBase<DE>& eps) {
  using S = scalar_t<DM>;
  check_same_shape("latent::diag_gaussian_rsample", "mean", mean, "log_var", log_var);
  check_same_shape("latent::diag_gaussian_rsample", "mean", mean, "eps", eps);
  return mean.derived() + exp_fast(S(0.5) * log_var.derived()) * eps.derived();
}

/// Draws \f$z = \mu + \sigma\varepsilon\f$ with fresh noise \f$\varepsilon \sim \mathcal N(0, I)\f$
/// from `engine`; equal to diag_gaussian_rsample(mean, log_var, randn_like(mean, engine)).
/// Returns an evaluated D x B array.
template <class DM, class DL>
inline array_xx<scalar_t<DM>> diag_gaussian_sample(const Eigen::ArrayBase<DM>& mean,
                                                   const Eigen::ArrayBase<DL>& log_var,
                                                   philox4x32& engine) {
  check_same_shape("latent::diag_gaussian_sample", "mean", mean, "log_var", log_var);
  return diag_gaussian_rsample(mean, log_var, randn_like(mean, engine));
}

/// Vector-Jacobian product of diag_gaussian_rsample: for an upstream gradient
/// \f$g = \partial L/\partial z\f$, \f$\partial L/\partial\mu = g\f$ and
/// \f$\partial L/\partial\log\sigma^2 = g\,\tfrac12 e^{\log\sigma^2/2}\varepsilon\f$
/// (the pathwise gradient). Returns evaluated D x B arrays.
template <class DL, class DE, class DG>
inline mean_log_var_grad<scalar_t<DL>> diag_gaussian_rsample_vjp(
    const Eigen::ArrayBase<DL>& log_var, const Eigen::ArrayBase<DE>& eps,
    const Eigen::ArrayBase<DG>& grad_z) {
  using S = scalar_t<DL>;
  check_same_shape("latent::diag_gaussian_rsample_vjp", "log_var", log_var, "eps", eps);
  check_same_shape("latent::diag_gaussian_rsample_vjp", "log_var", log_var, "grad_z", grad_z);
  mean_log_var_grad<S> g;
  g.mean = grad_z.derived();
  g.log_var = grad_z.derived() * S(0.5) * (S(0.5) * log_var.derived()).exp() * eps.derived();
  return g;
}

/// Element-wise Gaussian log-density
/// \f$-\tfrac12\big((x-\mu)^2 e^{-\log\sigma^2} + \log\sigma^2 + \log 2\pi\big)\f$.
/// Returns an expression (D x B). Throws std::invalid_argument if the shapes differ.
template <class DX, class DM, class DL>
inline auto diag_gaussian_log_prob_elementwise(const Eigen::ArrayBase<DX>& x,
                                               const Eigen::ArrayBase<DM>& mean,
                                               const Eigen::ArrayBase<DL>& log_var) {
  using S = scalar_t<DX>;
  check_same_shape("latent::diag_gaussian_log_prob", "x", x, "mean", mean);
  check_same_shape("latent::diag_gaussian_log_prob", "x", x, "log_var", log_var);
  // The precision saturates at the largest finite value: x = mu with log_var = -1e4 gives the
  // finite 5000 - log(2 pi)/2 instead of 0 * inf = NaN.
  return S(-0.5) * ((x.derived() - mean.derived()).square() *
                        detail::saturated_precision_fast(log_var) +
                    log_var.derived() + log_two_pi<S>());
}

/// Per-sample log-density of a diagonal Gaussian,
/// \f$\log q(x_b) = -\tfrac12\sum_d\big((x-\mu)^2/\sigma^2 + \log\sigma^2 + \log 2\pi\big)\f$.
/// One fused pass (with latent::exp_fast). Returns an evaluated 1 x B row.
template <class DX, class DM, class DL>
inline row_x<scalar_t<DX>> diag_gaussian_log_prob(const Eigen::ArrayBase<DX>& x,
                                                  const Eigen::ArrayBase<DM>& mean,
                                                  const Eigen::ArrayBase<DL>& log_var) {
  using S = scalar_t<DX>;
  check_same_shape("latent::diag_gaussian_log_prob", "x", x, "mean", mean);
  check_same_shape("latent::diag_gaussian_log_prob", "x", x, "log_var", log_var);
  // The constant is added once per sample, not once per element.
  const S c = S(-0.5) * S(double(x.rows())) * log_two_pi<S>();
  return S(-0.5) * ((x.derived() - mean.derived()).square() *
                        detail::saturated_precision_fast(log_var) +
                    log_var.derived())
                       .colwise()
                       .sum() +
         c;
}

/// Vector-Jacobian product of diag_gaussian_log_prob for an upstream 1 x B row g:
/// \f$\partial/\partial x = -g\,(x-\mu)e^{-\log\sigma^2}\f$,
/// \f$\partial/\partial\mu = g\,(x-\mu)e^{-\log\sigma^2}\f$,
/// \f$\partial/\partial\log\sigma^2 = \tfrac{g}{2}\big((x-\mu)^2 e^{-\log\sigma^2} - 1\big)\f$.
/// Returns evaluated D x B arrays.
template <class DX, class DM, class DL, class DG>
inline log_prob_grad<scalar_t<DX>> diag_gaussian_log_prob_vjp(
    const Eigen::ArrayBase<DX>& x, const Eigen::ArrayBase<DM>& mean,
    const Eigen::ArrayBase<DL>& log_var, const Eigen::ArrayBase<DG>& grad) {
  using S = scalar_t<DX>;
  constexpr const char* fn = "latent::diag_gaussian_log_prob_vjp";
  check_same_shape(fn, "x", x, "mean", mean);
  check_same_shape(fn, "x", x, "log_var", log_var);
  detail::check_upstream_row<S>(fn, grad, x.cols());
  log_prob_grad<S> g;
  const row_x<S> gr = grad.derived();
  g.mean = ((x.derived() - mean.derived()) * (-log_var.derived()).exp()).rowwise() * gr;
  g.x = -g.mean;
  g.log_var = (S(0.5) * ((x.derived() - mean.derived()).square() * (-log_var.derived()).exp() -
                         S(1)))
                  .rowwise() *
              gr;
  return g;
}

/// Per-sample entropy \f$\tfrac12\sum_d(\log\sigma^2 + 1 + \log 2\pi)\f$. Returns an
/// evaluated 1 x B row.
template <class DL>
inline row_x<scalar_t<DL>> diag_gaussian_entropy(const Eigen::ArrayBase<DL>& log_var) {
  using S = scalar_t<DL>;
  const S c = S(0.5) * S(double(log_var.rows())) * (S(1) + log_two_pi<S>());
  return (S(0.5) * log_var.derived()).colwise().sum() + c;
}

/// Vector-Jacobian product of diag_gaussian_entropy: \f$\partial/\partial\log\sigma^2 = g/2\f$
/// broadcast down each column. Returns an evaluated D x B array.
template <class DL, class DG>
inline array_xx<scalar_t<DL>> diag_gaussian_entropy_vjp(const Eigen::ArrayBase<DL>& log_var,
                                                        const Eigen::ArrayBase<DG>& grad) {
  using S = scalar_t<DL>;
  detail::check_upstream_row<S>("latent::diag_gaussian_entropy_vjp", grad, log_var.cols());
  return (S(0.5) * grad.derived()).replicate(log_var.rows(), 1);
}

/// Per-sample standard normal log-density \f$-\tfrac12\sum_d (x^2 + \log 2\pi)\f$. Returns
/// an evaluated 1 x B row.
template <class DX>
inline row_x<scalar_t<DX>> standard_normal_log_prob(const Eigen::ArrayBase<DX>& x) {
  using S = scalar_t<DX>;
  const S c = S(-0.5) * S(double(x.rows())) * log_two_pi<S>();
  return (S(-0.5) * x.derived().square()).colwise().sum() + c;
}

// ---------------------------------------------------------------------------------------
// Value types

/// Diagonal Gaussian \f$\mathcal N(\mu, \mathrm{diag}(e^{\log\sigma^2}))\f$ over a D x B
/// batch (column b is its own distribution). Holds evaluated mean and log-variance.
/// Constructors validate: same shape, finite mean and log-variance, positive finite scale.
template <class S>
class diag_gaussian {
 public:
  using scalar_type = S;
  using array_type = array_xx<S>;

  /// From the mean and the log-variance (the usual encoder outputs).
  template <class DM, class DL>
  diag_gaussian(const Eigen::ArrayBase<DM>& mean, const Eigen::ArrayBase<DL>& log_var)
      : mean_(validated_mean(mean, log_var, "latent::diag_gaussian")), log_var_(log_var) {
    check_finite("latent::diag_gaussian", "log_var", log_var_);
  }

  /// From the mean and the log-variance.
  template <class DM, class DL>
  static diag_gaussian from_log_var(const Eigen::ArrayBase<DM>& mean,
                                    const Eigen::ArrayBase<DL>& log_var) {
    return diag_gaussian(mean, log_var);
  }
  /// From the mean and the standard deviation (positive and finite).
  template <class DM, class DS>
  static diag_gaussian from_std(const Eigen::ArrayBase<DM>& mean,
                                const Eigen::ArrayBase<DS>& stddev) {
    check_same_shape("latent::diag_gaussian::from_std", "mean", mean, "stddev", stddev);
    check_positive("latent::diag_gaussian::from_std", "stddev", stddev.derived());
    return diag_gaussian(mean, S(2) * stddev.derived().log());
  }
  /// From the mean and the log standard deviation (finite).
  template <class DM, class DS>
  static diag_gaussian from_log_std(const Eigen::ArrayBase<DM>& mean,
                                    const Eigen::ArrayBase<DS>& log_std) {
    check_same_shape("latent::diag_gaussian::from_log_std", "mean", mean, "log_std", log_std);
    check_finite("latent::diag_gaussian::from_log_std", "log_std", log_std.derived());
    return diag_gaussian(mean, S(2) * log_std.derived());
  }

  const array_type& mean() const { return mean_; }
  const array_type& log_var() const { return log_var_; }
  /// \f$\sigma = e^{\log\sigma^2/2}\f$: an expression.
  auto stddev() const { return (S(0.5) * log_var_).exp(); }
  /// \f$\sigma^2\f$: an expression.
  auto variance() const { return log_var_.exp(); }
  Eigen::Index dim() const { return mean_.rows(); }
  Eigen::Index batch() const { return mean_.cols(); }

 private:
  template <class DM, class DL>
  static const DM& validated_mean(const Eigen::ArrayBase<DM>& mean,
                                  const Eigen::ArrayBase<DL>& log_var, const char* fn) {
    check_same_shape(fn, "mean", mean, "log_var", log_var);
    check_finite(fn, "mean", mean.derived());
    return mean.derived();
  }
  array_type mean_;
  array_type log_var_;
};

template <class DM, class DL>
diag_gaussian(const Eigen::ArrayBase<DM>&, const Eigen::ArrayBase<DL>&)
    -> diag_gaussian<scalar_t<DM>>;

/// Standard normal \f$\mathcal N(0, I_D)\f$ in D dimensions (the VAE prior).
template <class S>
class standard_normal {
 public:
  using scalar_type = S;
  explicit standard_normal(Eigen::Index dim) : dim_(dim) {
    if (dim < 1) {
      throw std::invalid_argument("latent::standard_normal: dim = " + std::to_string(dim) +
                                  ", but must be at least 1");
    }
  }
  Eigen::Index dim() const { return dim_; }

 private:
  Eigen::Index dim_;
};

/// Per-sample log-density of each column of x. Returns an evaluated 1 x B row.
template <class S, class DX>
inline row_x<S> log_prob(const diag_gaussian<S>& q, const Eigen::ArrayBase<DX>& x) {
  return diag_gaussian_log_prob(x, q.mean(), q.log_var());
}
/// Per-sample entropy. Returns an evaluated 1 x B row.
template <class S>
inline row_x<S> entropy(const diag_gaussian<S>& q) {
  return diag_gaussian_entropy(q.log_var());
}
/// The mean (D x B, a reference to the stored array).
template <class S>
inline const array_xx<S>& mean(const diag_gaussian<S>& q) { return q.mean(); }
/// The mode, equal to the mean.
template <class S>
inline const array_xx<S>& mode(const diag_gaussian<S>& q) { return q.mean(); }
/// Reparameterized sample for given noise eps (D x B): an expression.
template <class S, class DE>
inline auto rsample(const diag_gaussian<S>& q, const Eigen::ArrayBase<DE>& eps) {
  return diag_gaussian_rsample(q.mean(), q.log_var(), eps);
}

/// Sample with fresh noise from `engine`. Returns an evaluated D x B array.
template <class S>
inline array_xx<S> sample(const diag_gaussian<S>& q, philox4x32& engine) {
  return diag_gaussian_sample(q.mean(), q.log_var(), engine);
}

/// Per-sample log-density of each column of x (x must have dim() rows). Returns an
/// evaluated 1 x B row.
template <class S, class DX>
inline row_x<S> log_prob(const standard_normal<S>& p, const Eigen::ArrayBase<DX>& x) {
  check_rows("latent::log_prob(standard_normal)", "x", x, p.dim());
  return standard_normal_log_prob(x);
}
/// Entropy \f$\tfrac D2(1 + \log 2\pi)\f$: a scalar.
template <class S>
inline S entropy(const standard_normal<S>& p) {
  return S(0.5) * S(double(p.dim())) * (S(1) + log_two_pi<S>());
}
/// The mean, zero: an expression of shape D x 1.
template <class S>
inline auto mean(const standard_normal<S>& p) {
  return Eigen::Array<S, Eigen::Dynamic, 1>::Zero(p.dim());
}
/// The mode, zero: an expression of shape D x 1.
template <class S>
inline auto mode(const standard_normal<S>& p) { return mean(p); }
/// Reparameterized sample: the noise itself (checked to have dim() rows). Returns an
/// expression referring to eps.
template <class S, class DE>
inline const DE& rsample(const standard_normal<S>& p, const Eigen::ArrayBase<DE>& eps) {
  check_rows("latent::rsample(standard_normal)", "eps", eps, p.dim());
  return eps.derived();
}

/// `cols` independent draws (a dim() x cols array) from `engine`. Returns an evaluated array.
template <class S>
inline array_xx<S> sample(const standard_normal<S>& p, Eigen::Index cols, philox4x32& engine) {
  if (cols < 0) {
    throw std::invalid_argument("latent::sample(standard_normal): cols = " + std::to_string(cols) +
                                ", but must be non-negative");
  }
  return randn<array_xx<S>>(p.dim(), cols, engine);
}

}  // namespace latent
