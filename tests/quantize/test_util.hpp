// Shared helpers of the quantize tests: seeded data and an independent brute-force quantizer.
#pragma once

#include <cmath>
#include <cstdint>
#include <random>

#include <Eigen/Dense>

namespace vq_test {

/// Batch sizes shrink by this factor under ASan/UBSan (LATENT_SANITIZER_BUILD), where the
/// brute-force references (software std::fma at -O0) would otherwise take tens of seconds.
#ifdef LATENT_SANITIZER_BUILD
inline constexpr Eigen::Index shrink = 8;
#else
inline constexpr Eigen::Index shrink = 1;
#endif

template <class T>
using mat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>;

/// D x N standard normals (times `scale`, plus `offset`) from a seeded mt19937_64.
template <class T>
inline mat<T> gaussian(Eigen::Index rows, Eigen::Index cols, std::uint64_t seed,
                       double scale = 1.0, double offset = 0.0) {
  std::mt19937_64 gen(seed);
  std::normal_distribution<double> nd(0.0, 1.0);
  mat<T> m(rows, cols);
  for (Eigen::Index j = 0; j < cols; ++j)
    for (Eigen::Index i = 0; i < rows; ++i) m(i, j) = T(offset + scale * nd(gen));
  return m;
}

/// Brute force written independently of the library: direct squared distance accumulated in
/// index order with std::fma (the documented reference), strict < so the lowest index wins.
template <class T>
inline Eigen::Index brute_nearest(const mat<T>& z, const mat<T>& e, Eigen::Index b, T* dist) {
  Eigen::Index best = -1;
  T best_d = T(0);
  for (Eigen::Index k = 0; k < e.cols(); ++k) {
    T acc = T(0);
    for (Eigen::Index i = 0; i < z.rows(); ++i) {
      const T diff = z(i, b) - e(i, k);
      acc = std::fma(diff, diff, acc);
    }
    if (best < 0 || acc < best_d) {
      best = k;
      best_d = acc;
    }
  }
  if (dist) *dist = best_d;
  return best;
}

}  // namespace vq_test
