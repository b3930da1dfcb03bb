// latent/random/noise.hpp: standard normal and uniform noise as Eigen nullary expressions.
#pragma once

#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <type_traits>

#include <Eigen/Core>

#include "latent/core/traits.hpp"
#include "latent/random/philox.hpp"

namespace latent {
namespace detail {

enum class noise_kind { normal, uniform };

/// The real type behind a scalar: float, double, or the (recursive) value type of an
/// AutoDiffScalar.
template <class S, class = void>
struct noise_real {
  using type = S;
};
template <class S>
struct noise_real<S, std::enable_if_t<is_autodiff_v<S>>> {
  using type = typename noise_real<typename S::Real>::type;
};
template <class S>
using noise_real_t = typename noise_real<S>::type;

/// Elements per chunk: a chunk is 16 consecutive Philox blocks (64 words); a float element
/// uses one word, a double element two.
template <class T>
inline constexpr int chunk_elems = sizeof(T) == 4 ? 64 : 32;
inline constexpr int chunk_blocks = 16;

inline constexpr float two_m24f = 5.9604644775390625e-08f;    // 2^-24
inline constexpr float two_m25f = 2.98023223876953125e-08f;   // 2^-25
inline constexpr double two_m52 = 2.220446049250313080847263336181640625e-16;
inline constexpr double two_m53 = 1.1102230246251565404236316680908203125e-16;

/// Public float uniform from one word: 24 bits, u = max(k 2^-24, 2^-25) in (0, 1).
inline float uniform_f(std::uint32_t w) noexcept {
  const float u = static_cast<float>(static_cast<std::int32_t>(w >> 8)) * two_m24f;
  return u < two_m25f ? two_m25f : u;
}
/// Public double uniform from two words: 52 bits, u = max(k 2^-52, 2^-53) in (0, 1).
inline double uniform_d(std::uint32_t lo, std::uint32_t hi) noexcept {
  const std::uint64_t v = (static_cast<std::uint64_t>(hi) << 32) | lo;
  const double u = static_cast<double>(v >> 12) * two_m52;
  return u < two_m53 ? two_m53 : u;
}

/// Box-Muller (Box & Muller 1958): z0 = R cos(theta), z1 = R sin(theta) with
/// R = sqrt(-2 log u1), theta = 2 pi u2. Reference (scalar, libm) version.
inline void box_muller_f(std::uint32_t wr, std::uint32_t wa, float& z0, float& z1) noexcept {
  // u1 in (0, 1]: 31 random bits, never 0, so |z| <= sqrt(64 log 2) = 6.66.
  const float u1 =
      static_cast<float>(static_cast<std::int32_t>(wr >> 1)) * 4.656612873077392578125e-10f +
      2.3283064365386962890625e-10f;
  const double r = std::sqrt(-2.0 * std::log(static_cast<double>(u1)));
  const double theta = 6.283185307179586476925286766559 * static_cast<double>(wa >> 8) * 5.9604644775390625e-08;
  z0 = static_cast<float>(r * std::cos(theta));
  z1 = static_cast<float>(r * std::sin(theta));
}
inline void box_muller_d(std::uint64_t vr, std::uint64_t va, double& z0, double& z1) noexcept {
  const double u1 = 1.0 - static_cast<double>(vr >> 12) * two_m52;  // (0, 1]
  const double r = std::sqrt(-2.0 * std::log(u1));
  const double theta = 6.283185307179586476925286766559 * static_cast<double>(va >> 12) * two_m52;
  z0 = r * std::cos(theta);
  z1 = r * std::sin(theta);
}

/// Value of element `i` (linear index in the expression's storage order) of the noise drawn
/// from block range starting at `base`. Pure function of (key, stream, base, i).
template <class T, noise_kind Kind>
inline T noise_value(std::uint32_t k0, std::uint32_t k1, std::uint64_t stream, std::uint64_t base,
                     std::uint64_t i) noexcept {
  constexpr std::uint64_t E = chunk_elems<T>;
  const std::uint64_t c = i / E;
  const unsigned e = static_cast<unsigned>(i % E);
  const unsigned k = e / 16, j = e % 16;
  const std::uint64_t b = base + c * chunk_blocks + j;
  const auto w = philox4x32_block<10>(
      {static_cast<std::uint32_t>(b), static_cast<std::uint32_t>(b >> 32),
       static_cast<std::uint32_t>(stream), static_cast<std::uint32_t>(stream >> 32)},
      {k0, k1});
  if constexpr (std::is_same<T, float>::value) {
    if constexpr (Kind == noise_kind::uniform) {
      return uniform_f(w[k]);
    } else {
      float z0, z1;
      box_muller_f(w[(k / 2) * 2], w[(k / 2) * 2 + 1], z0, z1);
      return (k % 2) ? z1 : z0;
    }
  } else {
    if constexpr (Kind == noise_kind::uniform) {
      return uniform_d(w[2 * k], w[2 * k + 1]);
    } else {
      double z0, z1;
      box_muller_d((static_cast<std::uint64_t>(w[1]) << 32) | w[0],
                   (static_cast<std::uint64_t>(w[3]) << 32) | w[2], z0, z1);
      return k ? z1 : z0;
    }
  }
}

/// Nullary functor behind the noise expressions.
template <class T, noise_kind Kind, bool RowMajor>
struct noise_op {
  static_assert(std::is_same<T, float>::value || std::is_same<T, double>::value,
                "latent noise: the real scalar must be float or double");
  std::uint32_t k0 = 0, k1 = 0;
  std::uint64_t stream = 0, base = 0;
  Eigen::Index inner = 0;  // rows (column-major) or cols (row-major)

