// latent/diffusion/detail.hpp: small scalar helpers shared by the diffusion headers.
//
// expm1 / log1p / sigmoid for float, double and Eigen::AutoDiffScalar (Eigen 3.4 has no
// AutoDiffScalar overloads of expm1 and log1p). Kept private to the diffusion folder so that
// it does not depend on the order in which core/math.hpp lands.
#pragma once

#include <cmath>
#include <type_traits>

#include <Eigen/Core>

#include "latent/core/traits.hpp"

namespace latent {
namespace diffusion_detail {

/// \f$e^x - 1\f$ without cancellation near 0; value and derivative for AutoDiffScalar.
template <class T>
inline T expm1(const T& x) {
  if constexpr (is_autodiff_v<T>) {
    using std::exp;
    using Inner = std::decay_t<decltype(x.value())>;
    const Inner v = x.value();
    return T(diffusion_detail::expm1(v), x.derivatives() * exp(v));
  } else {
    return std::expm1(x);
  }
}

/// \f$\log(1 + x)\f$ without cancellation near 0.
template <class T>
inline T log1p(const T& x) {
  if constexpr (is_autodiff_v<T>) {
    using Inner = std::decay_t<decltype(x.value())>;
    const Inner v = x.value();
    return T(diffusion_detail::log1p(v), x.derivatives() / (Inner(1) + v));
  } else {
    return std::log1p(x);
  }
}

/// \f$1 / (1 + e^{-x})\f$, evaluated on the side that cannot overflow.
template <class T>
inline T sigmoid(const T& x) {
  using std::exp;
  if (value_of(x) >= 0) return T(1) / (T(1) + exp(-x));
  const T e = exp(x);
  return e / (T(1) + e);
}

/// \f$\log(1 + e^{x})\f$ without overflow.
template <class T>
inline T softplus(const T& x) {
  using std::exp;
  if (value_of(x) > 0) return x + diffusion_detail::log1p(T(exp(-x)));
  return diffusion_detail::log1p(T(exp(x)));
}

}  // namespace diffusion_detail
}  // namespace latent
