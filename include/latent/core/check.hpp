// latent/core/check.hpp: always-on argument checks.
//
// Every public function of latent validates its arguments with these helpers, in every
// build (they are not eigen_assert, which NDEBUG removes). Shape problems throw
// std::invalid_argument, bad values throw std::domain_error, and the message names the
// function, the argument, the offending value (and index) and what it must be, e.g.
//
//     latent::kl_divergence: log_var[3] is nan, but must be finite
//     latent::ddpm_step: t = 1000 is out of range [0, 999]
//
// `function` is the full public name ("latent::ddpm_step"); `name` is the argument.
// Checks over whole arrays are meant for parameters (schedules, weights, per-sample
// vectors), not for the D x B data of a hot loop.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <string>
#include <type_traits>

#include <Eigen/Core>

#include "latent/core/traits.hpp"

namespace latent {
namespace detail {

/// Shortest decimal that reads back as the same double; "nan", "inf", "-inf" otherwise.
inline std::string format_value(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  for (int precision = 6; precision <= 17; ++precision) {
    std::ostringstream os;
    os.precision(precision);
    os << v;
    // strtod, not stod: stod throws out_of_range on subnormals.
    if (std::strtod(os.str().c_str(), nullptr) == v) return os.str();
  }
  std::ostringstream os;
  os.precision(17);
  os << v;
  return os.str();
}

template <class T>
inline std::string format_value_of(const T& v) {
  if constexpr (std::is_integral<T>::value) {
    return std::to_string(v);
  } else {
    return format_value(value_of(v));
  }
}

/// "x[3]" for vectors, "x(2, 5)" for matrices.
template <class Derived>
inline std::string element_name(const char* name, const Eigen::DenseBase<Derived>& x,
                                Eigen::Index i, Eigen::Index j) {
  std::ostringstream os;
  if (Derived::IsVectorAtCompileTime || x.rows() == 1 || x.cols() == 1) {
    os << name << '[' << (x.cols() == 1 ? i : j) << ']';
  } else {
    os << name << '(' << i << ", " << j << ')';
  }
  return os.str();
}

[[noreturn]] inline void throw_domain(const char* function, const std::string& what,
                                      const std::string& value, const std::string& must) {
  throw std::domain_error(std::string(function) + ": " + what + " is " + value +
                          ", but must be " + must);
}

[[noreturn]] inline void throw_shape(const char* function, const std::string& message) {
  throw std::invalid_argument(std::string(function) + ": " + message);
}

inline std::string shape_string(Eigen::Index rows, Eigen::Index cols) {
  return std::to_string(rows) + " x " + std::to_string(cols);
}

/// Applies pred to every coefficient of x (column-major); on the first failure throws a
/// domain_error naming that element.
template <class Derived, class Pred>
inline void check_each(const char* function, const char* name,
                       const Eigen::DenseBase<Derived>& x, Pred pred, const char* must) {
  const auto& xe = x.derived().eval();
  for (Eigen::Index j = 0; j < xe.cols(); ++j) {
    for (Eigen::Index i = 0; i < xe.rows(); ++i) {
      const double v = value_of(xe.coeff(i, j));
      if (!pred(v)) throw_domain(function, element_name(name, x, i, j), format_value(v), must);
    }
  }
}

}  // namespace detail

// ---------------------------------------------------------------------------------------
// Values (std::domain_error)

/// Throws std::domain_error unless the scalar is finite.
template <class T, enable_if_scalar_t<T> = 0>
inline void check_finite(const char* function, const char* name, const T& x) {
  const double v = value_of(x);
  if (!std::isfinite(v)) detail::throw_domain(function, name, detail::format_value(v), "finite");
}
/// Throws std::domain_error naming the first non-finite coefficient.
template <class Derived>
inline void check_finite(const char* function, const char* name,
                         const Eigen::DenseBase<Derived>& x) {
  detail::check_each(function, name, x, [](double v) { return std::isfinite(v); }, "finite");
}

/// Throws std::domain_error unless the scalar is finite and > 0.
template <class T, enable_if_scalar_t<T> = 0>
inline void check_positive(const char* function, const char* name, const T& x) {
  const double v = value_of(x);
  if (!(v > 0) || !std::isfinite(v))
    detail::throw_domain(function, name, detail::format_value(v), "positive and finite");
}
template <class Derived>
inline void check_positive(const char* function, const char* name,
                           const Eigen::DenseBase<Derived>& x) {
  detail::check_each(function, name, x, [](double v) { return v > 0 && std::isfinite(v); },
                     "positive and finite");
}

/// Throws std::domain_error unless the scalar is finite and >= 0.
template <class T, enable_if_scalar_t<T> = 0>
inline void check_nonnegative(const char* function, const char* name, const T& x) {
  const double v = value_of(x);
  if (!(v >= 0) || !std::isfinite(v))
    detail::throw_domain(function, name, detail::format_value(v), "non-negative and finite");
}
template <class Derived>
inline void check_nonnegative(const char* function, const char* name,
                              const Eigen::DenseBase<Derived>& x) {
  detail::check_each(function, name, x, [](double v) { return v >= 0 && std::isfinite(v); },
                     "non-negative and finite");
}

/// Throws std::domain_error unless lo <= x <= hi (closed interval; NaN fails).
template <class T, class L, class H,
          enable_if_scalar_t<T> = 0>
inline void check_in_range(const char* function, const char* name, const T& x, const L& lo,
                           const H& hi) {
  const double v = value_of(x);
  if (!(v >= value_of(lo) && v <= value_of(hi))) {
    const std::string value = detail::format_value_of(x);
    throw std::domain_error(std::string(function) + ": " + name + " = " + value +
                            " is out of range [" + detail::format_value_of(lo) + ", " +
                            detail::format_value_of(hi) + "]");
  }
}
template <class Derived, class L, class H>
inline void check_in_range(const char* function, const char* name,
                           const Eigen::DenseBase<Derived>& x, const L& lo, const H& hi) {
  const double l = value_of(lo), h = value_of(hi);
  const std::string must = "in [" + detail::format_value_of(lo) + ", " +
                           detail::format_value_of(hi) + "]";
  detail::check_each(function, name, x, [l, h](double v) { return v >= l && v <= h; },
                     must.c_str());
}

/// Throws std::domain_error unless 0 <= x <= 1.
template <class T, enable_if_scalar_t<T> = 0>
inline void check_probability(const char* function, const char* name, const T& x) {
  const double v = value_of(x);
  if (!(v >= 0 && v <= 1))
    detail::throw_domain(function, name, detail::format_value(v), "a probability in [0, 1]");
}
template <class Derived>
inline void check_probability(const char* function, const char* name,
                              const Eigen::DenseBase<Derived>& x) {
  detail::check_each(function, name, x, [](double v) { return v >= 0 && v <= 1; },
                     "a probability in [0, 1]");
}

/// Throws std::domain_error unless an index lies in [0, size - 1]:
/// "latent::ddpm_step: t = 1000 is out of range [0, 999]".
template <class I>
inline void check_index(const char* function, const char* name, I index, std::int64_t size) {
  static_assert(std::is_integral<I>::value, "latent::check_index: the index must be integral");
  const auto i = static_cast<std::int64_t>(index);
  if (i < 0 || i >= size) {
    throw std::domain_error(std::string(function) + ": " + name + " = " + std::to_string(i) +
                            " is out of range [0, " + std::to_string(size - 1) + "]");
  }
}

// ---------------------------------------------------------------------------------------
// Shapes (std::invalid_argument)

/// Throws std::invalid_argument if a and b differ in shape.
template <class A, class B>
inline void check_same_shape(const char* function, const char* name_a,
                             const Eigen::EigenBase<A>& a, const char* name_b,
                             const Eigen::EigenBase<B>& b) {
  if (a.rows() != b.rows() || a.cols() != b.cols()) {
    detail::throw_shape(function, std::string(name_a) + " is " +
                                      detail::shape_string(a.rows(), a.cols()) + " but " +
                                      name_b + " is " +
                                      detail::shape_string(b.rows(), b.cols()) +
                                      "; they must have the same shape");
  }
}

/// Throws std::invalid_argument if a and b differ in number of coefficients.
template <class A, class B>
inline void check_same_size(const char* function, const char* name_a,
                            const Eigen::EigenBase<A>& a, const char* name_b,
                            const Eigen::EigenBase<B>& b) {
  if (a.size() != b.size()) {
    detail::throw_shape(function, std::string(name_a) + " has " + std::to_string(a.size()) +
                                      " elements but " + name_b + " has " +
                                      std::to_string(b.size()) +
                                      "; they must have the same size");
  }
}

/// Throws std::invalid_argument unless x has `rows` rows.
template <class A>
inline void check_rows(const char* function, const char* name, const Eigen::EigenBase<A>& x,
                       Eigen::Index rows) {
  if (x.rows() != rows) {
    detail::throw_shape(function, std::string(name) + " has " + std::to_string(x.rows()) +
                                      " rows, but must have " + std::to_string(rows));
  }
}

/// Throws std::invalid_argument unless x has `cols` columns.
template <class A>
inline void check_cols(const char* function, const char* name, const Eigen::EigenBase<A>& x,
                       Eigen::Index cols) {
  if (x.cols() != cols) {
    detail::throw_shape(function, std::string(name) + " has " + std::to_string(x.cols()) +
                                      " columns, but must have " + std::to_string(cols));
  }
}

/// Throws std::invalid_argument unless x has exactly n coefficients.
template <class A>
inline void check_size(const char* function, const char* name, const Eigen::EigenBase<A>& x,
                       Eigen::Index n) {
  if (x.size() != n) {
    detail::throw_shape(function, std::string(name) + " has " + std::to_string(x.size()) +
                                      " elements, but must have " + std::to_string(n));
  }
}

/// Throws std::invalid_argument if x has no coefficients.
template <class A>
inline void check_non_empty(const char* function, const char* name,
                            const Eigen::EigenBase<A>& x) {
  if (x.size() == 0) {
    detail::throw_shape(function, std::string(name) + " is empty (" +
                                      detail::shape_string(x.rows(), x.cols()) +
                                      "), but must have at least one element");
  }
}

/// Throws std::invalid_argument unless x is square.
template <class A>
inline void check_square(const char* function, const char* name, const Eigen::EigenBase<A>& x) {
  if (x.rows() != x.cols()) {
    detail::throw_shape(function, std::string(name) + " is " +
                                      detail::shape_string(x.rows(), x.cols()) +
                                      ", but must be square");
  }
}

}  // namespace latent
