// latent/quantize/ema.hpp: codebook training without codebook gradients. Exponential moving
// averages of code counts and code sums (VQ-VAE appendix A.1), Laplace smoothing (Sonnet's
// VectorQuantizerEMA), code usage, perplexity, and re-initialization of dead codes from the
// current batch (Dhariwal et al. 2020, Jukebox, sec. 3.1 "random restarts").
//
// EMA update for a batch with assignments k_b (van den Oord et al. 2017, appendix A.1, eq. 6-8):
//     n_k = #{b : k_b = k},   s_k = sum_{b : k_b = k} z_b
//     N_k <- gamma N_k + (1 - gamma) n_k
//     m_k <- gamma m_k + (1 - gamma) s_k
//     e_k  = m_k / N~_k,   N~_k = (N_k + eps) / (n + K eps) * n,   n = sum_k N_k
// N~ is Sonnet's Laplace smoothing (vqvae.py, VectorQuantizerEMA): it keeps e_k finite for a
// code that has not been used, and preserves the total count n. With zero_debias (Sonnet 2's
// snt.ExponentialMovingAverage; TF1 assign_moving_average's default) the hidden sums start at
// zero and N, m are divided by (1 - gamma^t) after t updates; without it (the paper; most
// PyTorch ports) N starts at 0 and m at the initial codebook.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <type_traits>

#include <Eigen/Core>

#include "latent/core/check.hpp"
#include "latent/core/traits.hpp"
#include "latent/random/noise.hpp"
#include "latent/random/philox.hpp"

