// latent/core/traits.hpp: scalar traits shared by every header.
#pragma once

#include <Eigen/Core>
#include <type_traits>
#include <utility>

namespace Eigen {
// Forward declaration so that latent can recognize AutoDiffScalar without making every
// user include <unsupported/Eigen/AutoDiff>.
template <typename DerivativeType>
class AutoDiffScalar;
}  // namespace Eigen

namespace latent {

/// True for Eigen::AutoDiffScalar<...> (any derivative type).
template <class T>
struct is_autodiff : std::false_type {};
template <class D>
struct is_autodiff<Eigen::AutoDiffScalar<D>> : std::true_type {};
template <class T>
inline constexpr bool is_autodiff_v = is_autodiff<std::decay_t<T>>::value;

/// The scalar type of an Eigen expression.
template <class Derived>
using scalar_t = typename Eigen::internal::traits<std::decay_t<Derived>>::Scalar;

/// The value of a scalar as a double: the scalar itself, or the value of an AutoDiffScalar
/// (recursively, so nested AutoDiffScalars work). Used by checks and messages only.
template <class T>
inline double value_of(const T& x) {
  if constexpr (is_autodiff_v<T>) {
    return value_of(x.value());
  } else {
    static_assert(std::is_arithmetic<T>::value,
                  "latent::value_of: the scalar must be arithmetic or an Eigen::AutoDiffScalar");
    return static_cast<double>(x);
  }
}

namespace detail {
// Matches any class derived from some EigenBase<D>, including types such as VectorBlock whose
// EigenBase parameter is a base class (Block), not the type itself.
template <class D>
std::true_type derives_from_eigen_base(const Eigen::EigenBase<D>*);
std::false_type derives_from_eigen_base(...);
}  // namespace detail

/// True for Eigen dense/sparse objects and expressions (anything derived from an EigenBase).
template <class T>
inline constexpr bool is_eigen_v =
    decltype(detail::derives_from_eigen_base(std::declval<std::decay_t<T>*>()))::value;

/// SFINAE guard for scalar overloads that must not capture Eigen objects.
template <class T>
using enable_if_scalar_t = std::enable_if_t<!is_eigen_v<T>, int>;

namespace detail {
/// The writable object behind an output parameter taken as `const Eigen::DenseBase<D>&`
/// (Eigen's documented idiom for outputs, which lets callers pass blocks and maps).
template <class Derived>
inline Derived& writable(const Eigen::DenseBase<Derived>& out) {
  return const_cast<Derived&>(out.derived());
}
}  // namespace detail

/// Plain (evaluated) array type with the shape of an expression.
template <class Derived>
using plain_array_t = typename std::decay_t<Derived>::PlainObject;

}  // namespace latent
