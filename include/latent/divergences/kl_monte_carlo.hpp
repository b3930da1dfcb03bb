// latent/divergences/kl_monte_carlo.hpp: the Monte Carlo KL estimator for any pair of
// distributions with log_prob,
//
//   KL(q || p) ~= (1/N) sum_n [log q(z_n) - log p(z_n)],  z_n ~ q,
//
// unbiased, with its standard error (Kingma & Welling 2014, eq. 6, the KL part). Works with
// every latent distribution type through the non-member log_prob and sample functions.
#pragma once

#include <cmath>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "latent/core/check.hpp"
#include "latent/core/traits.hpp"
#include "latent/distributions/diag_gaussian.hpp"
#include "latent/random/noise.hpp"

namespace latent {

/// A Monte Carlo estimate per column: the mean and its standard error
/// (sample standard deviation / sqrt(N); 0 when N = 1).
template <class S>
struct monte_carlo_estimate {
  row_x<S> mean;
  row_x<S> std_error;
};

namespace detail {
// Streaming sums of log q(z) - log p(z) over draws.
template <class S>
struct kl_accumulator {
  row_x<S> sum, sum_sq;
  std::size_t count = 0;
  template <class Q, class P, class Z>
  void add(const Q& q, const P& p, const Z& z) {
    const row_x<S> d = log_prob(q, z) - log_prob(p, z);
    if (count == 0) {
      sum = d;
      sum_sq = d.square();
    } else {
      check_cols("latent::kl_monte_carlo", "log_prob(q, z)", d, sum.cols());
      sum += d;
      sum_sq += d.square();
    }
    ++count;
  }
  monte_carlo_estimate<S> result() const {
    const S n = S(double(count));
    monte_carlo_estimate<S> out;
    out.mean = sum / n;
    if (count > 1) {
      const row_x<S> var = ((sum_sq - n * out.mean.square()) / (n - S(1))).max(S(0));
      out.std_error = (var / n).sqrt();
    } else {
      out.std_error = row_x<S>::Zero(sum.cols());
    }
    return out;
  }
};
}  // namespace detail

/// Monte Carlo KL from given draws of q: each element of `samples` is one draw z ~ q (the
/// shape that log_prob(q, z) accepts; for a diag_gaussian, D x B, one per column; e.g. made
/// with rsample(q, eps)). Returns the per-column mean of \f$\log q(z) - \log p(z)\f$ and its
/// standard error.
template <class Q, class P, class S>
inline monte_carlo_estimate<S> kl_monte_carlo(const Q& q, const P& p,
                                              const std::vector<array_xx<S>>& samples) {
  if (samples.empty()) {
    throw std::invalid_argument("latent::kl_monte_carlo: samples is empty, but must hold at least one draw");
  }
  detail::kl_accumulator<S> acc;
  for (const auto& z : samples) acc.add(q, p, z);
  return acc.result();
}

/// Monte Carlo KL with `draws` fresh draws of q from `engine` (each by sample(q, engine)),
/// streamed without storing them. Returns the per-column mean and standard error.
template <class Q, class P>
inline monte_carlo_estimate<typename Q::scalar_type> kl_monte_carlo(const Q& q, const P& p,
                                                                    Eigen::Index draws,
                                                                    philox4x32& engine) {
  using S = typename Q::scalar_type;
  if (draws < 1) {
    throw std::invalid_argument("latent::kl_monte_carlo: draws = " + std::to_string(draws) +
                                ", but must be at least 1");
  }
  detail::kl_accumulator<S> acc;
  for (Eigen::Index n = 0; n < draws; ++n) acc.add(q, p, sample(q, engine));
  return acc.result();
}

}  // namespace latent