namespace latent {

/// State of EMA codebook training (a small value type; the codebook itself is the caller's).
/// Create it with make_vq_ema_state(). Members are public for checkpointing.
template <class S>
struct vq_ema_state {
  Eigen::Array<S, 1, Eigen::Dynamic> cluster_size;      ///< hidden EMA of counts N_k (1 x K)
  Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic> embed_sum;  ///< hidden EMA of sums m_k (D x K)
  std::int64_t steps = 0;   ///< number of updates so far (t)
  double decay = 0.99;      ///< gamma in [0, 1)
  double epsilon = 1e-5;    ///< Laplace smoothing, > 0
  bool zero_debias = false;
  // Scratch, sized once: per-batch counts and sums, uniforms for dead-code restarts.
  Eigen::Array<S, 1, Eigen::Dynamic> batch_count;
  Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic> batch_sum;
  Eigen::Array<double, Eigen::Dynamic, 1> uniforms;
  Eigen::Array<Eigen::Index, 1, Eigen::Dynamic> chosen;
};

/// \brief A fresh EMA state for `codebook` (D x K). decay must lie in [0, 1) (0.99 in the
/// paper), epsilon must be positive and finite (1e-5 in Sonnet). Without zero_debias the hidden
/// sums start at N = 0, m = codebook (paper, appendix A.1); with it at N = 0, m = 0 and
/// averages are debiased by 1 / (1 - decay^t) (Sonnet 2). \return an evaluated state.
template <class DC>
inline vq_ema_state<scalar_t<DC>> make_vq_ema_state(const Eigen::DenseBase<DC>& codebook,
                                                    double decay = 0.99, double epsilon = 1e-5,
                                                    bool zero_debias = false) {
  constexpr const char* fn = "latent::make_vq_ema_state";
  using S = scalar_t<DC>;
  if (codebook.cols() == 0 || codebook.rows() == 0) {
    detail::throw_shape(fn, "codebook is empty (" +
                                detail::shape_string(codebook.rows(), codebook.cols()) +
                                "), but must have at least one code of dimension >= 1");
  }
  if (!(decay >= 0.0 && decay < 1.0)) {
    detail::throw_domain(fn, "decay", detail::format_value(decay), "in [0, 1)");
  }
  check_positive(fn, "epsilon", epsilon);
  vq_ema_state<S> st;
  st.decay = decay;
  st.epsilon = epsilon;
  st.zero_debias = zero_debias;
  st.cluster_size = Eigen::Array<S, 1, Eigen::Dynamic>::Zero(codebook.cols());
  if (zero_debias) {
    st.embed_sum.setZero(codebook.rows(), codebook.cols());
  } else {
    st.embed_sum = codebook.derived().matrix();
  }
  st.batch_count.resize(codebook.cols());
  st.batch_sum.resize(codebook.rows(), codebook.cols());
  return st;
}

namespace detail {

template <class DI>
inline void check_indices(const char* function, const Eigen::DenseBase<DI>& indices,
                          Eigen::Index k) {
  static_assert(std::is_integral<scalar_t<DI>>::value, "latent: indices must be integers");
  const auto& idx = indices.derived();
  for (Eigen::Index b = 0; b < idx.size(); ++b) {
    const auto kb = static_cast<std::int64_t>(idx.coeff(b));
    if (kb < 0 || kb >= k) {
      const std::string name = "indices[" + std::to_string(b) + "]";
      check_index(function, name.c_str(), kb, k);
    }
  }
}

/// 1 / (1 - decay^t) in double, or 1 without debiasing.
template <class S>
inline double debias_factor(const vq_ema_state<S>& st) {
  if (!st.zero_debias || st.steps == 0) return 1.0;
  return 1.0 / -std::expm1(static_cast<double>(st.steps) * std::log(st.decay));
}

template <class S>
inline void check_state(const char* function, const vq_ema_state<S>& st) {
  if (st.cluster_size.size() == 0 || st.embed_sum.cols() != st.cluster_size.size()) {
    throw_shape(function, "state is not initialized (use latent::make_vq_ema_state)");
  }
}

}  // namespace detail

/// \brief The averaged (debiased if requested) EMA counts N_k. \return an evaluated 1 x K array.
template <class S>
inline Eigen::Array<S, 1, Eigen::Dynamic> vq_ema_counts(const vq_ema_state<S>& st) {
  return st.cluster_size * S(detail::debias_factor(st));
}

/// \brief One EMA codebook step (van den Oord et al. 2017, appendix A.1, eq. 6-8, with Sonnet's
/// Laplace smoothing; formulas in the header comment): updates `state` with the batch z (D x B)
/// and its assignments, and writes the new codebook
/// \f$ e_k = m_k / \tilde N_k \f$ into `codebook_out` (D x K).
/// Allocates nothing after make_vq_ema_state(); validates shapes and every index before
/// writing. B must be >= 1.
template <class S, class DZ, class DI, class DC>
inline void vq_ema_update(vq_ema_state<S>& st, const Eigen::DenseBase<DZ>& z,
                          const Eigen::DenseBase<DI>& indices,
                          const Eigen::DenseBase<DC>& codebook_out) {
  constexpr const char* fn = "latent::vq_ema_update";
  static_assert(std::is_same<S, scalar_t<DZ>>::value,
                "latent::vq_ema_update: z must have the scalar type of the state");
  auto& codebook = const_cast<Eigen::DenseBase<DC>&>(codebook_out);
  detail::check_state(fn, st);
  const Eigen::Index d = st.embed_sum.rows(), k = st.embed_sum.cols();
  check_non_empty(fn, "z", z);
  check_rows(fn, "z", z, d);
  check_size(fn, "indices", indices, z.cols());
  if (codebook.rows() != d || codebook.cols() != k) {
    detail::throw_shape(fn, "codebook is " + detail::shape_string(codebook.rows(), codebook.cols()) +
                                " but the state is for " + detail::shape_string(d, k) +
                                " codebooks");
  }
  detail::check_indices(fn, indices, k);

  const auto& zz = z.derived();
  const auto& idx = indices.derived();
  st.batch_count.setZero();
  st.batch_sum.setZero();
  for (Eigen::Index b = 0; b < zz.cols(); ++b) {
    const Eigen::Index kb = static_cast<Eigen::Index>(idx.coeff(b));
    st.batch_count[kb] += S(1);
    st.batch_sum.col(kb) += zz.col(b).matrix();
  }
  const S g = S(st.decay), one_minus_g = S(1.0 - st.decay);
  st.cluster_size = g * st.cluster_size + one_minus_g * st.batch_count;
  st.embed_sum = g * st.embed_sum + one_minus_g * st.batch_sum;
  ++st.steps;

  const S c = S(detail::debias_factor(st));
  const S eps = S(st.epsilon);
  const S n = c * st.cluster_size.sum();
  const S scale = n / (n + S(double(k)) * eps);
  for (Eigen::Index j = 0; j < k; ++j) {
    const S smoothed = (c * st.cluster_size[j] + eps) * scale;
    codebook.derived().col(j).matrix() = st.embed_sum.col(j) * (c / smoothed);
  }
}

/// \brief Number of assignments of each code, \f$ n_k = \#\{b: k_b = k\} \f$, written into
/// `counts` (length K, any arithmetic scalar). Validates every index first. Writes its output.
template <class DI, class DN>
inline void code_usage_into(const Eigen::DenseBase<DI>& indices,
                            const Eigen::DenseBase<DN>& counts_out) {
  constexpr const char* fn = "latent::code_usage_into";
  auto& counts = const_cast<Eigen::DenseBase<DN>&>(counts_out);
  if (counts.size() == 0) {
    detail::throw_shape(fn, "counts is empty, but must have one element per code (K >= 1)");
  }
  detail::check_indices(fn, indices, counts.size());
  counts.derived().setZero();
  const auto& idx = indices.derived();
  for (Eigen::Index b = 0; b < idx.size(); ++b)
    counts.derived().coeffRef(static_cast<Eigen::Index>(idx.coeff(b))) += 1;
}

/// \brief Code usage counts for K codes. \return an evaluated 1 x K integer array.
template <class DI>
inline Eigen::Array<Eigen::Index, 1, Eigen::Dynamic> code_usage(const Eigen::DenseBase<DI>& indices,
                                                                 Eigen::Index k) {
  if (k < 1) {
    throw std::domain_error("latent::code_usage: K = " + std::to_string(k) +
                            " is out of range [1, inf)");
  }
  Eigen::Array<Eigen::Index, 1, Eigen::Dynamic> counts(k);
  code_usage_into(indices, counts);
  return counts;
}

/// \brief Codebook perplexity \f$ \exp(-\sum_k p_k \log p_k),\; p_k = n_k / \sum_j n_j \f$
/// (with 0 log 0 = 0), from counts (integer or real, e.g. vq_ema_counts()); 1 when a single
/// code is used, K when all are used equally (Sonnet's VectorQuantizer "perplexity" output).
/// Counts must be finite, >= 0, and not all 0. \return a double.
template <class DN>
inline double perplexity(const Eigen::DenseBase<DN>& counts) {
  constexpr const char* fn = "latent::perplexity";
  check_non_empty(fn, "counts", counts);
  const auto& c = counts.derived();
  double total = 0;
  for (Eigen::Index i = 0; i < c.size(); ++i) {
    const double v = value_of(c.coeff(i));
    if (!(v >= 0) || !std::isfinite(v)) {
      const std::string name = "counts[" + std::to_string(i) + "]";
      detail::throw_domain(fn, name, detail::format_value(v), "non-negative and finite");
    }
    total += v;
  }
  if (!(total > 0)) {
    detail::throw_domain(fn, "the total count", detail::format_value(total), "positive");
  }
  double entropy = 0;
  for (Eigen::Index i = 0; i < c.size(); ++i) {
    const double v = value_of(c.coeff(i));
    if (v > 0) {
      const double p = v / total;
      entropy -= p * std::log(p);
    }
  }
  return std::exp(entropy);
}

/// \brief Perplexity of the code assignments of a batch, perplexity(code_usage(indices, K)).
/// \return a double.
template <class DI>
inline double perplexity(const Eigen::DenseBase<DI>& indices, Eigen::Index k) {
  check_non_empty("latent::perplexity", "indices", indices);
  return perplexity(code_usage(indices, k));
}

namespace detail {

template <class DN>
inline Eigen::Index count_dead(const char* function, const Eigen::DenseBase<DN>& usage,
                               double threshold) {
  check_finite(function, "threshold", threshold);
  Eigen::Index n = 0;
  for (Eigen::Index k = 0; k < usage.size(); ++k) n += (value_of(usage.derived().coeff(k)) < threshold);
  return n;
}

template <class DC, class DN, class DZ, class DB>
inline void check_reinit_args(const char* function, const Eigen::DenseBase<DC>& codebook,
                              const Eigen::DenseBase<DN>& usage, const Eigen::DenseBase<DZ>& z,
                              const Eigen::DenseBase<DB>& chosen, Eigen::Index n_dead) {
  static_assert(std::is_integral<scalar_t<DB>>::value,
                "latent: chosen batch indices must be integers");
  check_size(function, "usage", usage, codebook.cols());
  check_rows(function, "z", z, codebook.rows());
  if (n_dead == 0) return;
  check_non_empty(function, "z", z);
  if (chosen.size() < n_dead) {
    throw_shape(function, "chosen has " + std::to_string(chosen.size()) + " elements but " +
                              std::to_string(n_dead) +
                              " codes are dead; it needs one batch index per dead code");
  }
  for (Eigen::Index j = 0; j < n_dead; ++j) {
    const auto v = static_cast<std::int64_t>(chosen.derived().coeff(j));
    if (v < 0 || v >= z.cols()) {
      const std::string name = "chosen[" + std::to_string(j) + "]";
      check_index(function, name.c_str(), v, z.cols());
    }
  }
}

/// floor(u * B) for uniforms in (0, 1), clamped to B - 1 against rounding up.
template <class DU, class DB>
inline void uniforms_to_columns(const DU& u, Eigen::Index b, DB& out) {
  for (Eigen::Index j = 0; j < u.size(); ++j) {
    const auto c = static_cast<Eigen::Index>(u[j] * static_cast<double>(b));
    out[j] = c < b ? c : b - 1;
  }
}

}  // namespace detail

/// \brief Re-initializes dead codes from the current batch (Jukebox random restarts,
/// Dhariwal et al. 2020, sec. 3.1): every code k with usage_k < threshold, in increasing k,
/// becomes \f$ e_k = z_{c_j} \f$ with c_j the next entry of `chosen` (batch column indices).
/// usage may be batch counts (code_usage) or EMA counts. Writes `codebook` in place;
/// validates everything first. \return the number of codes re-initialized.
template <class DC, class DN, class DZ, class DB>
inline Eigen::Index vq_reinit_dead_codes(const Eigen::DenseBase<DC>& codebook_inout,
                                         const Eigen::DenseBase<DN>& usage, double threshold,
                                         const Eigen::DenseBase<DZ>& z,
                                         const Eigen::DenseBase<DB>& chosen) {
  constexpr const char* fn = "latent::vq_reinit_dead_codes";
  auto& codebook = const_cast<Eigen::DenseBase<DC>&>(codebook_inout);
  const Eigen::Index n_dead = detail::count_dead(fn, usage, threshold);
  detail::check_reinit_args(fn, codebook, usage, z, chosen, n_dead);
  Eigen::Index j = 0;
  for (Eigen::Index k = 0; k < codebook.cols(); ++k) {
    if (value_of(usage.derived().coeff(k)) < threshold) {
      codebook.derived().col(k).matrix() =
          z.derived().col(static_cast<Eigen::Index>(chosen.derived().coeff(j++))).matrix();
    }
  }
  return n_dead;
}

/// \brief As above, with the batch columns drawn uniformly (with replacement) from `engine`:
/// K uniforms are always drawn, so the engine advances by the same amount whatever the number
/// of dead codes. \return the number of codes re-initialized.
template <class DC, class DN, class DZ>
inline Eigen::Index vq_reinit_dead_codes(const Eigen::DenseBase<DC>& codebook,
                                         const Eigen::DenseBase<DN>& usage, double threshold,
                                         const Eigen::DenseBase<DZ>& z, philox4x32& engine) {
  const Eigen::Index k = codebook.cols();
  const Eigen::ArrayXd u = rand_uniform<Eigen::ArrayXd>(k, 1, engine);
  Eigen::Array<Eigen::Index, Eigen::Dynamic, 1> chosen(k);
  detail::uniforms_to_columns(u, z.cols(), chosen);
  return vq_reinit_dead_codes(codebook, usage, threshold, z, chosen);
}

/// \brief Dead-code restart for EMA training: codes whose averaged EMA count
/// (vq_ema_counts) is below `threshold` get \f$ e_k = z_{c_j} \f$, and their EMA statistics
/// are reset to one observation of that vector (N_k = 1, m_k = z_{c_j}, as Jukebox does), so
/// the next update does not pull them back. \return the number of codes re-initialized.
template <class S, class DC, class DZ, class DB>
inline Eigen::Index vq_ema_reinit_dead_codes(vq_ema_state<S>& st,
                                             const Eigen::DenseBase<DC>& codebook_inout,
                                             double threshold, const Eigen::DenseBase<DZ>& z,
                                             const Eigen::DenseBase<DB>& chosen) {
  constexpr const char* fn = "latent::vq_ema_reinit_dead_codes";
  auto& codebook = const_cast<Eigen::DenseBase<DC>&>(codebook_inout);
  detail::check_state(fn, st);
  if (codebook.rows() != st.embed_sum.rows() || codebook.cols() != st.embed_sum.cols()) {
    detail::throw_shape(fn, "codebook is " + detail::shape_string(codebook.rows(), codebook.cols()) +
                                " but the state is for " +
                                detail::shape_string(st.embed_sum.rows(), st.embed_sum.cols()) +
                                " codebooks");
  }
  const S c = S(detail::debias_factor(st));
  const auto usage = st.cluster_size * c;
  const Eigen::Index n_dead = detail::count_dead(fn, usage, threshold);
  detail::check_reinit_args(fn, codebook, usage, z, chosen, n_dead);
  Eigen::Index j = 0;
  for (Eigen::Index k = 0; k < codebook.cols(); ++k) {
    if (value_of(st.cluster_size[k] * c) < threshold) {
      const Eigen::Index col = static_cast<Eigen::Index>(chosen.derived().coeff(j++));
      codebook.derived().col(k).matrix() = z.derived().col(col).matrix();
      st.cluster_size[k] = S(1) / c;  // averaged count 1
      st.embed_sum.col(k) = z.derived().col(col).matrix() / c;
    }
  }
  return n_dead;
}

/// \brief As above with the batch columns drawn from `engine` (K uniforms per call, in the
/// state's scratch: allocation-free after the first call).
template <class S, class DC, class DZ>
inline Eigen::Index vq_ema_reinit_dead_codes(vq_ema_state<S>& st,
                                             const Eigen::DenseBase<DC>& codebook,
                                             double threshold, const Eigen::DenseBase<DZ>& z,
                                             philox4x32& engine) {
  detail::check_state("latent::vq_ema_reinit_dead_codes", st);
  const Eigen::Index k = st.cluster_size.size();
  if (st.uniforms.size() != k) st.uniforms.resize(k);
  if (st.chosen.size() != k) st.chosen.resize(k);
  fill_rand_uniform(st.uniforms, engine);
  detail::uniforms_to_columns(st.uniforms, z.cols(), st.chosen);
  return vq_ema_reinit_dead_codes(st, codebook, threshold, z, st.chosen);
}

}  // namespace latent
