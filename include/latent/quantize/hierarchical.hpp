// latent/quantize/hierarchical.hpp: multi-codebook quantizers.
//
// Residual quantization (multistage VQ: Juang & Gray 1982; Zeghidour et al. 2021, SoundStream,
// Algorithm 1), N stages with codebooks C_1..C_N (each D x K_n):
//     r_0 = z;   k_n = nearest(r_{n-1}, C_n);   r_n = r_{n-1} - C_n[k_n]
//     z_q = sum_n C_n[k_n]
// Each stage's losses and EMA updates use its own input r_{n-1} and its chosen codes.
//
// VQ-VAE-2 two-level quantization (Razavi et al. 2019, "Generating Diverse High-Fidelity Images
// with VQ-VAE-2", Algorithm 1 and sec. 3.1): the top latent is quantized first, then the bottom
// latent is computed by the user's bottom encoder *conditioned on the quantized top* (in the
// paper: the top decoder's output upsampled and concatenated with the bottom features) and
// quantized with its own codebook:
//     e_top = Q_top(h_top);   h_bottom = f(e_top);   e_bottom = Q_bottom(h_bottom)
// The networks stay the user's: f is a callable from the quantized top (D_top x B_top) to the
// bottom latent (D_bottom x B_bottom); B_bottom may differ (a finer latent map).
#pragma once

#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <Eigen/Core>

#include "latent/core/check.hpp"
#include "latent/core/traits.hpp"
#include "latent/quantize/nearest.hpp"

