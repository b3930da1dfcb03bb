// latent/divergences/categorical_divergence.hpp: entropy, cross-entropy and KL of
// categorical distributions over K classes, one distribution per column of a K x B array,
// given either as probabilities or as logits (unnormalized log-probabilities).
//
//   H(p) = -sum_k p_k log p_k,  H(p, q) = -sum_k p_k log q_k,  KL(p || q) = H(p, q) - H(p)
// (Cover & Thomas, "Elements of Information Theory", eqs. 2.1 and 2.26), with 0 log 0 = 0.
// The logit forms go through a max-shifted log-softmax, so logits of any magnitude are safe.
// Probabilities are not validated element by element (that would be a second pass over the
// data); pass columns that sum to 1.
#pragma once

#include <limits>

#include <Eigen/Core>

#include "latent/core/check.hpp"
#include "latent/core/math.hpp"
#include "latent/core/traits.hpp"
#include "latent/distributions/diag_gaussian.hpp"

namespace latent {

/// Entropy \f$-\sum_k p_k\log p_k\f$ of each column of probabilities (0 log 0 = 0).
/// Returns an evaluated 1 x B row.
template <class DP>
inline row_x<scalar_t<DP>> categorical_entropy(const Eigen::ArrayBase<DP>& probs) {
  using S = scalar_t<DP>;
  check_non_empty("latent::categorical_entropy", "probs", probs);
  const auto& p = probs.derived();
  return -(p > S(0)).select(p * p.log(), S(0)).colwise().sum();
}

/// Entropy of each column of logits, \f$-\sum_k \mathrm{softmax}(l)_k\log\mathrm{softmax}(l)_k\f$
/// through the log-softmax. Returns an evaluated 1 x B row.
template <class DL>
inline row_x<scalar_t<DL>> categorical_entropy_logits(const Eigen::ArrayBase<DL>& logits) {
  using std::exp;
  check_non_empty("latent::categorical_entropy_logits", "logits", logits);
  const auto ls = latent::log_softmax_colwise(logits.derived());
  return -(ls.exp() * ls).colwise().sum();
}

/// Cross-entropy \f$-\sum_k p_k\log q_k\f$ per column (terms with p_k = 0 are 0, even where
/// q_k = 0). Returns an evaluated 1 x B row; +inf where p puts mass on a class q excludes.
template <class DP, class DQ>
inline row_x<scalar_t<DP>> categorical_cross_entropy(const Eigen::ArrayBase<DP>& p,
                                                     const Eigen::ArrayBase<DQ>& q) {
  using S = scalar_t<DP>;
  check_non_empty("latent::categorical_cross_entropy", "p", p);
  check_same_shape("latent::categorical_cross_entropy", "p", p, "q", q);
  return -(p.derived() > S(0)).select(p.derived() * q.derived().log(), S(0)).colwise().sum();
}

/// Cross-entropy \f$-\sum_k\mathrm{softmax}(l_p)_k\log\mathrm{softmax}(l_q)_k\f$ per column, from
/// logits. Returns an evaluated 1 x B row.
template <class DP, class DQ>
inline row_x<scalar_t<DP>> categorical_cross_entropy_logits(const Eigen::ArrayBase<DP>& p_logits,
                                                            const Eigen::ArrayBase<DQ>& q_logits) {
  check_non_empty("latent::categorical_cross_entropy_logits", "p_logits", p_logits);
  check_same_shape("latent::categorical_cross_entropy_logits", "p_logits", p_logits, "q_logits",
                   q_logits);
  const auto lp = latent::log_softmax_colwise(p_logits.derived());
  const auto lq = latent::log_softmax_colwise(q_logits.derived());
  return -(lp.exp() * lq).colwise().sum();
}

/// \f$\mathrm{KL}(p\|q) = \sum_k p_k(\log p_k - \log q_k)\f$ per column of probabilities
/// (terms with p_k = 0 are 0). Returns an evaluated 1 x B row; +inf if p is not absolutely
/// continuous with respect to q.
template <class DP, class DQ>
inline row_x<scalar_t<DP>> kl_categorical(const Eigen::ArrayBase<DP>& p,
                                          const Eigen::ArrayBase<DQ>& q) {
  using S = scalar_t<DP>;
  check_non_empty("latent::kl_categorical", "p", p);
  check_same_shape("latent::kl_categorical", "p", p, "q", q);
  const auto& pp = p.derived();
  return (pp > S(0)).select(pp * (pp.log() - q.derived().log()), S(0)).colwise().sum();
}

/// \f$\mathrm{KL}(p\|q)\f$ per column from logits, through log-softmax. Returns an evaluated
/// 1 x B row, always finite for finite logits and never negative beyond rounding.
template <class DP, class DQ>
inline row_x<scalar_t<DP>> kl_categorical_logits(const Eigen::ArrayBase<DP>& p_logits,
                                                 const Eigen::ArrayBase<DQ>& q_logits) {
  check_non_empty("latent::kl_categorical_logits", "p_logits", p_logits);
  check_same_shape("latent::kl_categorical_logits", "p_logits", p_logits, "q_logits", q_logits);
  const auto lp = latent::log_softmax_colwise(p_logits.derived());
  const auto lq = latent::log_softmax_colwise(q_logits.derived());
  return (lp.exp() * (lp - lq)).colwise().sum();
}

/// \f$\mathrm{KL}(\mathrm{softmax}(l)\,\|\,\mathrm{Uniform}(K)) = \log K - H(\mathrm{softmax}(l))\f$
/// per column: the KL term of the Gumbel-softmax VAE (Jang, Gu & Poole 2017, sec. 3 / app.
/// A). Returns an evaluated 1 x B row.
template <class DL>
inline row_x<scalar_t<DL>> kl_categorical_uniform_logits(const Eigen::ArrayBase<DL>& logits) {
  using S = scalar_t<DL>;
  using std::log;
  check_non_empty("latent::kl_categorical_uniform_logits", "logits", logits);
  return S(log(double(logits.rows()))) - categorical_entropy_logits(logits);
}

/// VJP of kl_categorical_uniform_logits (equivalently of minus the entropy) with respect to
/// the logits, for an upstream 1 x B row g: with \f$\pi = \mathrm{softmax}(l)\f$,
/// \f$\partial/\partial l_k = g\,\pi_k(\log\pi_k + H(\pi))\f$. Returns an evaluated K x B array.
template <class DL, class DG>
inline array_xx<scalar_t<DL>> kl_categorical_uniform_logits_vjp(const Eigen::ArrayBase<DL>& logits,
                                                                const Eigen::ArrayBase<DG>& grad) {
  using S = scalar_t<DL>;
  constexpr const char* fn = "latent::kl_categorical_uniform_logits_vjp";
  check_non_empty(fn, "logits", logits);
  detail::check_upstream_row<S>(fn, grad, logits.cols());
  const array_xx<S> ls = latent::log_softmax_colwise(logits.derived());
  const array_xx<S> pi = ls.exp();
  const row_x<S> h = -(pi * ls).colwise().sum();
  const row_x<S> g = grad.derived();
  return ((pi * (ls.rowwise() + h))).rowwise() * g;
}

}  // namespace latent
