// latent/distributions/gumbel_softmax.hpp: Gumbel-softmax / Concrete relaxed categorical
// latents (Jang, Gu & Poole 2017; Maddison, Mnih & Teh 2017), one distribution per column of
// K x B logits, temperature tau > 0:
//
//   y = softmax((l + g) / tau),  g_k ~ Gumbel(0, 1)                   (Jang et al. eq. 1)
//   log p(y) = log (K-1)! + (K-1) log tau + sum_k (l_k - (tau + 1) log y_k)
//              - K log sum_k exp(l_k - tau log y_k)                   (Maddison et al. eq. 4)
//
// The density is with respect to the Lebesgue measure on the first K-1 coordinates of the
// simplex. Functions take and return log y where y could underflow (small tau): log y is
// computed by a log-softmax, never by log(softmax).
#pragma once

#include <cmath>

#include <Eigen/Core>

#include "latent/core/check.hpp"
#include "latent/core/math.hpp"
#include "latent/core/traits.hpp"
#include "latent/distributions/categorical.hpp"
#include "latent/distributions/diag_gaussian.hpp"
#include "latent/random/noise.hpp"

namespace latent {

/// A straight-through sample: `hard` is one-hot at argmax(soft) (used in the forward pass),
/// `soft` the relaxed sample whose gradient is used in the backward pass
/// (Jang et al. 2017, sec. 2.2: y_hard - stop_gradient(y_soft) + y_soft).
template <class S>
struct straight_through_sample {
  array_xx<S> hard;
  array_xx<S> soft;
};

namespace detail {
/// log_softmax((l + g) / tau) after the checks, which name the public function `fn`.
template <class DL, class DG, class T>
inline array_xx<scalar_t<DL>> gumbel_log_softmax_checked(const char* fn,
                                                         const Eigen::ArrayBase<DL>& logits,
                                                         const Eigen::ArrayBase<DG>& gumbel,
                                                         const T& temperature) {
  using S = scalar_t<DL>;
  check_same_shape(fn, "logits", logits, "gumbel", gumbel);
  check_non_empty(fn, "logits", logits);
  check_positive(fn, "temperature", temperature);
  return latent::log_softmax_colwise((logits.derived() + gumbel.derived()) / S(temperature));
}
}  // namespace detail

/// \f$\log y = \mathrm{log\_softmax}((l + g)/\tau)\f$ for given Gumbel noise g (K x B).
/// Returns an evaluated K x B array. Throws std::domain_error for a bad temperature.
template <class DL, class DG, class T>
inline array_xx<scalar_t<DL>> gumbel_softmax_log_rsample(const Eigen::ArrayBase<DL>& logits,
                                                         const Eigen::ArrayBase<DG>& gumbel,
                                                         const T& temperature) {
  return detail::gumbel_log_softmax_checked("latent::gumbel_softmax_log_rsample", logits, gumbel,
                                            temperature);
}

/// Relaxed sample \f$y = \mathrm{softmax}((l + g)/\tau)\f$ for given Gumbel noise g (K x B)
/// (Jang et al. 2017, eq. 1). Returns an evaluated K x B array whose columns sum to 1.
template <class DL, class DG, class T>
inline array_xx<scalar_t<DL>> gumbel_softmax_rsample(const Eigen::ArrayBase<DL>& logits,
                                                     const Eigen::ArrayBase<DG>& gumbel,
                                                     const T& temperature) {
  return detail::gumbel_log_softmax_checked("latent::gumbel_softmax_rsample", logits, gumbel,
                                            temperature)
      .exp();
}

/// gumbel_softmax_rsample with fresh Gumbel noise from `engine`.
template <class DL, class T>
inline array_xx<scalar_t<DL>> gumbel_softmax_sample(const Eigen::ArrayBase<DL>& logits,
                                                    const T& temperature, philox4x32& engine) {
  return gumbel_softmax_rsample(logits, gumbel_from_uniform(rand_uniform_like(logits, engine)),
                                temperature);
}

/// Straight-through Gumbel-softmax for given Gumbel noise: the one-hot argmax and the soft
/// sample (Jang et al. 2017, sec. 2.2). Returns evaluated K x B arrays.
template <class DL, class DG, class T>
inline straight_through_sample<scalar_t<DL>> gumbel_softmax_hard_rsample(
    const Eigen::ArrayBase<DL>& logits, const Eigen::ArrayBase<DG>& gumbel, const T& temperature) {
  using S = scalar_t<DL>;
  straight_through_sample<S> out;
  out.soft = gumbel_softmax_rsample(logits, gumbel, temperature);
  out.hard = array_xx<S>::Zero(out.soft.rows(), out.soft.cols());
  for (Eigen::Index j = 0; j < out.soft.cols(); ++j) {
    Eigen::Index k = 0;
    out.soft.col(j).maxCoeff(&k);
    out.hard(k, j) = S(1);
  }
  return out;
}

/// Straight-through Gumbel-softmax with fresh noise from `engine`.
template <class DL, class T>
inline straight_through_sample<scalar_t<DL>> gumbel_softmax_hard_sample(
    const Eigen::ArrayBase<DL>& logits, const T& temperature, philox4x32& engine) {
  return gumbel_softmax_hard_rsample(
      logits, gumbel_from_uniform(rand_uniform_like(logits, engine)), temperature);
}

/// VJP of gumbel_softmax_rsample with respect to the logits (the straight-through gradient
/// too, applied to the soft sample): for an upstream K x B gradient G on y,
/// \f$\partial/\partial l = \tfrac1\tau\,y\odot(G - \textstyle\sum_k y_k G_k)\f$.
/// Returns an evaluated K x B array.
template <class DY, class DG, class T>
inline array_xx<scalar_t<DY>> gumbel_softmax_vjp(const Eigen::ArrayBase<DY>& soft,
                                                 const Eigen::ArrayBase<DG>& grad_y,
                                                 const T& temperature) {
  using S = scalar_t<DY>;
  constexpr const char* fn = "latent::gumbel_softmax_vjp";
  check_same_shape(fn, "soft", soft, "grad_y", grad_y);
  check_positive(fn, "temperature", temperature);
  const row_x<S> dot = (soft.derived() * grad_y.derived()).colwise().sum();
  return (soft.derived() * (grad_y.derived().rowwise() - dot)) / S(temperature);
}

/// Log-density of the Concrete (Gumbel-softmax) distribution at the points whose logs are
/// log_y (K x B, each column on the simplex), for logits l and temperature tau
/// (Maddison et al. 2017, eq. 4): \f$\log(K-1)! + (K-1)\log\tau + \sum_k(l_k - (\tau+1)\log y_k)
/// - K\log\sum_k e^{l_k - \tau\log y_k}\f$. Returns an evaluated 1 x B row.
template <class DY, class DL, class T>
inline row_x<scalar_t<DY>> concrete_log_prob(const Eigen::ArrayBase<DY>& log_y,
                                             const Eigen::ArrayBase<DL>& logits,
                                             const T& temperature) {
  using S = scalar_t<DY>;
  using std::lgamma;
  using std::log;
  constexpr const char* fn = "latent::concrete_log_prob";
  check_same_shape(fn, "log_y", log_y, "logits", logits);
  check_non_empty(fn, "logits", logits);
  check_positive(fn, "temperature", temperature);
  const double k = double(logits.rows());
  const S tau(temperature);
  const array_xx<S> l = latent::log_softmax_colwise(logits.derived());  // location: normalized
  const array_xx<S> score = l - tau * log_y.derived();
  const S c = S(lgamma(k)) + S(k - 1) * log(tau);
  return (l - (tau + S(1)) * log_y.derived()).colwise().sum() -
         S(k) * latent::log_sum_exp_colwise(score) + c;
}

/// Single-sample estimate of \f$\mathrm{KL}(q\|p)\f$ between Concrete distributions with
/// logits l_q and l_p at the draw log_y ~ q: \f$\log q(y) - \log p(y)\f$ (Maddison et al.
/// 2017, sec. 3.3 / app. C, the relaxed KL). Returns an evaluated 1 x B row.
template <class DY, class DQ, class DP, class T>
inline row_x<scalar_t<DY>> concrete_kl_sample(const Eigen::ArrayBase<DY>& log_y,
                                              const Eigen::ArrayBase<DQ>& q_logits,
                                              const T& q_temperature,
                                              const Eigen::ArrayBase<DP>& p_logits,
                                              const T& p_temperature) {
  return concrete_log_prob(log_y, q_logits, q_temperature) -
         concrete_log_prob(log_y, p_logits, p_temperature);
}

}  // namespace latent
