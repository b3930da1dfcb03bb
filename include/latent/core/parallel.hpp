// latent/core/parallel.hpp: optional OpenMP evaluation of element-wise assignments.
//
// latent's steps and fills evaluate one fused Eigen expression into a caller's output. When
// the translation unit is compiled with OpenMP (-fopenmp) and the output is large, assign()
// splits it into chunks of whole columns and evaluates them on all threads. The result is
// bit-identical to one thread:
//  - every value of an element-wise expression depends only on its index (noise included:
//    latent's noise is a pure function of (seed, stream, counter, index));
//  - chunk boundaries fall on multiples of 64 elements from the start of the output, so each
//    chunk has the same alignment as the whole array and every element goes through the same
//    vectorized (or scalar) code path as in the single-threaded loop.
// Without OpenMP, or below the threshold, or for outputs whose columns are not contiguous, it
// is exactly `out = expr`. Allocates nothing.
#pragma once

#include <cstdint>
#include <numeric>

#include <Eigen/Core>

#if defined(_OPENMP)
#include <omp.h>
#endif

namespace latent {

/// Outputs with at least this many elements are evaluated in parallel under OpenMP.
inline constexpr Eigen::Index parallel_threshold = Eigen::Index(1) << 17;

namespace detail {

/// Columns per chunk: a multiple of 64 / gcd(rows, 64), so rows * cols_per_chunk is a
/// multiple of 64 elements, and about `target` elements in all.
inline Eigen::Index parallel_chunk_cols(Eigen::Index rows, Eigen::Index target) {
  const Eigen::Index unit = 64 / std::gcd<Eigen::Index>(rows > 0 ? rows : 1, 64);
  const Eigen::Index want = rows > 0 ? (target + rows - 1) / rows : 1;
  return ((want + unit - 1) / unit) * unit;
}

}  // namespace detail

/// `out = expr`, in parallel over chunks of columns when compiled with OpenMP and
/// out.size() >= parallel_threshold; bit-identical to the single-threaded assignment.
/// `out` is any writable Eigen object of the shape of `expr` (checked by the caller).
template <class DerivedOut, class DerivedExpr>
inline void assign(const Eigen::DenseBase<DerivedOut>& out_, const Eigen::DenseBase<DerivedExpr>& expr) {
  auto& out = const_cast<DerivedOut&>(out_.derived());
#if defined(_OPENMP)
  constexpr bool col_major = !(DerivedOut::Flags & Eigen::RowMajorBit);
  constexpr bool direct = (DerivedOut::Flags & Eigen::DirectAccessBit) != 0;
  if constexpr (col_major && direct) {
    const Eigen::Index n = out.size();
    const bool contiguous = out.innerStride() == 1 && (out.cols() <= 1 || out.outerStride() == out.rows());
    if (n >= parallel_threshold && contiguous && omp_get_max_threads() > 1 && !omp_in_parallel()) {
      const Eigen::Index cols = out.cols(), rows = out.rows();
      const Eigen::Index step = detail::parallel_chunk_cols(rows, Eigen::Index(1) << 16);
      const Eigen::Index chunks = (cols + step - 1) / step;
#pragma omp parallel for schedule(static)
      for (Eigen::Index c = 0; c < chunks; ++c) {
        const Eigen::Index c0 = c * step;
        const Eigen::Index k = c0 + step <= cols ? step : cols - c0;
        out.middleCols(c0, k) = expr.derived().middleCols(c0, k);
      }
      return;
    }
  }
#endif
  out = expr.derived();
}

}  // namespace latent
