// latent/core/math.hpp: numerically stable scalar and array functions.
//
// Scalar functions work for float, double and Eigen::AutoDiffScalar (Eigen 3.4 has no
// log1p/expm1 for AutoDiffScalar; latent's carry the exact derivative). Call them qualified
// (latent::log1p(x)) from templated code: a block-scope `using std::log1p;` would hide them.
// Array functions return Eigen expressions that fuse into the caller's loop.
#pragma once

#include <cmath>
#include <limits>
#include <type_traits>

#include <Eigen/Core>

#include "latent/core/check.hpp"
#include "latent/core/traits.hpp"

namespace latent {
namespace detail {

// Builds an AutoDiffScalar with value f(x) and derivative f'(x) * x.derivatives().
template <class T, class V, class D>
inline auto autodiff_chain(const T& x, const V& value, const D& dfdx) {
  using Der = typename Eigen::internal::remove_all<decltype(x.derivatives())>::type;
  using Plain = typename Der::PlainObject;
  return Eigen::AutoDiffScalar<Plain>(value, Plain(x.derivatives() * dfdx));
}

}  // namespace detail

/// \f$\log(1 + x)\f$, accurate for small |x|. Returns a scalar.
template <class T, enable_if_scalar_t<T> = 0>
inline auto log1p(const T& x) {
  if constexpr (is_autodiff_v<T>) {
    return detail::autodiff_chain(x, latent::log1p(x.value()), 1 / (1 + x.value()));
  } else {
    return std::log1p(x);
  }
}

/// \f$e^x - 1\f$, accurate for small |x|. Returns a scalar.
template <class T, enable_if_scalar_t<T> = 0>
inline auto expm1(const T& x) {
  if constexpr (is_autodiff_v<T>) {
    using std::exp;
    return detail::autodiff_chain(x, latent::expm1(x.value()), exp(x.value()));
  } else {
    return std::expm1(x);
  }
}

/// Logistic sigmoid \f$1 / (1 + e^{-x})\f$, evaluated without overflow on either side.
template <class T, enable_if_scalar_t<T> = 0>
inline auto sigmoid(const T& x) {
  if constexpr (is_autodiff_v<T>) {
    // sigma'(x) = sigma(x) sigma(-x): no cancellation in 1 - sigma(x) for large x.
    const auto v = x.value();
    return detail::autodiff_chain(x, latent::sigmoid(v), latent::sigmoid(v) * latent::sigmoid(-v));
  } else {
    using std::exp;
    if (x >= T(0)) return T(1) / (T(1) + exp(-x));
    const T e = exp(x);
    return e / (T(1) + e);
  }
}

/// Softplus \f$\log(1 + e^x) = \max(x, 0) + \log(1 + e^{-|x|})\f$: finite for every finite x,
/// exact to rounding at \f$x = \pm 100\f$. Derivative: sigmoid(x).
template <class T, enable_if_scalar_t<T> = 0>
inline auto softplus(const T& x) {
  if constexpr (is_autodiff_v<T>) {
    return detail::autodiff_chain(x, latent::softplus(x.value()), latent::sigmoid(x.value()));
  } else {
    using std::abs;
    using std::exp;
    return (x > T(0) ? x : T(0)) + std::log1p(exp(-abs(x)));
  }
}

/// \f$\log \sigma(x) = -\mathrm{softplus}(-x)\f$.
template <class T, enable_if_scalar_t<T> = 0>
inline auto log_sigmoid(const T& x) {
  if constexpr (is_autodiff_v<T>) {
    // Built directly: negating the AutoDiffScalar returned by softplus would keep a
    // reference to a temporary's derivatives.
    const auto v = x.value();
    return detail::autodiff_chain(x, latent::log_sigmoid(v), latent::sigmoid(-v));
  } else {
    return -latent::softplus(-x);
  }
}

/// \f$\mathrm{logit}(p) = \log p - \log(1 - p)\f$; \f$\pm\infty\f$ at 1 and 0, domain_error
/// outside [0, 1] or for NaN.
template <class T, enable_if_scalar_t<T> = 0>
inline auto logit(const T& p) {
  check_probability("latent::logit", "p", p);
  if constexpr (is_autodiff_v<T>) {
    const auto v = p.value();
    return detail::autodiff_chain(p, latent::logit(v), 1 / (v * (1 - v)));
  } else {
    using std::log;
    return log(p) - std::log1p(-p);
  }
}

// ---------------------------------------------------------------------------------------
// Array forms: expressions (vectorized by Eigen's packet math for float and double).

/// Element-wise softplus; returns an expression.
template <class Derived>
inline auto softplus(const Eigen::ArrayBase<Derived>& x) {
  using S = typename Derived::Scalar;
  if constexpr (is_autodiff_v<S>) {
    // Eigen 3.4 has no packet or scalar log1p for AutoDiffScalar: use the scalar rule.
    return x.derived().unaryExpr([](const S& v) { return S(latent::softplus(v)); });
  } else {
    return x.derived().max(S(0)) + (-x.derived().abs()).exp().log1p();
  }
}

/// Element-wise \f$\log\sigma(x)\f$; returns an expression.
template <class Derived>
inline auto log_sigmoid(const Eigen::ArrayBase<Derived>& x) {
  using S = typename Derived::Scalar;
  if constexpr (is_autodiff_v<S>) {
    return x.derived().unaryExpr([](const S& v) { return S(latent::log_sigmoid(v)); });
  } else {
    return x.derived().min(S(0)) - (-x.derived().abs()).exp().log1p();
  }
}

/// Element-wise sigmoid \f$\exp(\log\sigma(x))\f$; returns an expression. Never overflows,
/// and keeps full relative accuracy in the left tail (where \f$\tfrac12(1 + \tanh(x/2))\f$
/// would cancel to 0).
template <class Derived>
inline auto sigmoid(const Eigen::ArrayBase<Derived>& x) {
  return latent::log_sigmoid(x).exp();
}

/// Element-wise logit; returns an expression. Values outside [0, 1] give NaN (no check:
/// an expression cannot validate without a second pass; validate with check_probability).
template <class Derived>
inline auto logit(const Eigen::ArrayBase<Derived>& p) {
  using S = typename Derived::Scalar;
  if constexpr (is_autodiff_v<S>) {
    return p.derived().unaryExpr([](const S& v) {
      using std::log;
      return S(log(v) - latent::log1p(S(-v)));
    });
  } else {
    return p.derived().log() - (-p.derived()).log1p();
  }
}

/// Element-wise precision \f$e^{-\log\sigma^2}\f$ saturated at the largest finite value, so that
/// a zero residual times it is 0 rather than 0 * inf = NaN when the log-variance is below
/// about -88 (float) or -709 (double). Returns an expression.
template <class Derived>
inline auto saturated_precision(const Eigen::ArrayBase<Derived>& log_var) {
  using S = typename Derived::Scalar;
  if constexpr (is_autodiff_v<S>) {
    return (-log_var.derived()).exp();
  } else {
    return (-log_var.derived()).exp().min(std::numeric_limits<S>::max());
  }
}

// ---------------------------------------------------------------------------------------
// Reductions: scalars or evaluated rows.

/// \f$\log\sum_i e^{x_i}\f$ over every coefficient, shifted by the maximum so that large
/// magnitudes do not overflow. All \f$-\infty\f$ (or empty) gives \f$-\infty\f$; any
/// \f$+\infty\f$ gives \f$+\infty\f$; NaN propagates. Returns a scalar.
template <class Derived>
inline typename Derived::Scalar log_sum_exp(const Eigen::DenseBase<Derived>& x) {
  using S = typename Derived::Scalar;
  using std::exp;
  using std::isinf;
  using std::log;
  const auto& a = x.derived().array().eval();
  if (a.size() == 0) return S(-std::numeric_limits<double>::infinity());
  S m = a.coeff(0);
  bool nan = false;
  for (Eigen::Index i = 0; i < a.size(); ++i) {
    const double v = value_of(a.coeff(i));
    if (v != v) nan = true;
    if (v > value_of(m)) m = a.coeff(i);
  }
  if (nan) return S(std::numeric_limits<double>::quiet_NaN());
  const double mv = value_of(m);
  if (std::isinf(mv)) return m;  // all -inf, or some +inf
  S sum(0);
  for (Eigen::Index i = 0; i < a.size(); ++i) sum += exp(a.coeff(i) - m);
  return m + log(sum);
}

/// \f$\log\frac1n\sum_i e^{x_i}\f$; std::invalid_argument for an empty input. Returns a scalar.
template <class Derived>
inline typename Derived::Scalar log_mean_exp(const Eigen::DenseBase<Derived>& x) {
  using S = typename Derived::Scalar;
  using std::log;
  check_non_empty("latent::log_mean_exp", "x", x);
  return latent::log_sum_exp(x) - S(log(static_cast<double>(x.size())));
}

/// log_sum_exp of each column: a 1 x cols row (empty columns give \f$-\infty\f$).
template <class Derived>
inline Eigen::Array<typename Derived::Scalar, 1, Eigen::Dynamic> log_sum_exp_colwise(
    const Eigen::DenseBase<Derived>& x) {
  const auto& a = x.derived().array().eval();
  Eigen::Array<typename Derived::Scalar, 1, Eigen::Dynamic> out(a.cols());
  for (Eigen::Index j = 0; j < a.cols(); ++j) out(j) = latent::log_sum_exp(a.col(j));
  return out;
}

/// log_mean_exp of each column: a 1 x cols row; std::invalid_argument if there are no rows.
template <class Derived>
inline Eigen::Array<typename Derived::Scalar, 1, Eigen::Dynamic> log_mean_exp_colwise(
    const Eigen::DenseBase<Derived>& x) {
  using S = typename Derived::Scalar;
  using std::log;
  if (x.rows() == 0) {
    throw std::invalid_argument("latent::log_mean_exp_colwise: x has 0 rows, but must have at least one");
  }
  return latent::log_sum_exp_colwise(x) - S(log(static_cast<double>(x.rows())));
}

/// Per-column log-softmax \f$x_{ij} - \log\sum_k e^{x_{kj}}\f$: an evaluated array.
/// Computed as \f$(x_{ij} - m_j) - \log\sum_k e^{x_{kj} - m_j}\f$ with the column maximum
/// \f$m_j\f$, so large magnitudes cost no precision. A column of all \f$-\infty\f$ gives NaN
/// (no distribution), as in torch.
template <class Derived>
inline Eigen::Array<typename Derived::Scalar, Eigen::Dynamic, Eigen::Dynamic> log_softmax_colwise(
    const Eigen::DenseBase<Derived>& x) {
  using std::log;
  Eigen::Array<typename Derived::Scalar, Eigen::Dynamic, Eigen::Dynamic> out = x.derived().array();
  for (Eigen::Index j = 0; j < out.cols(); ++j) {
    if (out.rows() == 0) continue;
    auto col = out.col(j);
    col -= col.maxCoeff();
    col -= log(col.exp().sum());
  }
  return out;
}

/// Per-column softmax: an evaluated array whose columns sum to 1.
template <class Derived>
inline Eigen::Array<typename Derived::Scalar, Eigen::Dynamic, Eigen::Dynamic> softmax_colwise(
    const Eigen::DenseBase<Derived>& x) {
  using std::exp;
  return latent::log_softmax_colwise(x).unaryExpr([](const auto& v) { return exp(v); });
}

}  // namespace latent
