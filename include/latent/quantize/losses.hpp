// latent/quantize/losses.hpp: the VQ-VAE codebook and commitment losses, their gradients,
// stop-gradient and the straight-through estimator.
//
// van den Oord et al. 2017, "Neural Discrete Representation Learning", eq. 3:
//     L = log p(x | z_q(x)) + ||sg[z_e(x)] - e||^2 + beta ||z_e(x) - sg[e]||^2
// (the first term is the user's decoder likelihood). sg is the stop-gradient: identity in the
// forward pass, zero derivative. beta (0.25 in the paper) weights the commitment term, the
// one that trains the encoder; the codebook term trains the codes.
//
// Reductions are per sample (sum over the D coordinates of each column, returning a 1 x B
// row); the paper's loss for a batch is their sum. Implementations that use a mean over all
// coefficients (Sonnet, most PyTorch code) equal these rows summed and divided by D * B.
//
// Gradients are those of the batch sum  sum_b L_b:
//     dL/dz_e  = 2 beta (z_e - z_q)                      (commitment; the codebook term has sg[z_e])
//     dL/de_k  = 2 sum_{b : k_b = k} (e_k - z_e,b)         (codebook; the commitment term has sg[e])
// and the straight-through estimator (paper sec. 3.1) copies the decoder's gradient at z_q to
// z_e: the encoder receives  dL_rec/dz_q + 2 beta (z_e - z_q).
#pragma once

#include <cstdint>
#include <string>
#include <type_traits>

#include <Eigen/Core>

#include "latent/core/check.hpp"
#include "latent/core/traits.hpp"

