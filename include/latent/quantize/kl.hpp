// latent/quantize/kl.hpp: the KL term of the VQ-VAE ELBO.
//
// The VQ-VAE posterior q(z = k | x) is one-hot on the nearest code and the prior during the
// auto-encoder's training is uniform, p(z = k) = 1/K, so
//     KL(q(z|x) || p(z)) = sum_k q_k log(q_k / (1/K)) = log K
// per latent position (van den Oord et al. 2017, sec. 3.1: "the KL divergence is constant and
// equal to log K"). A latent map of L positions (e.g. 32 x 32 = 1024 for ImageNet in the
// paper) has independent codes, so the KL is L log K and the ELBO is
//     ELBO(x) = log p(x | z_q(x)) - L log K.
// The constant does not change the gradients, but it is needed to report bits/dim or to compare
// the bound with other models. vq_elbo() hands the constant row to latent::elbo()
// (objectives/elbo.hpp), the same estimator the Gaussian VAE uses.
#pragma once

#include <cmath>
#include <string>

#include <Eigen/Core>

#include "latent/core/check.hpp"
#include "latent/core/traits.hpp"
#include "latent/objectives/elbo.hpp"

namespace latent {

namespace detail {
inline void check_kl_args(const char* function, Eigen::Index k, Eigen::Index num_latents) {
  if (k < 1) {
    throw std::domain_error(std::string(function) + ": K = " + std::to_string(k) +
                            " is out of range [1, inf); the codebook needs at least one code");
  }
  if (num_latents < 0) {
    throw std::domain_error(std::string(function) + ": num_latents = " +
                            std::to_string(num_latents) + " is out of range [0, inf)");
  }
}
}  // namespace detail

/// \brief KL of a one-hot posterior from the uniform prior over K codes, for num_latents
/// independent positions: \f$ L \log K \f$ (van den Oord et al. 2017, sec. 3.1), in nats.
/// \return a scalar S (computed in double).
template <class S = double>
inline S vq_kl_uniform_prior(Eigen::Index k, Eigen::Index num_latents = 1) {
  detail::check_kl_args("latent::vq_kl_uniform_prior", k, num_latents);
  return S(static_cast<double>(num_latents) * std::log(static_cast<double>(k)));
}

/// \brief The same KL as a 1 x B row, the shape latent::elbo() takes.
/// \return an evaluated 1 x B array.
template <class S = double>
inline Eigen::Array<S, 1, Eigen::Dynamic> vq_kl_uniform_prior_row(Eigen::Index batch,
                                                                  Eigen::Index k,
                                                                  Eigen::Index num_latents = 1) {
  detail::check_kl_args("latent::vq_kl_uniform_prior_row", k, num_latents);
  if (batch < 0) {
    throw std::invalid_argument("latent::vq_kl_uniform_prior_row: batch = " +
                                std::to_string(batch) + ", but must be >= 0");
  }
  return Eigen::Array<S, 1, Eigen::Dynamic>::Constant(batch,
                                                      vq_kl_uniform_prior<S>(k, num_latents));
}

/// \brief VQ-VAE ELBO per sample, \f$ \frac1L\sum_l \log p(x|z_q) - L_{lat} \log K \f$, from an
/// S x B array of reconstruction log-likelihoods (rows: samples; one row for the deterministic
/// quantizer) through latent::elbo() (objectives/elbo.hpp).
/// \return an evaluated 1 x B row.
template <class DR>
inline auto vq_elbo(const Eigen::ArrayBase<DR>& log_likelihood, Eigen::Index k,
                    Eigen::Index num_latents = 1) {
  using S = scalar_t<DR>;
  const auto kl = vq_kl_uniform_prior_row<S>(log_likelihood.cols(), k, num_latents);
  return elbo(log_likelihood, kl);
}

}  // namespace latent
