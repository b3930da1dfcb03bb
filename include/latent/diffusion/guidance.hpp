// latent/diffusion/guidance.hpp: classifier-free and classifier guidance.
//
//   classifier-free: eps = eps_u + w (eps_c - eps_u)            (Ho & Salimans 2022, eq. 6)
//   guidance rescale: eps' = phi eps std(eps_c)/std(eps) + (1 - phi) eps, std per sample
//                     (Lin et al. 2023, Sec. 3.4 / Alg. 2; diffusers rescale_noise_cfg)
//   classifier, mean form: mu + s Sigma grad log p(y | x_t)     (Dhariwal & Nichol 2021, Alg. 1)
//   classifier, eps form:  eps - s sqrt(1 - alpha_bar) grad log p(y | x_t)   (ibid., Alg. 2)
#pragma once

#include <cmath>
#include <cstdint>

#include <Eigen/Core>

#include "latent/core/check.hpp"
#include "latent/diffusion/schedule.hpp"

namespace latent {

/// Classifier-free guidance \f$\epsilon_u + w(\epsilon_c - \epsilon_u)\f$ (Ho & Salimans 2022,
/// eq. 6; w = 1 gives eps_c, diffusers' guidance_scale). Returns an element-wise expression.
template <class DerivedU, class DerivedC>
inline auto classifier_free_guidance(const Eigen::ArrayBase<DerivedU>& eps_uncond,
                                     const Eigen::ArrayBase<DerivedC>& eps_cond,
                                     double guidance_scale) {
  using S = scalar_t<DerivedU>;
  const char* fn = "latent::classifier_free_guidance";
  check_same_shape(fn, "eps_uncond", eps_uncond, "eps_cond", eps_cond);
  check_finite(fn, "guidance_scale", guidance_scale);
  return eps_uncond.derived() + S(guidance_scale) * (eps_cond.derived() - eps_uncond.derived());
}

/// Classifier-free guidance with guidance rescale phi (Lin et al. 2023, Sec. 3.4):
/// cfg = eps_u + w (eps_c - eps_u); per column j, out_j = cfg_j (phi std(eps_c_j)/std(cfg_j)
/// + 1 - phi), with the unbiased std over the D rows (torch.std, as diffusers). A column
/// whose cfg has zero spread is left unscaled. Writes into `out` (may alias either input);
/// allocates nothing; D >= 2.
template <class DerivedU, class DerivedC, class DerivedOut>
inline void classifier_free_guidance_rescaled(const Eigen::ArrayBase<DerivedU>& eps_uncond,
                                              const Eigen::ArrayBase<DerivedC>& eps_cond,
                                              double guidance_scale, double guidance_rescale,
                                              const Eigen::ArrayBase<DerivedOut>& out_) {
  using S = typename DerivedOut::Scalar;
  using std::sqrt;
  const char* fn = "latent::classifier_free_guidance_rescaled";
  check_same_shape(fn, "eps_uncond", eps_uncond, "eps_cond", eps_cond);
  check_same_shape(fn, "eps_uncond", eps_uncond, "out", out_);
  check_finite(fn, "guidance_scale", guidance_scale);
  check_in_range(fn, "guidance_rescale", guidance_rescale, 0.0, 1.0);
  if (eps_uncond.rows() < 2)
    detail::throw_shape(fn, "eps_uncond has " + std::to_string(eps_uncond.rows()) +
                                " rows, but the per-sample std needs at least 2");
  auto& out = const_cast<DerivedOut&>(out_.derived());
  const Eigen::Index D = out.rows();
  const S w = S(guidance_scale), phi = S(guidance_rescale);
  for (Eigen::Index j = 0; j < out.cols(); ++j) {
    const auto c = eps_cond.derived().col(j);
    const S mc = c.sum() / S(double(D));
    const S std_c = sqrt((c - mc).square().sum() / S(double(D - 1)));
    out.col(j) = eps_uncond.derived().col(j) + w * (c - eps_uncond.derived().col(j));
    const S mo = out.col(j).sum() / S(double(D));
    const S std_o = sqrt((out.col(j) - mo).square().sum() / S(double(D - 1)));
    if (!(value_of(std_o) > 0)) continue;
    out.col(j) *= phi * std_c / std_o + (S(1) - phi);
  }
}

/// Classifier guidance in mean form \f$\mu + s\,\sigma^2 \nabla_x \log p(y|x_t)\f$ with a
/// scalar variance (Dhariwal & Nichol 2021, Alg. 1). Returns an element-wise expression.
template <class DerivedM, class DerivedG>
inline auto classifier_guidance_mean(const Eigen::ArrayBase<DerivedM>& mean, double variance,
                                     const Eigen::ArrayBase<DerivedG>& grad_log_prob,
                                     double scale) {
  using S = scalar_t<DerivedM>;
  const char* fn = "latent::classifier_guidance_mean";
  check_same_shape(fn, "mean", mean, "grad_log_prob", grad_log_prob);
  check_nonnegative(fn, "variance", variance);
  check_finite(fn, "scale", scale);
  return mean.derived() + S(scale * variance) * grad_log_prob.derived().template cast<S>();
}

/// Classifier guidance in epsilon form \f$\hat\epsilon - s\sqrt{1-\bar\alpha_t}\,\nabla_x
/// \log p(y|x_t)\f$ (Dhariwal & Nichol 2021, Alg. 2). Returns an element-wise expression.
template <class DerivedE, class DerivedG>
inline auto classifier_guidance_eps(const noise_schedule& schedule, std::int64_t t,
                                    const Eigen::ArrayBase<DerivedE>& eps_hat,
                                    const Eigen::ArrayBase<DerivedG>& grad_log_prob,
                                    double scale) {
  using S = scalar_t<DerivedE>;
  const char* fn = "latent::classifier_guidance_eps";
  check_index(fn, "t", t, schedule.size());
  check_same_shape(fn, "eps_hat", eps_hat, "grad_log_prob", grad_log_prob);
  check_finite(fn, "scale", scale);
  return eps_hat.derived() -
         S(scale * schedule.sqrt_one_minus_alpha_bar()(t)) * grad_log_prob.derived().template cast<S>();
}

}  // namespace latent
