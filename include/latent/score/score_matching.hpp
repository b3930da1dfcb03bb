// latent/score/score_matching.hpp: score matching objectives, per sample.
//
// Explicit score matching (the Fisher divergence integrand, Hyvarinen 2005 eq. (2)),
// denoising score matching (Vincent 2011, eq. (3.3)-(4.2); the sigma^2 weighting of Song &
// Ermon 2019, eqs. (5)-(6)), and sliced score matching (Song, Garg, Shi & Ermon 2019, eqs.
// (6)-(8), with the variance-reduced form SSM-VR). Every loss returns a 1 x B row of
// per-sample values (evaluated); the user averages.
#pragma once

#include <cmath>
#include <string>

#include <Eigen/Core>

#include "latent/core/check.hpp"
#include "latent/core/parallel.hpp"
#include "latent/core/traits.hpp"
#include "latent/score/detail/noise.hpp"

namespace latent {

/// Explicit score matching, per column: \f$\tfrac12 \lVert s_\theta(x) - \nabla_x \log p(x)
/// \rVert^2\f$ (Hyvarinen 2005, eq. (2)); its expectation over p is the Fisher divergence / 2.
/// Returns an evaluated 1 x B array.
template <class DerivedM, class DerivedT>
inline Eigen::Array<scalar_t<DerivedM>, 1, Eigen::Dynamic> explicit_score_matching(
    const Eigen::ArrayBase<DerivedM>& model_score, const Eigen::ArrayBase<DerivedT>& true_score) {
  using S = scalar_t<DerivedM>;
  check_same_shape("latent::explicit_score_matching", "model_score", model_score, "true_score",
                   true_score);
  return (model_score.derived() - true_score.derived()).square().colwise().sum() * S(0.5);
}

/// Perturbed data of denoising score matching \f$\tilde x = x + \sigma z\f$ (Vincent 2011).
/// Returns an expression.
template <class DerivedX, class DerivedZ>
inline auto dsm_perturb(const Eigen::ArrayBase<DerivedX>& x, double sigma,
                        const Eigen::ArrayBase<DerivedZ>& noise) {
  using S = scalar_t<DerivedX>;
  check_positive("latent::dsm_perturb", "sigma", sigma);
  check_same_shape("latent::dsm_perturb", "x", x, "noise", noise);
  return x.derived() + S(sigma) * noise.derived();
}

/// Target of denoising score matching: \f$\nabla_{\tilde x}\log q_\sigma(\tilde x \mid x) =
/// -(\tilde x - x)/\sigma^2 = -z/\sigma\f$ (Vincent 2011, eq. (4.2)). Returns an expression.
template <class DerivedZ>
inline auto dsm_target(const Eigen::ArrayBase<DerivedZ>& noise, double sigma) {
  using S = scalar_t<DerivedZ>;
  check_positive("latent::dsm_target", "sigma", sigma);
  return noise.derived() * S(-1.0 / sigma);
}

/// Weighting lambda(sigma) of the denoising loss.
enum class dsm_weighting {
  sigma_squared,  ///< lambda = sigma^2 (Song & Ermon 2019, Sec. 4.2): every level O(1)
  none            ///< lambda = 1: Vincent's plain loss at one noise level
};

/// Denoising score matching, per column, with score evaluated at x + sigma z:
/// \f$\lambda(\sigma)\,\tfrac12 \lVert s_\theta(x + \sigma z) + z/\sigma\rVert^2\f$; with
/// lambda = sigma^2 this is \f$\tfrac12\lVert \sigma s_\theta + z\rVert^2\f$ (Song & Ermon 2019,
/// eqs. (5)-(6)). Returns an evaluated 1 x B array.
template <class DerivedS, class DerivedZ>
inline Eigen::Array<scalar_t<DerivedS>, 1, Eigen::Dynamic> denoising_score_matching(
    const Eigen::ArrayBase<DerivedS>& score, const Eigen::ArrayBase<DerivedZ>& noise, double sigma,
    dsm_weighting weighting = dsm_weighting::sigma_squared) {
  using S = scalar_t<DerivedS>;
  constexpr const char* fn = "latent::denoising_score_matching";
  check_positive(fn, "sigma", sigma);
  check_same_shape(fn, "score", score, "noise", noise);
  const double w = weighting == dsm_weighting::sigma_squared ? 1.0 : 1.0 / (sigma * sigma);
  // lambda/2 ||s + z/sigma||^2 = lambda/(2 sigma^2) ||sigma s + z||^2.
  return (S(sigma) * score.derived() + noise.derived()).square().colwise().sum() * S(0.5 * w);
}

/// Denoising score matching with a noise level per column (1 x B sigmas, each > 0), as when
/// each sample of a batch draws its own level (Song & Ermon 2019, eq. (6)).
/// Returns an evaluated 1 x B array.
template <class DerivedS, class DerivedZ, class DerivedSig>
inline Eigen::Array<scalar_t<DerivedS>, 1, Eigen::Dynamic> denoising_score_matching(
    const Eigen::ArrayBase<DerivedS>& score, const Eigen::ArrayBase<DerivedZ>& noise,
    const Eigen::ArrayBase<DerivedSig>& sigmas,
    dsm_weighting weighting = dsm_weighting::sigma_squared) {
  using S = scalar_t<DerivedS>;
  constexpr const char* fn = "latent::denoising_score_matching";
  check_same_shape(fn, "score", score, "noise", noise);
  check_size(fn, "sigmas", sigmas, score.cols());
  for (Eigen::Index j = 0; j < sigmas.size(); ++j) {
    const double sig = value_of(sigmas.derived()(j));
    if (!(sig > 0.0 && std::isfinite(sig))) {
      detail::throw_domain(fn, "sigmas[" + std::to_string(j) + "]", detail::format_value(sig),
                           "positive and finite");
    }
  }
  Eigen::Array<S, 1, Eigen::Dynamic> out(score.cols());
  for (Eigen::Index j = 0; j < score.cols(); ++j) {
    const double sig = value_of(sigmas.derived()(j));
    const double w = weighting == dsm_weighting::sigma_squared ? 1.0 : 1.0 / (sig * sig);
    out(j) = (S(sig) * score.derived().col(j) + noise.derived().col(j)).square().sum() * S(0.5 * w);
  }
  return out;
}

/// Sliced score matching, per column (Song et al. 2019, "Sliced Score Matching", eq. (7)):
/// \f$v^\top \nabla_x s_\theta(x)\, v + \tfrac12 (v^\top s_\theta(x))^2\f$, or with
/// `variance_reduced` (SSM-VR, eq. (8), for projections with E[v v^T] = I)
/// \f$v^\top \nabla_x s_\theta(x)\, v + \tfrac12 \lVert s_\theta(x)\rVert^2\f$.
/// `jacobian_projection` is \f$\nabla_x (v^\top s_\theta(x))\f$ (one reverse-mode pass), or
/// equally the forward product \f$\nabla_x s_\theta(x) v\f$: the quadratic form is the same.
/// Returns an evaluated 1 x B array.
template <class DerivedS, class DerivedV, class DerivedJ>
inline Eigen::Array<scalar_t<DerivedS>, 1, Eigen::Dynamic> sliced_score_matching(
    const Eigen::ArrayBase<DerivedS>& score, const Eigen::ArrayBase<DerivedV>& projection,
    const Eigen::ArrayBase<DerivedJ>& jacobian_projection, bool variance_reduced = false) {
  using S = scalar_t<DerivedS>;
  constexpr const char* fn = "latent::sliced_score_matching";
  check_same_shape(fn, "score", score, "projection", projection);
  check_same_shape(fn, "score", score, "jacobian_projection", jacobian_projection);
  const auto quad = (projection.derived() * jacobian_projection.derived()).colwise().sum();
  if (variance_reduced) {
    return quad + score.derived().square().colwise().sum() * S(0.5);
  }
  return quad + (projection.derived() * score.derived()).colwise().sum().square() * S(0.5);
}

/// Rademacher projections (each entry +1 or -1 with probability 1/2) from `engine`, for
/// sliced score matching. Writes out.
template <class Derived>
inline void rademacher_projections(const Eigen::ArrayBase<Derived>& out, philox4x32& engine) {
  using S = scalar_t<Derived>;
  auto& o = detail::writable(out);
  detail::fill_uniform(o, engine);
  for (Eigen::Index j = 0; j < o.cols(); ++j) {
    for (Eigen::Index i = 0; i < o.rows(); ++i) o(i, j) = value_of(o(i, j)) < 0.5 ? S(-1) : S(1);
  }
}

/// Gaussian projections (standard normal entries) from `engine`. Writes out.
template <class Derived>
inline void gaussian_projections(const Eigen::ArrayBase<Derived>& out, philox4x32& engine) {
  detail::fill_noise(detail::writable(out), engine);
}

}  // namespace latent
