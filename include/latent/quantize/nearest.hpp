// latent/quantize/nearest.hpp: nearest-codebook lookup (the quantizer of VQ-VAE).
//
// A batch z (D x B, one latent vector per column) is quantized against a codebook E
// (D x K, one code per column): k_b = argmin_k ||z_b - e_k||^2, z_q_b = e_{k_b}
// (van den Oord et al. 2017, "Neural Discrete Representation Learning", eq. 1-2).
//
// The distances are computed through the expansion
//     ||z - e_k||^2 = ||z||^2 - 2 e_k^T z + ||e_k||^2
// with one matrix product (Eigen's GEMM) for the cross term -2 E^T z, blocked over the codes
// and the batch so that each K_block x B_block tile stays in cache and is reduced to a
// per-column argmin (with ||e_k||^2 added on the fly, inside the vectorized min) before the
// next tile is computed: the K x B distance matrix is never materialized, and ||z||^2, constant
// per column, never enters the argmin.
//
// Tie semantics (the part that is easy to get wrong). The expansion rounds differently from
// the direct sum of squared differences: two codes at exactly the same distance (e.g. two
// equal columns of E) can receive different expanded scores, because GEMM kernels sum in
// different orders and use FMA differently for different rows of a tile, and two codes whose
// direct distances differ by one ulp can swap order. latent therefore defines the result by
// the direct ("brute-force") distance
//     d_k = fl( sum_{i=0}^{D-1} (z_i - e_{ik})^2 ),
// accumulated in index order i = 0..D-1 with one fused multiply-add per term
// (acc = fma(diff, diff, acc)) in the scalar type of the data, see vq_squared_distance():
//     k_b = the lowest k among the minimizers of d_k.
// The expansion is only used as a filter: a rigorous forward error bound (Higham,
// "Accuracy and Stability of Numerical Algorithms", 2nd ed., sec. 3.1, gamma_n = n u / (1 - n u))
//     |score_k - (d_k - ||z||^2)| <= margin = 8 (D + 2) u (||z|| + max_k ||e_k||)^2 (+ underflow)
// says the brute-force minimizer lies among the codes whose expanded score is within
// `margin` of the smallest score. When that candidate set has a single member (almost always
// on real data) it is the answer; otherwise the candidates are re-ranked with d_k and the
// lowest index wins. The result is therefore bit-for-bit the brute-force answer, including
// ties, at the cost of the GEMM plus a few direct distances per near-tie.
#pragma once

#include <cmath>
#include <limits>
#include <type_traits>
#include <utility>

#include <Eigen/Core>

#include "latent/core/check.hpp"
#include "latent/core/traits.hpp"