  T operator()(Eigen::Index i) const noexcept {
    return noise_value<T, Kind>(k0, k1, stream, base, static_cast<std::uint64_t>(i));
  }
  T operator()(Eigen::Index row, Eigen::Index col) const noexcept {
    return (*this)(RowMajor ? row * inner + col : col * inner + row);
  }
};

template <class T>
inline std::uint64_t blocks_for(Eigen::Index size) {
  const std::uint64_t n = static_cast<std::uint64_t>(size);
  return (n + chunk_elems<T> - 1) / chunk_elems<T> * chunk_blocks;
}

/// The Eigen plain type of the noise for a requested type: same kind (Array or Matrix), same
/// compile-time shape and storage order, scalar float or double.
template <class Plain, class T>
struct noise_plain;
template <class S, int R, int C, int O, int MR, int MC, class T>
struct noise_plain<Eigen::Array<S, R, C, O, MR, MC>, T> {
  using type = Eigen::Array<T, R, C, O, MR, MC>;
};
template <class S, int R, int C, int O, int MR, int MC, class T>
struct noise_plain<Eigen::Matrix<S, R, C, O, MR, MC>, T> {
  using type = Eigen::Matrix<T, R, C, O, MR, MC>;
};

template <class Plain, noise_kind Kind>
using noise_xpr_t =
    Eigen::CwiseNullaryOp<noise_op<noise_real_t<typename Plain::Scalar>, Kind,
                                   (Plain::Flags & Eigen::RowMajorBit) != 0>,
                          typename noise_plain<Plain, noise_real_t<typename Plain::Scalar>>::type>;

inline void check_noise_shape(const char* function, Eigen::Index rows, Eigen::Index cols,
                              Eigen::Index fixed_rows, Eigen::Index fixed_cols) {
  if (rows < 0 || cols < 0) {
    throw std::invalid_argument(std::string(function) + ": the shape " + std::to_string(rows) +
                                " x " + std::to_string(cols) + " has a negative dimension");
  }
  if ((fixed_rows != Eigen::Dynamic && rows != fixed_rows) ||
      (fixed_cols != Eigen::Dynamic && cols != fixed_cols)) {
    throw std::invalid_argument(std::string(function) + ": the shape " + std::to_string(rows) +
                                " x " + std::to_string(cols) +
                                " does not match the fixed-size type");
  }
}

template <class Plain, noise_kind Kind>
inline auto make_noise(const char* function, Eigen::Index rows, Eigen::Index cols,
                       philox4x32& engine) {
  using xpr = noise_xpr_t<Plain, Kind>;
  using T = noise_real_t<typename Plain::Scalar>;
  check_noise_shape(function, rows, cols, Plain::RowsAtCompileTime, Plain::ColsAtCompileTime);
  noise_op<T, Kind, (Plain::Flags & Eigen::RowMajorBit) != 0> f;
  const auto key = engine.key();
  f.k0 = key[0];
  f.k1 = key[1];
  f.stream = engine.stream();
  f.base = engine.reserve(blocks_for<T>(rows * cols));
  f.inner = (Plain::Flags & Eigen::RowMajorBit) ? cols : rows;
  xpr noise(rows, cols, f);
  if constexpr (is_autodiff_v<typename Plain::Scalar>) {
    return noise.template cast<typename Plain::Scalar>();
  } else {
    return noise;
  }
}

}  // namespace detail

/// Standard normal noise \f$ z_{ij} \sim \mathcal N(0, 1) \f$, i.i.d., as an Eigen nullary
/// expression of shape rows x cols with the kind (Array/Matrix), storage order and scalar of
/// `Plain` (float, double, or AutoDiffScalar: then constant noise, zero derivatives).
/// Box-Muller transform (Box & Muller 1958) of Philox4x32-10 words (Salmon et al. 2011).
/// Creating the expression reserves its counter range on `engine`; the value at each index is a
/// pure function of (seed, stream, counter, index). Returns an expression.
template <class Plain>
inline auto randn(Eigen::Index rows, Eigen::Index cols, philox4x32& engine) {
  return detail::make_noise<Plain, detail::noise_kind::normal>("latent::randn", rows, cols, engine);
}
/// Vector form of randn: `size` elements of the vector type `Plain`. Returns an expression.
template <class Plain>
inline auto randn(Eigen::Index size, philox4x32& engine) {
  static_assert(Plain::IsVectorAtCompileTime, "latent::randn(size, engine) needs a vector type");
  return Plain::ColsAtCompileTime == 1 ? randn<Plain>(size, 1, engine)
                                       : randn<Plain>(1, size, engine);
}
/// Standard normal noise with the shape, kind and scalar of `x` (its values are not read).
/// Returns an expression.
template <class Derived>
inline auto randn_like(const Eigen::DenseBase<Derived>& x, philox4x32& engine) {
  return detail::make_noise<plain_array_t<Derived>, detail::noise_kind::normal>(
      "latent::randn_like", x.rows(), x.cols(), engine);
}

/// Uniform noise in the open interval (0, 1): float with 24 random bits,
/// \f$ u = \max(k\,2^{-24}, 2^{-25}) \f$; double with 52 bits, \f$ u = \max(k\,2^{-52}, 2^{-53}) \f$.
/// Never 0, never 1. Returns an expression; reserves its counter range on `engine`.
template <class Plain>
inline auto rand_uniform(Eigen::Index rows, Eigen::Index cols, philox4x32& engine) {
  return detail::make_noise<Plain, detail::noise_kind::uniform>("latent::rand_uniform", rows, cols,
                                                                engine);
}
/// Vector form of rand_uniform. Returns an expression.
template <class Plain>
inline auto rand_uniform(Eigen::Index size, philox4x32& engine) {
  static_assert(Plain::IsVectorAtCompileTime,
                "latent::rand_uniform(size, engine) needs a vector type");
  return Plain::ColsAtCompileTime == 1 ? rand_uniform<Plain>(size, 1, engine)
                                       : rand_uniform<Plain>(1, size, engine);
}
/// Uniform (0, 1) noise with the shape, kind and scalar of `x`. Returns an expression.
template <class Derived>
inline auto rand_uniform_like(const Eigen::DenseBase<Derived>& x, philox4x32& engine) {
  return detail::make_noise<plain_array_t<Derived>, detail::noise_kind::uniform>(
      "latent::rand_uniform_like", x.rows(), x.cols(), engine);
}

/// Writes standard normals into `out` (any writable Eigen object, e.g. a Map or a block);
/// identical to `out = randn_like(out, engine)`. Allocates nothing. Writes an output.
template <class Derived>
inline void fill_randn(Eigen::DenseBase<Derived>& out, philox4x32& engine) {
  out.derived() = randn_like(out, engine);
}
template <class Derived>
inline void fill_randn(Eigen::DenseBase<Derived>&& out, philox4x32& engine) {
  fill_randn(out, engine);
}
/// Writes uniforms in (0, 1) into `out`; identical to `out = rand_uniform_like(out, engine)`.
/// Allocates nothing. Writes an output.
template <class Derived>
inline void fill_rand_uniform(Eigen::DenseBase<Derived>& out, philox4x32& engine) {
  out.derived() = rand_uniform_like(out, engine);
}
template <class Derived>
inline void fill_rand_uniform(Eigen::DenseBase<Derived>&& out, philox4x32& engine) {
  fill_rand_uniform(out, engine);
}

}  // namespace latent

namespace Eigen {
namespace internal {
template <class T, latent::detail::noise_kind Kind, bool RowMajor>
struct functor_traits<latent::detail::noise_op<T, Kind, RowMajor>> {
  enum { Cost = 200, PacketAccess = false, IsRepeatable = true };
};
template <class T, latent::detail::noise_kind Kind, bool RowMajor>
struct functor_has_linear_access<latent::detail::noise_op<T, Kind, RowMajor>> {
  enum { ret = 1 };
};
}  // namespace internal
}  // namespace Eigen
