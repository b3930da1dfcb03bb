// latent/distributions/categorical.hpp: the categorical distribution over K classes, one per
// column of a K x B array of logits, with exact sampling by the Gumbel-max trick
// (argmax_k (l_k + g_k), g_k ~ Gumbel(0, 1); Gumbel 1954, Maddison et al. 2014).
#pragma once

#include <cmath>
#include <string>

#include <Eigen/Core>

#include "latent/core/check.hpp"
#include "latent/core/math.hpp"
#include "latent/core/traits.hpp"
#include "latent/distributions/diag_gaussian.hpp"
#include "latent/divergences/categorical_divergence.hpp"
#include "latent/objectives/likelihoods.hpp"
#include "latent/random/noise.hpp"

namespace latent {

/// Integer labels, one per column.
using label_row = Eigen::Array<int, 1, Eigen::Dynamic>;

/// Standard Gumbel noise \f$g = -\log(-\log u)\f$ from uniforms u in (0, 1). Returns an
/// expression.
template <class DU>
inline auto gumbel_from_uniform(const Eigen::ArrayBase<DU>& u) {
  return -(-u.derived().log()).log();
}

/// Categorical distributions over K classes, one per column of the K x B logits. Holds the
/// normalized log-probabilities (log-softmax of the logits). Validates: K >= 1, B >= 1,
/// finite logits.
template <class S>
class categorical {
 public:
  using scalar_type = S;
  template <class DL>
  explicit categorical(const Eigen::ArrayBase<DL>& logits) {
    constexpr const char* fn = "latent::categorical";
    check_non_empty(fn, "logits", logits);
    check_finite(fn, "logits", logits.derived());
    log_probs_ = latent::log_softmax_colwise(logits.derived());
  }
  /// Normalized log-probabilities (K x B).
  const array_xx<S>& log_probs() const { return log_probs_; }
  /// Probabilities (K x B): an expression.
  auto probs() const { return log_probs_.exp(); }
  Eigen::Index num_classes() const { return log_probs_.rows(); }
  Eigen::Index batch() const { return log_probs_.cols(); }

 private:
  array_xx<S> log_probs_;
};

template <class DL>
categorical(const Eigen::ArrayBase<DL>&) -> categorical<scalar_t<DL>>;

/// log p(y_b) for integer labels (length B). Returns an evaluated 1 x B row.
template <class S, class DY>
inline row_x<S> log_prob(const categorical<S>& c, const Eigen::DenseBase<DY>& labels) {
  return categorical_log_likelihood(labels, c.log_probs());
}
/// Per-column entropy. Returns an evaluated 1 x B row.
template <class S>
inline row_x<S> entropy(const categorical<S>& c) {
  return categorical_entropy_logits(c.log_probs());
}
/// The most probable class of each column (lowest index on ties).
template <class S>
inline label_row mode(const categorical<S>& c) {
  label_row out(c.batch());
  for (Eigen::Index j = 0; j < c.batch(); ++j) {
    Eigen::Index k = 0;
    c.log_probs().col(j).maxCoeff(&k);
    out(j) = int(k);
  }
  return out;
}
/// Gumbel-max sample for given uniforms u (K x B, in (0, 1)): \f$\arg\max_k(l_k + g_k)\f$.
template <class S, class DU>
inline label_row sample(const categorical<S>& c, const Eigen::ArrayBase<DU>& uniforms) {
  check_same_shape("latent::sample(categorical)", "log_probs", c.log_probs(), "uniforms", uniforms);
  const array_xx<S> v = c.log_probs() + gumbel_from_uniform(uniforms);
  label_row out(c.batch());
  for (Eigen::Index j = 0; j < c.batch(); ++j) {
    Eigen::Index k = 0;
    v.col(j).maxCoeff(&k);
    out(j) = int(k);
  }
  return out;
}
/// One label per column with fresh uniforms from `engine`.
template <class S>
inline label_row sample(const categorical<S>& c, philox4x32& engine) {
  return sample(c, rand_uniform_like(c.log_probs(), engine));
}
/// \f$\mathrm{KL}(p\|q)\f$ per column. Returns an evaluated 1 x B row.
template <class S>
inline row_x<S> kl_divergence(const categorical<S>& p, const categorical<S>& q) {
  return kl_categorical_logits(p.log_probs(), q.log_probs());
}

}  // namespace latent
