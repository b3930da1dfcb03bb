// Test helpers shared by the VAE-side tests (distributions, divergences, objectives):
// gradients of a scalar function of several arrays by Eigen::AutoDiffScalar and by central
// finite differences, for comparison with latent's analytic vector-Jacobian products.
#pragma once

#include <cmath>
#include <algorithm>
#include <functional>
#include <initializer_list>
#include <type_traits>
#include <utility>
#include <vector>

#include <Eigen/Core>
#include <unsupported/Eigen/AutoDiff>

namespace vae_test {

using ad = Eigen::AutoDiffScalar<Eigen::VectorXd>;
using arr = Eigen::ArrayXXd;
using ad_arr = Eigen::Array<ad, Eigen::Dynamic, Eigen::Dynamic>;

/// Lifts double arrays to AutoDiffScalar arrays whose derivative vectors index every
/// coefficient of every input, in order.
inline std::vector<ad_arr> ad_vars(const std::vector<arr>& in) {
  Eigen::Index n = 0;
  for (const auto& a : in) n += a.size();
  std::vector<ad_arr> out;
  Eigen::Index k = 0;
  for (const auto& a : in) {
    ad_arr v(a.rows(), a.cols());
    for (Eigen::Index i = 0; i < a.size(); ++i) v(i) = ad(a(i), n, k++);
    out.push_back(v);
  }
  return out;
}

/// Splits the derivative vector of an AD scalar back into arrays shaped like the inputs.
inline std::vector<arr> ad_grads(const ad& y, const std::vector<arr>& in) {
  std::vector<arr> out;
  Eigen::Index k = 0;
  for (const auto& a : in) {
    arr g(a.rows(), a.cols());
    for (Eigen::Index i = 0; i < a.size(); ++i) {
      g(i) = y.derivatives().size() ? y.derivatives()(k) : 0.0;
      ++k;
    }
    out.push_back(g);
  }
  return out;
}

/// Central finite differences of a scalar function of several double arrays.
inline std::vector<arr> fd_grads(const std::function<double(const std::vector<arr>&)>& f,
                                 const std::vector<arr>& in, double h = 1e-6) {
  std::vector<arr> out;
  for (std::size_t a = 0; a < in.size(); ++a) {
    arr g(in[a].rows(), in[a].cols());
    for (Eigen::Index i = 0; i < in[a].size(); ++i) {
      auto p = in, m = in;
      p[a](i) += h;
      m[a](i) -= h;
      g(i) = (f(p) - f(m)) / (2 * h);
    }
    out.push_back(g);
  }
  return out;
}

/// A D x B array from a list of B columns of length D.
template <class S = double>
inline Eigen::Array<S, Eigen::Dynamic, Eigen::Dynamic> from_cols(
    std::initializer_list<std::initializer_list<double>> cols) {
  const Eigen::Index b = static_cast<Eigen::Index>(cols.size());
  const Eigen::Index d = static_cast<Eigen::Index>(cols.begin()->size());
  Eigen::Array<S, Eigen::Dynamic, Eigen::Dynamic> out(d, b);
  Eigen::Index j = 0;
  for (const auto& c : cols) {
    Eigen::Index i = 0;
    for (double v : c) out(i++, j) = S(v);
    ++j;
  }
  return out;
}

/// Max absolute difference.
inline double max_abs_diff(const arr& a, const arr& b) { return (a - b).abs().maxCoeff(); }

/// Largest absolute differences between analytic gradients and (ad) the AutoDiffScalar
/// gradient and (fd) the central finite differences of the same scalar function f, a generic
/// callable of std::vector<array of S> run once with S = ad and once with S = double.
struct grad_errors {
  double ad = 0, fd = 0;
};
//
// f must return exactly `ad` for AutoDiffScalar inputs (write `return S(g * kl(...));`, not
// `return g * kl(...);`): Eigen's AutoDiffScalar arithmetic returns expressions that hold their
// operands' derivative vectors by reference, so an unconverted `g * f(...)` returned from a
// lambda reads the derivatives of a destroyed temporary (a stack-use-after-scope that gave
// wrong AD gradients here while the values, and so the finite differences, stayed right).
template <class F>
inline grad_errors grad_check(const std::vector<arr>& analytic, const std::vector<arr>& in, F f,
                              double h = 1e-6) {
  static_assert(std::is_same<decltype(f(std::declval<const std::vector<ad_arr>&>())), ad>::value,
                "grad_check: f must return the AutoDiffScalar type itself, not an expression of "
                "it (wrap the result in S(...))");
  static_assert(std::is_same<decltype(f(std::declval<const std::vector<arr>&>())), double>::value,
                "grad_check: f must return double for double inputs");
  const std::vector<arr> ga = ad_grads(f(ad_vars(in)), in);
  const std::vector<arr> gf = fd_grads([&](const std::vector<arr>& v) { return f(v); }, in, h);
  grad_errors e;
  for (std::size_t i = 0; i < in.size(); ++i) {
    e.ad = std::max(e.ad, max_abs_diff(analytic[i], ga[i]));
    e.fd = std::max(e.fd, max_abs_diff(analytic[i], gf[i]));
  }
  return e;
}

/// Lower-triangular part of a square array as a matrix (the parameters of a Cholesky factor;
/// the entries above the diagonal are not inputs, so their derivatives are 0).
/// Upper entries are multiplied by 0 rather than replaced by a constant, so that AutoDiffScalar
/// entries keep derivative vectors of one size (Eigen's AutoDiff asserts on mixed sizes in sums).
template <class A>
inline auto tril(const A& a) {
  using S = typename A::Scalar;
  Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic> m = a.matrix();
  for (Eigen::Index j = 1; j < m.cols(); ++j)
    for (Eigen::Index i = 0; i < j; ++i) m(i, j) = m(i, j) * 0.0;
  return m;
}
/// A column as an Eigen vector.
template <class A>
inline auto vec(const A& a) {
  using S = typename A::Scalar;
  return Eigen::Matrix<S, Eigen::Dynamic, 1>(a.matrix().col(0));
}

}  // namespace vae_test