namespace latent {

namespace detail {

template <class S>
struct stop_gradient_op {
  S operator()(const S& x) const {
    if constexpr (is_autodiff_v<S>) {
      using Der = typename S::DerType;
      using DerPlain = std::decay_t<typename Eigen::internal::remove_all<Der>::type>;
      return S(x.value(), DerPlain::Zero(x.derivatives().size()));
    } else {
      return x;
    }
  }
};

template <class S>
struct straight_through_op {
  // value of z_q, derivatives of z_e.
  S operator()(const S& z_e, const S& z_q) const {
    if constexpr (is_autodiff_v<S>) {
      return S(z_q.value(), z_e.derivatives());
    } else {
      return z_q;
    }
  }
};

template <class A, class B>
inline void check_loss_args(const char* function, const Eigen::DenseBase<A>& z_e,
                            const Eigen::DenseBase<B>& z_q) {
  static_assert(std::is_same<scalar_t<A>, scalar_t<B>>::value,
                "latent: z_e and z_q must have the same scalar type");
  check_same_shape(function, "z_e", z_e, "z_q", z_q);
}

}  // namespace detail

/// \brief Stop-gradient sg[x]: the values of x with zero derivatives (AutoDiffScalar); the
/// identity for float and double (van den Oord et al. 2017, eq. 3).
/// \return an Eigen expression (array).
template <class Derived>
inline auto stop_gradient(const Eigen::DenseBase<Derived>& x) {
  using S = scalar_t<Derived>;
  return x.derived().array().unaryExpr(detail::stop_gradient_op<S>());
}

/// \brief Straight-through estimator (van den Oord et al. 2017, sec. 3.1; Bengio et al. 2013):
/// forward value z_q, derivatives those of z_e, i.e. \f$ z_e + sg[z_q - z_e] \f$ without the
/// rounding of that sum (the value is exactly z_q). For float/double it is z_q itself; the
/// backward rule is straight_through_gradient().
/// \return an Eigen expression (array).
template <class DE, class DQ>
inline auto straight_through(const Eigen::DenseBase<DE>& z_e, const Eigen::DenseBase<DQ>& z_q) {
  detail::check_loss_args("latent::straight_through", z_e, z_q);
  using S = scalar_t<DE>;
  return z_e.derived().array().binaryExpr(z_q.derived().array(), detail::straight_through_op<S>());
}

/// \brief Codebook loss per sample, \f$ \|sg[z_e] - z_q\|^2 \f$ (van den Oord et al. 2017, eq. 3,
/// second term), with z_q the chosen codes. With AutoDiffScalar only z_q's derivatives flow.
/// \return an evaluated 1 x B array.
template <class DE, class DQ>
inline Eigen::Array<scalar_t<DE>, 1, Eigen::Dynamic> vq_codebook_loss(
    const Eigen::DenseBase<DE>& z_e, const Eigen::DenseBase<DQ>& z_q) {
  detail::check_loss_args("latent::vq_codebook_loss", z_e, z_q);
  return (stop_gradient(z_e) - z_q.derived().array()).square().colwise().sum();
}

/// \brief Commitment loss per sample, \f$ \beta \|z_e - sg[z_q]\|^2 \f$ (van den Oord et al.
/// 2017, eq. 3, third term; beta = 0.25 in the paper). With AutoDiffScalar only z_e's
/// derivatives flow. beta must be finite and >= 0.
/// \return an evaluated 1 x B array.
template <class DE, class DQ, class B>
inline Eigen::Array<scalar_t<DE>, 1, Eigen::Dynamic> vq_commitment_loss(
    const Eigen::DenseBase<DE>& z_e, const Eigen::DenseBase<DQ>& z_q, const B& beta) {
  detail::check_loss_args("latent::vq_commitment_loss", z_e, z_q);
  check_nonnegative("latent::vq_commitment_loss", "beta", beta);
  using S = scalar_t<DE>;
  return S(beta) * (z_e.derived().array() - stop_gradient(z_q)).square().colwise().sum();
}

/// \brief Both VQ terms per sample:
/// \f$ \|sg[z_e] - z_q\|^2 + \beta \|z_e - sg[z_q]\|^2 \f$ (van den Oord et al. 2017, eq. 3).
/// \return an evaluated 1 x B array.
template <class DE, class DQ, class B>
inline Eigen::Array<scalar_t<DE>, 1, Eigen::Dynamic> vq_loss(const Eigen::DenseBase<DE>& z_e,
                                                             const Eigen::DenseBase<DQ>& z_q,
                                                             const B& beta) {
  detail::check_loss_args("latent::vq_loss", z_e, z_q);
  check_nonnegative("latent::vq_loss", "beta", beta);
  using S = scalar_t<DE>;
  const auto ze = z_e.derived().array();
  const auto zq = z_q.derived().array();
  return (stop_gradient(z_e) - zq).square().colwise().sum() +
         S(beta) * (ze - stop_gradient(z_q)).square().colwise().sum();
}

/// \brief Gradient of the batch-summed commitment loss with respect to the encoder output:
/// \f$ \partial/\partial z_e \sum_b \beta\|z_{e,b} - sg[z_{q,b}]\|^2 = 2\beta (z_e - z_q) \f$.
/// \return an Eigen expression (D x B array).
template <class DE, class DQ, class B>
inline auto vq_commitment_gradient(const Eigen::DenseBase<DE>& z_e,
                                   const Eigen::DenseBase<DQ>& z_q, const B& beta) {
  detail::check_loss_args("latent::vq_commitment_gradient", z_e, z_q);
  check_nonnegative("latent::vq_commitment_gradient", "beta", beta);
  using S = scalar_t<DE>;
  return (S(2) * S(beta)) * (z_e.derived().array() - z_q.derived().array());
}

/// \brief Straight-through backward rule: the gradient at z_q is copied to z_e
/// (van den Oord et al. 2017, sec. 3.1). \return an Eigen expression (the argument itself).
template <class DG>
inline auto straight_through_gradient(const Eigen::DenseBase<DG>& grad_z_q) {
  return grad_z_q.derived().array();
}

/// \brief Everything the encoder output receives in a VQ-VAE step: the decoder's gradient at
/// z_q passed straight through plus the commitment gradient,
/// \f$ g_{z_e} = g_{z_q} + 2\beta (z_e - z_q) \f$ (van den Oord et al. 2017, eq. 3 and sec. 3.1).
/// \return an Eigen expression (D x B array).
template <class DG, class DE, class DQ, class B>
inline auto vq_encoder_gradient(const Eigen::DenseBase<DG>& grad_z_q,
                                const Eigen::DenseBase<DE>& z_e, const Eigen::DenseBase<DQ>& z_q,
                                const B& beta) {
  constexpr const char* fn = "latent::vq_encoder_gradient";
  detail::check_loss_args(fn, z_e, z_q);
  check_same_shape(fn, "grad_z_q", grad_z_q, "z_e", z_e);
  check_nonnegative(fn, "beta", beta);
  using S = scalar_t<DE>;
  return grad_z_q.derived().array() +
         (S(2) * S(beta)) * (z_e.derived().array() - z_q.derived().array());
}

/// \brief Gradient of the batch-summed codebook loss with respect to the codebook, written
/// into `grad` (D x K): \f$ \partial/\partial e_k \sum_b \|sg[z_{e,b}] - e_{k_b}\|^2
/// = 2 \sum_{b: k_b = k} (e_k - z_{e,b}) \f$ (van den Oord et al. 2017, eq. 3).
/// Unused codes get 0. Writes its output, allocates nothing; validates (shapes, every index
/// in [0, K - 1]) before writing.
template <class DE, class DI, class DC, class DG>
inline void vq_codebook_gradient(const Eigen::DenseBase<DE>& z_e,
                                 const Eigen::DenseBase<DI>& indices,
                                 const Eigen::DenseBase<DC>& codebook,
                                 const Eigen::DenseBase<DG>& grad_out) {
  constexpr const char* fn = "latent::vq_codebook_gradient";
  static_assert(std::is_integral<scalar_t<DI>>::value,
                "latent::vq_codebook_gradient: indices must have an integer scalar");
  auto& grad = const_cast<Eigen::DenseBase<DG>&>(grad_out);
  check_rows(fn, "codebook", codebook, z_e.rows());
  check_size(fn, "indices", indices, z_e.cols());
  check_same_shape(fn, "grad", grad, "codebook", codebook);
  const auto& idx = indices.derived();
  for (Eigen::Index b = 0; b < idx.size(); ++b) {
    const auto kb = static_cast<std::int64_t>(idx.coeff(b));
    if (kb < 0 || kb >= codebook.cols()) {
      const std::string name = "indices[" + std::to_string(b) + "]";
      check_index(fn, name.c_str(), kb, codebook.cols());
    }
  }
  using S = scalar_t<DG>;
  grad.derived().setZero();
  const auto& e = codebook.derived();
  const auto& z = z_e.derived();
  for (Eigen::Index b = 0; b < idx.size(); ++b) {
    const Eigen::Index k = static_cast<Eigen::Index>(idx.coeff(b));
    grad.derived().col(k).array() += S(2) * (e.col(k).array() - z.col(b).array());
  }
}

}  // namespace latent
