// latent/objectives/likelihoods.hpp: reconstruction terms log p(x | z) of a VAE decoder,
// per sample (D x B data, one sample per column), with analytic gradients.
//
//   Gaussian, fixed variance:   -||x - mu||^2 / (2 sigma^2) - D log sigma - D/2 log 2 pi
//   Gaussian, learned variance: diagonal Gaussian log-density (diag_gaussian_log_prob)
//   Bernoulli from logits l:    x l - softplus(l)          (= x log sigmoid(l) + (1-x) log sigmoid(-l))
//   Categorical from logits:    l[y] - log sum_k exp(l[k])
// Kingma & Welling 2014, appendix C (Bernoulli and Gaussian MLP decoders).
#pragma once

#include <stdexcept>
#include <string>
#include <type_traits>

#include <Eigen/Core>

#include "latent/core/check.hpp"
#include "latent/core/constants.hpp"
#include "latent/core/math.hpp"
#include "latent/core/traits.hpp"
#include "latent/distributions/diag_gaussian.hpp"

namespace latent {
namespace detail {
// Element-wise log(1 + e^{-|x|}) as an expression: the correction term of
// softplus(x) = max(x, 0) + log(1 + e^{-|x|}). Eigen 3.4 has no log1p for AutoDiffScalar, so
// there the scalar latent::log1p is mapped.
template <class Derived>
inline auto log1p_exp_neg_abs(const Eigen::ArrayBase<Derived>& x) {
  using S = typename Derived::Scalar;
  if constexpr (is_autodiff_v<S>) {
    return x.derived().unaryExpr([](const S& v) {
      using std::abs;
      using std::exp;
      return S(latent::log1p(exp(-abs(v))));
    });
  } else {
    return (-x.derived().abs()).exp().log1p();
  }
}
}  // namespace detail

/// Element-wise Gaussian log-likelihood with a fixed standard deviation sigma > 0:
/// \f$-\tfrac{(x-\mu)^2}{2\sigma^2} - \log\sigma - \tfrac12\log 2\pi\f$. Returns an expression.
/// Throws std::invalid_argument for different shapes, std::domain_error for a bad sigma.
template <class DX, class DM, class T>
inline auto gaussian_fixed_log_likelihood_elementwise(const Eigen::ArrayBase<DX>& x,
                                                      const Eigen::ArrayBase<DM>& mean,
                                                      const T& sigma) {
  using S = scalar_t<DX>;
  using std::log;
  constexpr const char* fn = "latent::gaussian_fixed_log_likelihood";
  check_same_shape(fn, "x", x, "mean", mean);
  check_positive(fn, "sigma", sigma);
  const S s(sigma);
  return (x.derived() - mean.derived()).square() * (S(-0.5) / (s * s)) -
         (log(s) + half_log_two_pi<S>());
}

/// Per-sample Gaussian log-likelihood with a fixed standard deviation:
/// \f$-\lVert x-\mu\rVert^2/(2\sigma^2) - D\log\sigma - \tfrac D2\log 2\pi\f$ (the squared-error
/// reconstruction term). One fused pass. Returns an evaluated 1 x B row.
template <class DX, class DM, class T>
inline row_x<scalar_t<DX>> gaussian_fixed_log_likelihood(const Eigen::ArrayBase<DX>& x,
                                                         const Eigen::ArrayBase<DM>& mean,
                                                         const T& sigma) {
  using S = scalar_t<DX>;
  using std::log;
  constexpr const char* fn = "latent::gaussian_fixed_log_likelihood";
  check_same_shape(fn, "x", x, "mean", mean);
  check_positive(fn, "sigma", sigma);
  const S s(sigma);
  const S c = -S(double(x.rows())) * (log(s) + half_log_two_pi<S>());
  return (x.derived() - mean.derived()).square().colwise().sum() * (S(-0.5) / (s * s)) + c;
}

/// VJP of gaussian_fixed_log_likelihood with respect to the mean, for an upstream 1 x B row g:
/// \f$g\,(x-\mu)/\sigma^2\f$. Returns an evaluated D x B array.
template <class DX, class DM, class T, class DG>
inline array_xx<scalar_t<DX>> gaussian_fixed_log_likelihood_vjp(const Eigen::ArrayBase<DX>& x,
                                                                 const Eigen::ArrayBase<DM>& mean,
                                                                 const T& sigma,
                                                                 const Eigen::ArrayBase<DG>& grad) {
  using S = scalar_t<DX>;
  constexpr const char* fn = "latent::gaussian_fixed_log_likelihood_vjp";
  check_same_shape(fn, "x", x, "mean", mean);
  check_positive(fn, "sigma", sigma);
  detail::check_upstream_row<S>(fn, grad, x.cols());
  const S s(sigma);
  const row_x<S> g = grad.derived();
  return ((x.derived() - mean.derived()) / (s * s)).rowwise() * g;
}

/// Per-sample Gaussian log-likelihood with a learned (per-element) log-variance: the
/// diagonal Gaussian log-density of x. Returns an evaluated 1 x B row.
template <class DX, class DM, class DL>
inline row_x<scalar_t<DX>> gaussian_log_likelihood(const Eigen::ArrayBase<DX>& x,
                                                   const Eigen::ArrayBase<DM>& mean,
                                                   const Eigen::ArrayBase<DL>& log_var) {
  return diag_gaussian_log_prob(x, mean, log_var);
}

/// VJP of gaussian_log_likelihood (gradients with respect to x, the mean and the
/// log-variance). Returns evaluated D x B arrays.
template <class DX, class DM, class DL, class DG>
inline log_prob_grad<scalar_t<DX>> gaussian_log_likelihood_vjp(
    const Eigen::ArrayBase<DX>& x, const Eigen::ArrayBase<DM>& mean,
    const Eigen::ArrayBase<DL>& log_var, const Eigen::ArrayBase<DG>& grad) {
  return diag_gaussian_log_prob_vjp(x, mean, log_var, grad);
}

/// Element-wise Bernoulli log-likelihood from logits, \f$x\,l - \mathrm{softplus}(l)\f$, which
/// equals \f$x\log\sigma(l) + (1-x)\log\sigma(-l)\f$ and is exact at \f$l = \pm 100\f$ (no
/// sigmoid is formed, and the exactly-cancelling parts \f$x\,l - \max(l, 0)\f$ are
/// grouped before the small correction \f$\log(1 + e^{-|l|})\f$ is subtracted, so that
/// x = 1, l = 100 gives \f$-\log(1 + e^{-100})\f$ rather than 0). x may be any value in [0, 1] (not checked: that would be a second
/// pass). Returns an expression.
template <class DX, class DL>
inline auto bernoulli_log_likelihood_elementwise(const Eigen::ArrayBase<DX>& x,
                                                 const Eigen::ArrayBase<DL>& logits) {
  check_same_shape("latent::bernoulli_log_likelihood", "x", x, "logits", logits);
  using S = scalar_t<DX>;
  return (x.derived() * logits.derived() - logits.derived().max(S(0))) -
         detail::log1p_exp_neg_abs(logits.derived());
}

/// Per-sample Bernoulli log-likelihood from logits (Kingma & Welling 2014, app. C.1).
/// Returns an evaluated 1 x B row.
template <class DX, class DL>
inline row_x<scalar_t<DX>> bernoulli_log_likelihood(const Eigen::ArrayBase<DX>& x,
                                                    const Eigen::ArrayBase<DL>& logits) {
  return bernoulli_log_likelihood_elementwise(x, logits).colwise().sum();
}

/// VJP of bernoulli_log_likelihood with respect to the logits: \f$g\,(x - \sigma(l))\f$.
/// Returns an evaluated D x B array.
template <class DX, class DL, class DG>
inline array_xx<scalar_t<DX>> bernoulli_log_likelihood_vjp(const Eigen::ArrayBase<DX>& x,
                                                           const Eigen::ArrayBase<DL>& logits,
                                                           const Eigen::ArrayBase<DG>& grad) {
  using S = scalar_t<DX>;
  constexpr const char* fn = "latent::bernoulli_log_likelihood_vjp";
  check_same_shape(fn, "x", x, "logits", logits);
  detail::check_upstream_row<S>(fn, grad, x.cols());
  const row_x<S> g = grad.derived();
  return (x.derived() - latent::sigmoid(logits.derived())).rowwise() * g;
}

namespace detail {
template <class DY>
inline void check_labels(const char* fn, const Eigen::DenseBase<DY>& labels, Eigen::Index k,
                         Eigen::Index b) {
  static_assert(std::is_integral<typename DY::Scalar>::value,
                "latent: categorical labels must be an integer Eigen vector");
  if (!(labels.rows() == 1 || labels.cols() == 1) || labels.size() != b) {
    throw_shape(fn, "labels is " + shape_string(labels.rows(), labels.cols()) +
                        ", but must be a vector of " + std::to_string(b) +
                        " labels (one per column of logits)");
  }
  for (Eigen::Index j = 0; j < b; ++j) {
    const auto y = labels.derived().coeff(j);
    if (y < 0 || y >= k) {
      throw std::domain_error(std::string(fn) + ": labels[" + std::to_string(j) + "] = " +
                              std::to_string(y) + " is out of range [0, " +
                              std::to_string(k - 1) + "]");
    }
  }
}
}  // namespace detail

/// Per-sample categorical log-likelihood of integer labels y (length B, each in [0, K)) under
/// the logits (K x B): \f$l_{y_b,b} - \log\sum_k e^{l_{k,b}}\f$, stable through the max shift.
/// Returns an evaluated 1 x B row. Throws std::invalid_argument for a wrong label count,
/// std::domain_error for a label out of range.
template <class DY, class DL>
inline row_x<scalar_t<DL>> categorical_log_likelihood(const Eigen::DenseBase<DY>& labels,
                                                      const Eigen::ArrayBase<DL>& logits) {
  using S = scalar_t<DL>;
  constexpr const char* fn = "latent::categorical_log_likelihood";
  check_non_empty(fn, "logits", logits);
  detail::check_labels(fn, labels, logits.rows(), logits.cols());
  const auto& l = logits.derived().eval();
  row_x<S> out(l.cols());
  for (Eigen::Index j = 0; j < l.cols(); ++j)
    out(j) = l(labels.derived().coeff(j), j) - latent::log_sum_exp(l.col(j));
  return out;
}

/// VJP of categorical_log_likelihood with respect to the logits:
/// \f$g_b(\mathrm{onehot}(y_b) - \mathrm{softmax}(l_{\cdot b}))\f$. Returns an evaluated K x B array.
template <class DY, class DL, class DG>
inline array_xx<scalar_t<DL>> categorical_log_likelihood_vjp(const Eigen::DenseBase<DY>& labels,
                                                             const Eigen::ArrayBase<DL>& logits,
                                                             const Eigen::ArrayBase<DG>& grad) {
  using S = scalar_t<DL>;
  constexpr const char* fn = "latent::categorical_log_likelihood_vjp";
  check_non_empty(fn, "logits", logits);
  detail::check_labels(fn, labels, logits.rows(), logits.cols());
  detail::check_upstream_row<S>(fn, grad, logits.cols());
  array_xx<S> out = -latent::softmax_colwise(logits.derived());
  for (Eigen::Index j = 0; j < out.cols(); ++j) out(labels.derived().coeff(j), j) += S(1);
  const row_x<S> g = grad.derived();
  out.rowwise() *= g;
  return out;
}

}  // namespace latent