namespace latent {

/// Row of code indices (one per column of the batch).
using index_row = Eigen::Array<Eigen::Index, 1, Eigen::Dynamic>;

namespace detail {

/// The real scalar under a scalar type: float -> float, AutoDiffScalar<VectorXd> -> double.
template <class S, class = void>
struct real_scalar {
  using type = S;
};
template <class S>
struct real_scalar<S, std::enable_if_t<is_autodiff_v<S>>> {
  using type = typename real_scalar<typename S::Real>::type;
};
template <class S>
using real_scalar_t = typename real_scalar<S>::type;

/// The real value of a scalar in its own real type (value_of goes through double).
template <class S>
inline real_scalar_t<S> real_value(const S& x) {
  if constexpr (is_autodiff_v<S>) {
    return real_value(x.value());
  } else {
    return x;
  }
}

/// Direct squared distance with one fused multiply-add per term, in index order. std::fma is
/// correctly rounded on every platform, so this reference value is the same whatever the
/// compiler's contraction flags or instruction set.
template <class V>
inline V direct_squared_distance(const V* z, const V* e, Eigen::Index d) {
  V acc = V(0);
  for (Eigen::Index i = 0; i < d; ++i) {
    const V diff = z[i] - e[i];
    acc = std::fma(diff, diff, acc);
  }
  return acc;
}

}  // namespace detail

/// Reusable scratch memory for quantize_into() and the hierarchical quantizers. After the
/// first call with given shapes, later calls with the same shapes allocate nothing (for float
/// and double data; AutoDiffScalar data is copied to values here too). Not thread-safe: use
/// one workspace per thread.
template <class V>
struct vq_workspace {
  static_assert(std::is_floating_point<V>::value,
                "latent::vq_workspace: the workspace scalar must be float or double (the real "
                "scalar of the data)");
  Eigen::Matrix<V, Eigen::Dynamic, 1> code_sqnorm;     ///< ||e_k||^2, K
  Eigen::Matrix<V, Eigen::Dynamic, 1> tile;           ///< cross terms, k_block x b_block
  Eigen::Matrix<V, Eigen::Dynamic, 1> z_sqnorm;        ///< ||z_b||^2, B
  Eigen::Matrix<V, Eigen::Dynamic, 1> margin;          ///< error bound per column, b_block
  Eigen::Matrix<V, Eigen::Dynamic, 1> best_score;      ///< score of the current best code
  Eigen::Matrix<V, Eigen::Dynamic, 1> min_score;       ///< smallest score seen so far
  Eigen::Matrix<V, Eigen::Dynamic, 1> best_direct;     ///< d_k of the best code, NaN if unknown
  Eigen::Matrix<Eigen::Index, Eigen::Dynamic, 1> best_index;
  Eigen::Matrix<V, Eigen::Dynamic, Eigen::Dynamic> z_values;         ///< AutoDiff inputs only
  Eigen::Matrix<V, Eigen::Dynamic, Eigen::Dynamic> codebook_values;  ///< AutoDiff inputs only
  Eigen::Matrix<V, Eigen::Dynamic, Eigen::Dynamic> residual;  ///< residual quantization only
  /// Diagnostics of the last call: how many (column, code block) pairs needed the direct
  /// distances to resolve a near-tie, and how many direct distances were computed.
  Eigen::Index near_tie_blocks = 0;
  Eigen::Index direct_distances = 0;
  /// Tile sizes; 0 selects sizes that keep Eigen's GEMM packing buffers on the stack
  /// (<= EIGEN_STACK_ALLOCATION_LIMIT) and a tile of at most 512 KiB.
  Eigen::Index k_block = 0;
  Eigen::Index b_block = 0;
};

/// \brief The reference squared distance that defines latent's nearest-code semantics:
/// \f$ d = \mathrm{fl}(\sum_{i=0}^{D-1} (z_i - e_i)^2) \f$ accumulated in index order with one
/// fused multiply-add per term, in the real scalar of the data.
/// \return a scalar (the real scalar of the inputs; AutoDiff derivatives are not propagated).
template <class DZ, class DE>
inline detail::real_scalar_t<scalar_t<DZ>> vq_squared_distance(const Eigen::DenseBase<DZ>& z,
                                                              const Eigen::DenseBase<DE>& e) {
  using V = detail::real_scalar_t<scalar_t<DZ>>;
  static_assert(std::is_same<V, detail::real_scalar_t<scalar_t<DE>>>::value,
                "latent::vq_squared_distance: z and e must have the same real scalar type");
  check_same_size("latent::vq_squared_distance", "z", z, "e", e);
  V acc = V(0);
  const auto& ze = z.derived().eval();
  const auto& ee = e.derived().eval();
  for (Eigen::Index i = 0; i < ze.size(); ++i) {
    const V diff = detail::real_value(ze.coeff(i)) - detail::real_value(ee.coeff(i));
    acc = std::fma(diff, diff, acc);
  }
  return acc;
}

namespace detail {

/// Chooses the tile (k_block, b_block) and sizes the workspace buffers for it.
template <class V>
inline std::pair<Eigen::Index, Eigen::Index> choose_blocks(vq_workspace<V>& ws, Eigen::Index d, Eigen::Index k,
                          Eigen::Index b) {
  // Eigen packs at most (depth x rows) of the lhs and (depth x cols) of the rhs per call;
  // keeping both under the stack limit makes Eigen use alloca instead of malloc.
  const Eigen::Index per_code = std::max<Eigen::Index>(1, d) * Eigen::Index(sizeof(V));
  Eigen::Index kb = ws.k_block > 0 ? ws.k_block
                                   : std::max<Eigen::Index>(8, EIGEN_STACK_ALLOCATION_LIMIT / per_code);
  Eigen::Index bb = ws.b_block > 0 ? ws.b_block
                                   : std::max<Eigen::Index>(8, EIGEN_STACK_ALLOCATION_LIMIT / per_code);
  if (ws.k_block <= 0) kb = std::min<Eigen::Index>(kb, 512);
  if (ws.b_block <= 0) bb = std::min<Eigen::Index>(bb, 256);
  kb = std::min(kb, std::max<Eigen::Index>(k, 1));
  bb = std::min(bb, std::max<Eigen::Index>(b, 1));
  // Buffers only grow, so alternating shapes (residual stages with different K) reuse them.
  if (ws.tile.size() < kb * bb) ws.tile.resize(kb * bb);
  if (ws.margin.size() < bb) {
    ws.margin.resize(bb);
    ws.best_score.resize(bb);
    ws.min_score.resize(bb);
    ws.best_direct.resize(bb);
    ws.best_index.resize(bb);
  }
  if (ws.code_sqnorm.size() < k) ws.code_sqnorm.resize(k);
  if (ws.z_sqnorm.size() < b) ws.z_sqnorm.resize(b);
  return {kb, bb};
}

/// Core of the quantizer on real-valued column-major data. Writes best codes into
/// ws.best_index per block through the `emit(column, code, direct_distance)` callback.
/// Throws (before emitting anything) if a squared norm is not finite.
template <class V, class Emit>
inline void nearest_codes_core(const char* function,
                               const Eigen::Ref<const Eigen::Matrix<V, Eigen::Dynamic, Eigen::Dynamic>>& z,
                               const Eigen::Ref<const Eigen::Matrix<V, Eigen::Dynamic, Eigen::Dynamic>>& e,
                               vq_workspace<V>& ws, Emit&& emit) {
  const Eigen::Index d = z.rows(), b = z.cols(), k = e.cols();
  const auto blocks = choose_blocks(ws, d, k, b);
  ws.near_tie_blocks = 0;
  ws.direct_distances = 0;

  // Norms: part of the algorithm, and an O(B + K) finiteness check of the data for free
  // (a finite squared norm implies finite coefficients).
  V e_max_sq = V(0);
  for (Eigen::Index j = 0; j < k; ++j) {
    const V n = e.col(j).squaredNorm();
    if (!std::isfinite(n)) {
      detail::throw_domain(function, "the squared norm of codebook column " + std::to_string(j),
                           format_value(double(n)),
                           "finite (codes must be finite and not overflow when squared)");
    }
    ws.code_sqnorm[j] = n;
    e_max_sq = std::max(e_max_sq, n);
  }
  const V e_max = std::sqrt(e_max_sq);
  for (Eigen::Index j = 0; j < b; ++j) {
    const V n = z.col(j).squaredNorm();
    if (!std::isfinite(n)) {
      detail::throw_domain(function, "the squared norm of z column " + std::to_string(j),
                           format_value(double(n)),
                           "finite (latents must be finite and not overflow when squared)");
    }
    // Every term of ||z||^2 - 2 z.e + ||e||^2 is bounded by (||z|| + max ||e||)^2; if that
    // overflows, the cross term can be -inf and pick a wrong code, so refuse instead.
    const V bound = (std::sqrt(n) + e_max) * (std::sqrt(n) + e_max);
    if (!std::isfinite(bound)) {
      detail::throw_domain(function, "(||z|| + max ||e||)^2 for z column " + std::to_string(j),
                           format_value(double(bound)),
                           "finite (the distance expansion would overflow)");
    }
    ws.z_sqnorm[j] = n;
  }
  const V u = std::numeric_limits<V>::epsilon() / V(2);
  const V rel = V(8) * V(d + 2) * u;
  // Gradual underflow adds an absolute error of at most denorm_min / 2 per operation.
  const V abs_floor = V(4 * (d + 4)) * std::numeric_limits<V>::denorm_min();
  const V inf = std::numeric_limits<V>::infinity();
  const Eigen::Index kb_max = blocks.first, bb_max = blocks.second;

  for (Eigen::Index b0 = 0; b0 < b; b0 += bb_max) {
    const Eigen::Index bc = std::min(bb_max, b - b0);
    for (Eigen::Index j = 0; j < bc; ++j) {
      const V r = std::sqrt(ws.z_sqnorm[b0 + j]) + e_max;
      ws.margin[j] = rel * r * r + abs_floor;
      ws.best_index[j] = -1;
      ws.best_score[j] = inf;
      ws.min_score[j] = inf;
      ws.best_direct[j] = std::numeric_limits<V>::quiet_NaN();
    }
    for (Eigen::Index k0 = 0; k0 < k; k0 += kb_max) {
      const Eigen::Index kc = std::min(kb_max, k - k0);
      // cross(k, b) = -2 e_k^T z_b by GEMM (the factor -2 is exact); the score
      // s_k = ||e_k||^2 + cross(k, b) is formed on the fly, fused into the reductions below.
      Eigen::Map<Eigen::Matrix<V, Eigen::Dynamic, Eigen::Dynamic>> tile(ws.tile.data(), kc, bc);
      tile.noalias() = (V(-2) * e.middleCols(k0, kc).transpose()) * z.middleCols(b0, bc);
      const auto en = ws.code_sqnorm.segment(k0, kc);
      const V* en_data = ws.code_sqnorm.data() + k0;
      for (Eigen::Index j = 0; j < bc; ++j) {
        const V* p = tile.col(j).data();
        const V m = (en + tile.col(j)).minCoeff();
        const V old_min = ws.min_score[j];
        const V mg = ws.margin[j];
        if (m > old_min + mg) continue;  // nothing in this block can be the minimizer
        const V thresh = std::min(old_min, m) + mg;
        Eigen::Index count = 0;
        for (Eigen::Index i = 0; i < kc; ++i) count += (en_data[i] + p[i] <= thresh) ? 1 : 0;
        const bool old_in = ws.best_index[j] >= 0 && ws.best_score[j] <= thresh;
        if (count == 1 && !old_in) {
          Eigen::Index i = 0;
          while (!(en_data[i] + p[i] <= thresh)) ++i;
          ws.best_index[j] = k0 + i;
          ws.best_score[j] = en_data[i] + p[i];
          ws.best_direct[j] = std::numeric_limits<V>::quiet_NaN();
        } else if (count > 0) {
          // Near-tie: rank the candidates by the direct distance, lowest index first.
          ++ws.near_tie_blocks;
          const V* zc = z.col(b0 + j).data();
          if (old_in) {
            if (std::isnan(ws.best_direct[j])) {
              ws.best_direct[j] = direct_squared_distance(zc, e.col(ws.best_index[j]).data(), d);
              ++ws.direct_distances;
            }
          } else {
            ws.best_index[j] = -1;
          }
          for (Eigen::Index i = 0; i < kc; ++i) {
            const V si = en_data[i] + p[i];
            if (!(si <= thresh)) continue;
            const V dd = direct_squared_distance(zc, e.col(k0 + i).data(), d);
            ++ws.direct_distances;
            if (ws.best_index[j] < 0 || dd < ws.best_direct[j]) {
              ws.best_index[j] = k0 + i;
              ws.best_direct[j] = dd;
              ws.best_score[j] = si;
            }
          }
        }
        ws.min_score[j] = std::min(old_min, m);
      }
    }
    for (Eigen::Index j = 0; j < bc; ++j) {
      const Eigen::Index kk = ws.best_index[j];
      V dd = ws.best_direct[j];
      if (std::isnan(dd)) dd = direct_squared_distance(z.col(b0 + j).data(), e.col(kk).data(), d);
      emit(b0 + j, kk, dd);
    }
  }
}

template <class DZ, class DE>
inline void check_quantize_args(const char* function, const Eigen::DenseBase<DZ>& z,
                                const Eigen::DenseBase<DE>& codebook) {
  if (codebook.cols() == 0 || codebook.rows() == 0) {
    throw_shape(function, "codebook is empty (" + shape_string(codebook.rows(), codebook.cols()) +
                              "), but must have at least one code of dimension >= 1");
  }
  if (z.rows() != codebook.rows()) {
    throw_shape(function, "z has " + std::to_string(z.rows()) + " rows (D) but codebook has " +
                              std::to_string(codebook.rows()) +
                              "; latents and codes must have the same dimension D");
  }
}

/// Runs the core on the values of z and codebook, copying into ws only when the scalar is an
/// AutoDiffScalar (float/double expressions that are not plain column-major storage are
/// evaluated into a temporary by Eigen::Ref).
template <class V, class DZ, class DE, class Emit>
inline void run_nearest(const char* function, const Eigen::DenseBase<DZ>& z,
                        const Eigen::DenseBase<DE>& codebook, vq_workspace<V>& ws, Emit&& emit) {
  using S = scalar_t<DZ>;
  if constexpr (is_autodiff_v<S>) {
    ws.z_values = z.derived().unaryExpr([](const S& x) { return real_value(x); });
    ws.codebook_values =
        codebook.derived().unaryExpr([](const scalar_t<DE>& x) { return real_value(x); });
    nearest_codes_core<V>(function, ws.z_values, ws.codebook_values, ws, emit);
  } else {
    using M = Eigen::Matrix<V, Eigen::Dynamic, Eigen::Dynamic>;
    const Eigen::Ref<const M> zr(z.derived().matrix());
    const Eigen::Ref<const M> er(codebook.derived().matrix());
    nearest_codes_core<V>(function, zr, er, ws, emit);
  }
}

}  // namespace detail

/// \brief Nearest-code lookup into caller buffers:
/// \f$ k_b = \min \arg\min_k d(z_b, e_k),\; z_{q,b} = e_{k_b} \f$ (van den Oord et al. 2017,
/// eq. 1-2), with d the direct squared distance of vq_squared_distance() and ties to the
/// lowest index; computed through \f$\|z\|^2 - 2 e^T z + \|e\|^2\f$ with one blocked GEMM and
/// an exact re-ranking of near-ties (see the header comment).
///
/// \param z          D x B latents (matrix or array expression), one per column.
/// \param codebook   D x K codes, one per column.
/// \param indices    written: length-B integer row/vector (Eigen::Index or int scalar).
/// \param quantized  written: D x B, column b = codebook column indices[b].
/// \param distances  written: length-B direct squared distance to the chosen code (>= 0).
/// \param ws         scratch; with float/double data and unchanged shapes nothing is allocated.
/// Writes its outputs; validates everything (shapes, finiteness via the squared norms)
/// before writing. Outputs must not alias z or codebook.
template <class DZ, class DE, class DI, class DQ, class DD, class V>
inline void quantize_into(const Eigen::DenseBase<DZ>& z, const Eigen::DenseBase<DE>& codebook,
                          const Eigen::DenseBase<DI>& indices_out,
                          const Eigen::DenseBase<DQ>& quantized_out,
                          const Eigen::DenseBase<DD>& distances_out, vq_workspace<V>& ws) {
  // Eigen's idiom for writable expression arguments (blocks, maps): const& + const_cast.
  auto& indices = const_cast<Eigen::DenseBase<DI>&>(indices_out);
  auto& quantized = const_cast<Eigen::DenseBase<DQ>&>(quantized_out);
  auto& distances = const_cast<Eigen::DenseBase<DD>&>(distances_out);
  constexpr const char* fn = "latent::quantize_into";
  using S = scalar_t<DZ>;
  static_assert(std::is_same<S, scalar_t<DE>>::value,
                "latent::quantize_into: z and codebook must have the same scalar type");
  static_assert(std::is_same<V, detail::real_scalar_t<S>>::value,
                "latent::quantize_into: the workspace scalar must be the real scalar of the data "
                "(vq_workspace<float> for float, vq_workspace<double> for double and "
                "AutoDiffScalar<VectorXd>)");
  static_assert(std::is_integral<scalar_t<DI>>::value,
                "latent::quantize_into: indices must have an integer scalar");
  detail::check_quantize_args(fn, z, codebook);
  check_size(fn, "indices", indices, z.cols());
  check_same_shape(fn, "quantized", quantized, "z", z);
  check_size(fn, "distances", distances, z.cols());
  const auto& e = codebook.derived();
  detail::run_nearest(fn, z, codebook, ws, [&](Eigen::Index j, Eigen::Index kk, V dd) {
    indices.derived().coeffRef(j) = static_cast<scalar_t<DI>>(kk);
    quantized.derived().col(j).matrix() = e.col(kk).matrix();
    distances.derived().coeffRef(j) = static_cast<scalar_t<DD>>(dd);
  });
}

/// \brief As quantize_into() without the distances output.
template <class DZ, class DE, class DI, class DQ, class V>
inline void quantize_into(const Eigen::DenseBase<DZ>& z, const Eigen::DenseBase<DE>& codebook,
                          const Eigen::DenseBase<DI>& indices_out,
                          const Eigen::DenseBase<DQ>& quantized_out, vq_workspace<V>& ws) {
  auto& indices = const_cast<Eigen::DenseBase<DI>&>(indices_out);
  auto& quantized = const_cast<Eigen::DenseBase<DQ>&>(quantized_out);
  constexpr const char* fn = "latent::quantize_into";
  using S = scalar_t<DZ>;
  static_assert(std::is_same<S, scalar_t<DE>>::value,
                "latent::quantize_into: z and codebook must have the same scalar type");
  static_assert(std::is_same<V, detail::real_scalar_t<S>>::value,
                "latent::quantize_into: the workspace scalar must be the real scalar of the data");
  static_assert(std::is_integral<scalar_t<DI>>::value,
                "latent::quantize_into: indices must have an integer scalar");
  detail::check_quantize_args(fn, z, codebook);
  check_size(fn, "indices", indices, z.cols());
  check_same_shape(fn, "quantized", quantized, "z", z);
  const auto& e = codebook.derived();
  detail::run_nearest(fn, z, codebook, ws, [&](Eigen::Index j, Eigen::Index kk, V) {
    indices.derived().coeffRef(j) = static_cast<scalar_t<DI>>(kk);
    quantized.derived().col(j).matrix() = e.col(kk).matrix();
  });
}

/// \brief Nearest-code indices only, into a caller buffer (same semantics as quantize_into()).
template <class DZ, class DE, class DI, class V>
inline void nearest_codes_into(const Eigen::DenseBase<DZ>& z, const Eigen::DenseBase<DE>& codebook,
                               const Eigen::DenseBase<DI>& indices_out, vq_workspace<V>& ws) {
  auto& indices = const_cast<Eigen::DenseBase<DI>&>(indices_out);
  constexpr const char* fn = "latent::nearest_codes_into";
  static_assert(std::is_same<scalar_t<DZ>, scalar_t<DE>>::value,
                "latent::nearest_codes_into: z and codebook must have the same scalar type");
  static_assert(std::is_same<V, detail::real_scalar_t<scalar_t<DZ>>>::value,
                "latent::nearest_codes_into: the workspace scalar must be the real scalar of "
                "the data");
  static_assert(std::is_integral<scalar_t<DI>>::value,
                "latent::nearest_codes_into: indices must have an integer scalar");
  detail::check_quantize_args(fn, z, codebook);
  check_size(fn, "indices", indices, z.cols());
  detail::run_nearest(fn, z, codebook, ws, [&](Eigen::Index j, Eigen::Index kk, V) {
    indices.derived().coeffRef(j) = static_cast<scalar_t<DI>>(kk);
  });
}

/// Result of quantize(): indices (1 x B), quantized vectors (D x B, codebook columns, carrying
/// the codebook's AutoDiff derivatives), and the squared distance to the chosen code (1 x B,
/// computed in S so AutoDiff derivatives flow through it).
template <class S>
struct vq_result {
  index_row indices;
  Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic> quantized;
  Eigen::Array<S, 1, Eigen::Dynamic> distances;
};

/// \brief Nearest-code quantization (allocating convenience form of quantize_into()):
/// \f$ k_b = \min\arg\min_k \|z_b - e_k\|^2,\; z_{q,b} = e_{k_b} \f$ (van den Oord et al. 2017,
/// eq. 1-2). \return an evaluated vq_result.
template <class DZ, class DE>
inline vq_result<scalar_t<DZ>> quantize(const Eigen::DenseBase<DZ>& z,
                                        const Eigen::DenseBase<DE>& codebook) {
  constexpr const char* fn = "latent::quantize";
  using S = scalar_t<DZ>;
  using V = detail::real_scalar_t<S>;
  static_assert(std::is_same<S, scalar_t<DE>>::value,
                "latent::quantize: z and codebook must have the same scalar type");
  detail::check_quantize_args(fn, z, codebook);
  vq_result<S> r;
  r.indices.resize(z.cols());
  r.quantized.resize(z.rows(), z.cols());
  r.distances.resize(z.cols());
  vq_workspace<V> ws;
  const auto& e = codebook.derived();
  const auto& ze = z.derived();
  detail::run_nearest(fn, z, codebook, ws, [&](Eigen::Index j, Eigen::Index kk, V dd) {
    r.indices[j] = kk;
    r.quantized.col(j) = e.col(kk).matrix();
    if constexpr (is_autodiff_v<S>) {
      r.distances[j] = (ze.col(j).matrix() - e.col(kk).matrix()).squaredNorm();
    } else {
      r.distances[j] = dd;
    }
  });
  return r;
}

/// \brief All squared distances through the expansion, clamped at 0:
/// \f$ D_{kb} = \max(0, \|z_b\|^2 - 2 e_k^T z_b + \|e_k\|^2) \f$ (one GEMM).
/// \return an evaluated K x B matrix (for soft assignments, k-means-style diagnostics).
/// Note: near-ties in this matrix may be ordered differently from the direct distances that
/// quantize() uses; see the header comment.
template <class DZ, class DE>
inline Eigen::Matrix<scalar_t<DZ>, Eigen::Dynamic, Eigen::Dynamic> squared_distances(
    const Eigen::DenseBase<DZ>& z, const Eigen::DenseBase<DE>& codebook) {
  constexpr const char* fn = "latent::squared_distances";
  using S = scalar_t<DZ>;
  static_assert(std::is_same<S, scalar_t<DE>>::value,
                "latent::squared_distances: z and codebook must have the same scalar type");
  detail::check_quantize_args(fn, z, codebook);
  using M = Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic>;
  const auto& zm = z.derived().matrix();
  const auto& em = codebook.derived().matrix();
  M out(codebook.cols(), z.cols());
  const Eigen::Matrix<S, Eigen::Dynamic, 1> en = em.colwise().squaredNorm().transpose();
  const Eigen::Matrix<S, 1, Eigen::Dynamic> zn = zm.colwise().squaredNorm();
  out.noalias() = (S(-2) * em.transpose()) * zm;
  for (Eigen::Index j = 0; j < out.cols(); ++j) {
    out.col(j).array() += en.array() + zn[j];
    for (Eigen::Index i = 0; i < out.rows(); ++i) {
      if (detail::real_value(out(i, j)) < 0) out(i, j) = S(0);
    }
  }
  return out;
}

}  // namespace latent