namespace latent {

namespace detail {

template <class Codebooks, class DZ>
inline void check_stage_codebooks(const char* function, const Codebooks& codebooks,
                                  const Eigen::DenseBase<DZ>& z) {
  if (codebooks.size() == 0) {
    throw_shape(function, "codebooks is empty, but residual quantization needs at least one "
                          "stage");
  }
  for (std::size_t n = 0; n < codebooks.size(); ++n) {
    const auto& c = codebooks[n];
    if (c.cols() == 0 || c.rows() == 0) {
      throw_shape(function, "codebook of stage " + std::to_string(n) + " is empty (" +
                                shape_string(c.rows(), c.cols()) +
                                "), but must have at least one code of dimension >= 1");
    }
    if (c.rows() != z.rows()) {
      throw_shape(function, "codebook of stage " + std::to_string(n) + " has " +
                                std::to_string(c.rows()) + " rows but z has " +
                                std::to_string(z.rows()) +
                                "; every stage must have the dimension D of z");
    }
  }
}

}  // namespace detail

/// \brief Residual quantization into caller buffers (SoundStream Algorithm 1; formulas in the
/// header comment). `codebooks` is any indexable container (std::vector, std::array) of D x K_n
/// Eigen matrices/arrays with the scalar of z. Writes indices (N x B integers; row n = stage n)
/// and quantized (D x B, the sum of the chosen codes). Each stage has the nearest-code
/// semantics of quantize_into(); after the first call with given shapes nothing is allocated
/// for float/double data. Validates every shape and the data before writing.
template <class DZ, class Codebooks, class DI, class DQ, class V>
inline void residual_quantize_into(const Eigen::DenseBase<DZ>& z, const Codebooks& codebooks,
                                   const Eigen::DenseBase<DI>& indices_out,
                                   const Eigen::DenseBase<DQ>& quantized_out, vq_workspace<V>& ws) {
  constexpr const char* fn = "latent::residual_quantize_into";
  using S = scalar_t<DZ>;
  static_assert(std::is_same<V, detail::real_scalar_t<S>>::value,
                "latent::residual_quantize_into: the workspace scalar must be the real scalar "
                "of the data");
  static_assert(std::is_integral<scalar_t<DI>>::value,
                "latent::residual_quantize_into: indices must have an integer scalar");
  auto& indices = const_cast<Eigen::DenseBase<DI>&>(indices_out);
  auto& quantized = const_cast<Eigen::DenseBase<DQ>&>(quantized_out);
  detail::check_stage_codebooks(fn, codebooks, z);
  const auto n_stages = static_cast<Eigen::Index>(codebooks.size());
  if (indices.rows() != n_stages || indices.cols() != z.cols()) {
    detail::throw_shape(fn, "indices is " + detail::shape_string(indices.rows(), indices.cols()) +
                                " but must be " + detail::shape_string(n_stages, z.cols()) +
                                " (stages x batch)");
  }
  check_same_shape(fn, "quantized", quantized, "z", z);
  // Finiteness of z: the first stage checks the norms before anything is written; later
  // stages see differences of finite values, whose norms the core checks again.
  ws.residual = z.derived().matrix().unaryExpr([](const S& x) { return detail::real_value(x); });
  using M = Eigen::Matrix<V, Eigen::Dynamic, Eigen::Dynamic>;
  {
    // Validate the data once (norms of z and of every codebook) before writing anything.
    for (std::size_t n = 0; n < codebooks.size(); ++n) {
      const auto& c = codebooks[n];
      for (Eigen::Index j = 0; j < c.cols(); ++j) {
        const V v = c.col(j).matrix().unaryExpr([](const S& x) { return detail::real_value(x); })
                        .squaredNorm();
        if (!std::isfinite(v)) {
          detail::throw_domain(fn, "the squared norm of column " + std::to_string(j) +
                                       " of the codebook of stage " + std::to_string(n),
                               detail::format_value(double(v)), "finite");
        }
      }
    }
    for (Eigen::Index j = 0; j < z.cols(); ++j) {
      const V v = ws.residual.col(j).squaredNorm();
      if (!std::isfinite(v)) {
        detail::throw_domain(fn, "the squared norm of z column " + std::to_string(j),
                             detail::format_value(double(v)), "finite");
      }
    }
  }
  quantized.derived().setZero();
  for (Eigen::Index n = 0; n < n_stages; ++n) {
    const auto& c = codebooks[static_cast<std::size_t>(n)];
    auto emit = [&](Eigen::Index j, Eigen::Index kk, V) {
      indices.derived().coeffRef(n, j) = static_cast<scalar_t<DI>>(kk);
      quantized.derived().col(j).matrix() += c.col(kk).matrix();
    };
    if constexpr (is_autodiff_v<S>) {
      ws.codebook_values = c.derived().matrix().unaryExpr([](const S& x) { return detail::real_value(x); });
      detail::nearest_codes_core<V>(fn, ws.residual, ws.codebook_values, ws, emit);
      for (Eigen::Index j = 0; j < z.cols(); ++j)
        ws.residual.col(j) -= ws.codebook_values.col(indices.derived().coeff(n, j));
    } else {
      const Eigen::Ref<const M> cr(c.derived().matrix());
      detail::nearest_codes_core<V>(fn, ws.residual, cr, ws, emit);
      for (Eigen::Index j = 0; j < z.cols(); ++j)
        ws.residual.col(j) -= cr.col(static_cast<Eigen::Index>(indices.derived().coeff(n, j)));
    }
  }
}

/// Result of residual_quantize(): indices (N x B), quantized (D x B, sum of the chosen codes),
/// and per stage n its input r_{n-1} and its chosen codes C_n[k_n] (D x B each), what the
/// stage's losses (vq_loss(stage_inputs[n], stage_codes[n], beta)) and EMA updates need.
template <class S>
struct residual_result {
  Eigen::Array<Eigen::Index, Eigen::Dynamic, Eigen::Dynamic> indices;
  Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic> quantized;
  std::vector<Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic>> stage_inputs;
  std::vector<Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic>> stage_codes;
};

/// \brief Residual quantization with N stages (SoundStream Algorithm 1), allocating form with
/// the per-stage inputs and codes. Residuals are formed in S, so AutoDiffScalar derivatives
/// flow through every stage's input. \return an evaluated residual_result.
template <class DZ, class Codebooks>
inline residual_result<scalar_t<DZ>> residual_quantize(const Eigen::DenseBase<DZ>& z,
                                                       const Codebooks& codebooks) {
  constexpr const char* fn = "latent::residual_quantize";
  using S = scalar_t<DZ>;
  detail::check_stage_codebooks(fn, codebooks, z);
  const auto n_stages = static_cast<Eigen::Index>(codebooks.size());
  residual_result<S> r;
  r.indices.resize(n_stages, z.cols());
  r.quantized = Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic>::Zero(z.rows(), z.cols());
  Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic> residual = z.derived().matrix();
  for (Eigen::Index n = 0; n < n_stages; ++n) {
    const auto& c = codebooks[static_cast<std::size_t>(n)];
    vq_result<S> q;
    try {
      q = quantize(residual, c);
    } catch (const std::domain_error& err) {
      throw std::domain_error(std::string(fn) + ": stage " + std::to_string(n) + ": " + err.what());
    }
    r.indices.row(n) = q.indices;
    r.stage_inputs.push_back(residual);
    r.quantized += q.quantized;
    residual -= q.quantized;
    r.stage_codes.push_back(std::move(q.quantized));
  }
  return r;
}

/// Result of quantize_two_level(): the top level, the bottom latent computed from the quantized
/// top by the user's conditioning function, and the bottom level.
template <class S>
struct two_level_result {
  vq_result<S> top;
  Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic> bottom_latent;
  vq_result<S> bottom;
};

/// \brief VQ-VAE-2 two-level quantization (Razavi et al. 2019, Algorithm 1): quantizes z_top
/// (D_top x B_top) with top_codebook, calls `bottom_latent(top_quantized)` (the user's bottom
/// encoder conditioned on the quantized top; returns a D_bottom x B_bottom Eigen object), and
/// quantizes that with bottom_codebook. Losses: vq_loss(z_top, top.quantized, beta) +
/// vq_loss(bottom_latent, bottom.quantized, beta), both levels trained jointly.
/// \return an evaluated two_level_result.
template <class DZ, class DT, class F, class DB>
inline two_level_result<scalar_t<DZ>> quantize_two_level(const Eigen::DenseBase<DZ>& z_top,
                                                         const Eigen::DenseBase<DT>& top_codebook,
                                                         F&& bottom_latent,
                                                         const Eigen::DenseBase<DB>& bottom_codebook) {
  constexpr const char* fn = "latent::quantize_two_level";
  using S = scalar_t<DZ>;
  detail::check_quantize_args(fn, z_top, top_codebook);
  if (bottom_codebook.cols() == 0 || bottom_codebook.rows() == 0) {
    detail::throw_shape(fn, "bottom_codebook is empty (" +
                                detail::shape_string(bottom_codebook.rows(), bottom_codebook.cols()) +
                                "), but must have at least one code of dimension >= 1");
  }
  two_level_result<S> r;
  r.top = quantize(z_top, top_codebook);
  r.bottom_latent = std::forward<F>(bottom_latent)(
      static_cast<const Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic>&>(r.top.quantized));
  if (r.bottom_latent.rows() != bottom_codebook.rows()) {
    detail::throw_shape(fn, "the bottom latent has " + std::to_string(r.bottom_latent.rows()) +
                                " rows but bottom_codebook has " +
                                std::to_string(bottom_codebook.rows()) +
                                "; the conditioning function must return D_bottom x B_bottom");
  }
  r.bottom = quantize(r.bottom_latent, bottom_codebook);
  return r;
}

}  // namespace latent
