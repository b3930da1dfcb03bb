// latent/score/langevin.hpp: Langevin dynamics driven by a score (gradient of a log-density).
//
// Unadjusted Langevin (ULA; Roberts & Tweedie 1996, eq. (2.4); Welling & Teh 2011):
//     x' = x + tau * score(x) + sqrt(2 tau) z,
// Metropolis-adjusted Langevin (MALA; Roberts & Tweedie 1996, Sec. 1.4.2), and annealed
// Langevin dynamics over geometric noise levels (Song & Ermon 2019, Algorithm 1).
//
// Callbacks are any callables:
//     score(const X& x, X& out)                         writes grad log p(x)
//     log_prob(const X& x, Eigen::Array<S,1,Dynamic>& out)  writes log p(x) per column
//     noise_score(const X& x, double sigma, X& out)     writes s(x, sigma) (annealed)
// where X is the plain array type of the chain state (D x B, one chain per column).
#pragma once

#include <cmath>
#include <string>
#include <utility>

#include <Eigen/Core>

#include "latent/core/check.hpp"
#include "latent/core/parallel.hpp"
#include "latent/core/traits.hpp"
#include "latent/diffusion/sigma_schedules.hpp"
#include "latent/score/detail/noise.hpp"

namespace latent {

namespace detail {
/// The ULA update for either noise source (random/noise.hpp: given_noise, engine_noise).
template <class DerivedX, class DerivedS, class DerivedO, class Noise>
inline void langevin_update(const Eigen::ArrayBase<DerivedX>& x, const Eigen::ArrayBase<DerivedS>& score,
                            double tau, const Eigen::ArrayBase<DerivedO>& out, const Noise& noise) {
  using S = scalar_t<DerivedX>;
  constexpr const char* fn = "latent::langevin_step";
  check_positive(fn, "tau", tau);
  check_same_shape(fn, "x", x, "score", score);
  noise.check(fn, x);
  check_same_shape(fn, "x", x, "out", out);
  const S a = S(tau), c = S(std::sqrt(2.0 * tau));
  noise.assign(fn, out, [&](const auto& z) { return x.derived() + a * score.derived() + c * z; });
}
}  // namespace detail

/// ULA step \f$x' = x + \tau s(x) + \sqrt{2\tau} z\f$ (Roberts & Tweedie 1996, eq. (2.4);
/// Song & Ermon 2019, eq. (4) writes the same step with \f$\epsilon = 2\tau\f$).
/// tau > 0 (checked). Writes out (may alias x).
template <class DerivedX, class DerivedS, class DerivedZ, class DerivedO>
inline void langevin_step(const Eigen::ArrayBase<DerivedX>& x, const Eigen::ArrayBase<DerivedS>& score,
                          double tau, const Eigen::ArrayBase<DerivedZ>& noise,
                          const Eigen::ArrayBase<DerivedO>& out) {
  detail::langevin_update(x, score, tau, out, detail::given(noise));
}

/// ULA step with noise drawn from `engine` (shaped like out), evaluated inside the noise
/// kernel when x, score and out are plain contiguous arrays. Writes out (may alias x).
template <class DerivedX, class DerivedS, class DerivedO>
inline void langevin_step(const Eigen::ArrayBase<DerivedX>& x, const Eigen::ArrayBase<DerivedS>& score,
                          double tau, const Eigen::ArrayBase<DerivedO>& out, philox4x32& engine) {
  detail::langevin_update(x, score, tau, out, detail::engine_noise{engine});
}

/// Runs `steps` ULA steps in place on x with a score callback score(x, out). Allocates one
/// score buffer per call. Noise from `engine`.
template <class Score, class Derived>
inline void langevin_dynamics(Score&& score, Eigen::ArrayBase<Derived>& x, double tau,
                              Eigen::Index steps, philox4x32& engine) {
  constexpr const char* fn = "latent::langevin_dynamics";
  check_positive(fn, "tau", tau);
  check_in_range(fn, "steps", steps, Eigen::Index(0), Eigen::Index(1) << 40);
  typename Derived::PlainObject s(x.rows(), x.cols());
  for (Eigen::Index k = 0; k < steps; ++k) {
    score(x.derived(), s);
    langevin_step(x, s, tau, x, engine);
  }
}

// ---------------------------------------------------------------------------------------
// MALA

/// log of the MALA proposal density up to its constant, per column:
/// \f$\log q(b \mid a) = -\lVert b - a - \tau s(a)\rVert^2 / (4\tau)\f$.
/// Returns an evaluated 1 x B array.
template <class DerivedB, class DerivedA, class DerivedS>
inline Eigen::Array<scalar_t<DerivedB>, 1, Eigen::Dynamic> mala_log_proposal(
    const Eigen::ArrayBase<DerivedB>& to, const Eigen::ArrayBase<DerivedA>& from,
    const Eigen::ArrayBase<DerivedS>& score_from, double tau) {
  using S = scalar_t<DerivedB>;
  constexpr const char* fn = "latent::mala_log_proposal";
  check_positive(fn, "tau", tau);
  check_same_shape(fn, "to", to, "from", from);
  check_same_shape(fn, "to", to, "score_from", score_from);
  return (to.derived() - from.derived() - S(tau) * score_from.derived())
             .square()
             .colwise()
             .sum() *
         S(-0.25 / tau);
}

/// MALA accept/reject, in place on the chain state (Roberts & Tweedie 1996): for each column
/// j, with proposal y, \f$\log a_j = \log p(y) - \log p(x) + \log q(x \mid y) - \log q(y
/// \mid x)\f$; the column accepts when \f$\log u_j < \log a_j\f$ and then x, log_prob and score
/// take the proposal's values. `accepted[j]` records the decision. u must be in (0, 1].
/// Writes x, log_prob, score and accepted.
template <class DerivedX, class DerivedL, class DerivedS, class DerivedY, class DerivedLY,
          class DerivedSY, class DerivedU>
inline void mala_accept(Eigen::ArrayBase<DerivedX>& x, Eigen::ArrayBase<DerivedL>& log_prob,
                        Eigen::ArrayBase<DerivedS>& score,
                        const Eigen::ArrayBase<DerivedY>& proposal,
                        const Eigen::ArrayBase<DerivedLY>& log_prob_proposal,
                        const Eigen::ArrayBase<DerivedSY>& score_proposal, double tau,
                        const Eigen::ArrayBase<DerivedU>& uniform,
                        Eigen::Array<bool, 1, Eigen::Dynamic>& accepted) {
  using S = scalar_t<DerivedX>;
  constexpr const char* fn = "latent::mala_accept";
  check_positive(fn, "tau", tau);
  const Eigen::Index B = x.cols();
  check_same_shape(fn, "x", x, "score", score);
  check_same_shape(fn, "x", x, "proposal", proposal);
  check_same_shape(fn, "x", x, "score_proposal", score_proposal);
  check_size(fn, "log_prob", log_prob, B);
  check_size(fn, "log_prob_proposal", log_prob_proposal, B);
  check_size(fn, "uniform", uniform, B);
  // Every uniform is validated before any column is written (strong guarantee).
  for (Eigen::Index j = 0; j < B; ++j) {
    const double u = value_of(uniform.derived()(j));
    if (!(u > 0.0 && u <= 1.0)) {
      detail::throw_domain(fn, "uniform[" + std::to_string(j) + "]", detail::format_value(u),
                           "in (0, 1]");
    }
  }
  if (accepted.size() != B) accepted.resize(B);
  using std::log;
  const S inv4tau = S(0.25 / tau);
  for (Eigen::Index j = 0; j < B; ++j) {
    // log q(x | y) - log q(y | x), column j, without temporaries.
    const S lq_rev = -(x.derived().col(j) - proposal.derived().col(j) -
                       S(tau) * score_proposal.derived().col(j))
                          .square()
                          .sum() *
                     inv4tau;
    const S lq_fwd = -(proposal.derived().col(j) - x.derived().col(j) -
                       S(tau) * score.derived().col(j))
                          .square()
                          .sum() *
                     inv4tau;
    const S log_a = log_prob_proposal.derived()(j) - log_prob.derived()(j) + lq_rev - lq_fwd;
    const S u = S(uniform.derived()(j));
    const bool acc = value_of(log(u)) < value_of(log_a);
    accepted(j) = acc;
    if (acc) {
      x.derived().col(j) = proposal.derived().col(j);
      score.derived().col(j) = score_proposal.derived().col(j);
      log_prob.derived()(j) = log_prob_proposal.derived()(j);
    }
  }
}

/// A batch of B independent MALA chains with their cached log-density and score, and the
/// proposal buffers, all allocated once at construction (no allocation per step).
template <class Array>
class mala_chains {
 public:
  using scalar_type = typename Array::Scalar;
  using row_type = Eigen::Array<scalar_type, 1, Eigen::Dynamic>;

  /// Starts the chains at x0 (D x B) and evaluates log_prob and score there.
  template <class LogProb, class Score, class Derived>
  mala_chains(LogProb&& log_prob, Score&& score, const Eigen::ArrayBase<Derived>& x0)
      : x_(x0), score_(x0.rows(), x0.cols()), proposal_(x0.rows(), x0.cols()),
        score_proposal_(x0.rows(), x0.cols()), log_prob_(x0.cols()),
        log_prob_proposal_(x0.cols()), accepted_(x0.cols()), uniform_(x0.cols()) {
    check_non_empty("latent::mala_chains", "x0", x0);
    log_prob(x_, log_prob_);
    score(x_, score_);
    accepted_.setConstant(false);
  }

  /// One MALA step with given noise (D x B standard normals) and uniforms (1 x B in (0, 1]).
  /// Proposal y = x + tau s(x) + sqrt(2 tau) z (langevin_step), then mala_accept.
  template <class LogProb, class Score, class DerivedZ, class DerivedU>
  const Eigen::Array<bool, 1, Eigen::Dynamic>& step(LogProb&& log_prob, Score&& score, double tau,
                                                    const Eigen::ArrayBase<DerivedZ>& noise,
                                                    const Eigen::ArrayBase<DerivedU>& uniform) {
    langevin_step(x_, score_, tau, noise, proposal_);
    log_prob(proposal_, log_prob_proposal_);
    score(proposal_, score_proposal_);
    mala_accept(x_, log_prob_, score_, proposal_, log_prob_proposal_, score_proposal_, tau,
                uniform, accepted_);
    accepted_total_ += accepted_.count();
    proposed_total_ += accepted_.size();
    return accepted_;
  }

  /// One MALA step drawing its normals and uniforms from `engine`.
  template <class LogProb, class Score>
  const Eigen::Array<bool, 1, Eigen::Dynamic>& step(LogProb&& log_prob, Score&& score, double tau,
                                                    philox4x32& engine) {
    langevin_step(x_, score_, tau, proposal_, engine);
    detail::fill_uniform(uniform_, engine);
    log_prob(proposal_, log_prob_proposal_);
    score(proposal_, score_proposal_);
    mala_accept(x_, log_prob_, score_, proposal_, log_prob_proposal_, score_proposal_, tau,
                uniform_, accepted_);
    accepted_total_ += accepted_.count();
    proposed_total_ += accepted_.size();
    return accepted_;
  }

  /// Current states (D x B).
  const Array& state() const { return x_; }
  /// log p at the current states (1 x B).
  const row_type& log_prob() const { return log_prob_; }
  /// Score at the current states (D x B).
  const Array& score() const { return score_; }
  /// Which chains accepted in the last step (1 x B).
  const Eigen::Array<bool, 1, Eigen::Dynamic>& accepted() const { return accepted_; }
  /// Fraction of accepted proposals over all steps so far (0 before the first step).
  double acceptance_rate() const {
    return proposed_total_ ? static_cast<double>(accepted_total_) / proposed_total_ : 0.0;
  }

 private:
  Array x_, score_, proposal_, score_proposal_;
  row_type log_prob_, log_prob_proposal_;
  Eigen::Array<bool, 1, Eigen::Dynamic> accepted_;
  row_type uniform_;
  long long accepted_total_ = 0, proposed_total_ = 0;
};

// ---------------------------------------------------------------------------------------
// Annealed Langevin dynamics

/// Step size of annealed Langevin dynamics at level sigma_i: \f$\alpha_i = \epsilon
/// \sigma_i^2 / \sigma_L^2\f$ (Song & Ermon 2019, Algorithm 1 line 3), sigma_L the smallest
/// level. Returns a double.
inline double annealed_langevin_step_size(double eps, double sigma, double sigma_min) {
  constexpr const char* fn = "latent::annealed_langevin_step_size";
  check_positive(fn, "eps", eps);
  check_positive(fn, "sigma", sigma);
  check_positive(fn, "sigma_min", sigma_min);
  return eps * (sigma / sigma_min) * (sigma / sigma_min);
}

/// One step of annealed Langevin dynamics at level sigma (Song & Ermon 2019, Algorithm 1
/// line 6): \f$x' = x + \tfrac{\alpha_i}{2} s(x, \sigma_i) + \sqrt{\alpha_i} z\f$, i.e.
/// langevin_step with tau = alpha_i / 2. Writes out (may alias x).
template <class DerivedX, class DerivedS, class DerivedZ, class DerivedO>
inline void annealed_langevin_step(const Eigen::ArrayBase<DerivedX>& x,
                                   const Eigen::ArrayBase<DerivedS>& score, double eps,
                                   double sigma, double sigma_min,
                                   const Eigen::ArrayBase<DerivedZ>& noise,
                                   const Eigen::ArrayBase<DerivedO>& out) {
  langevin_step(x, score, 0.5 * annealed_langevin_step_size(eps, sigma, sigma_min), noise, out);
}

/// Annealed Langevin dynamics (Song & Ermon 2019, Algorithm 1): for each level sigma_i of a
/// decreasing schedule (e.g. sigmas_geometric), `steps_per_level` steps of
/// annealed_langevin_step with the noise-conditional score callback
/// noise_score(x, sigma_i, out). With `denoise_last`, a final Tweedie step
/// \f$x \leftarrow x + \sigma_L^2 s(x, \sigma_L)\f$ (Song & Ermon 2020, "Improved Techniques",
/// Appendix) removes the residual noise of the last level. Updates x in place; one score
/// buffer per call. Noise from `engine`.
template <class NoiseScore, class Derived>
inline void annealed_langevin(NoiseScore&& noise_score, Eigen::ArrayBase<Derived>& x,
                              const Eigen::ArrayXd& sigmas, double eps,
                              Eigen::Index steps_per_level, bool denoise_last, philox4x32& engine) {
  using S = scalar_t<Derived>;
  constexpr const char* fn = "latent::annealed_langevin";
  check_non_empty(fn, "sigmas", sigmas);
  check_positive(fn, "sigmas", sigmas);
  check_positive(fn, "eps", eps);
  check_in_range(fn, "steps_per_level", steps_per_level, Eigen::Index(1), Eigen::Index(1) << 40);
  for (Eigen::Index i = 1; i < sigmas.size(); ++i) {
    if (!(sigmas(i) < sigmas(i - 1))) {
      throw std::domain_error(std::string(fn) + ": sigmas[" + std::to_string(i) + "] = " +
                              detail::format_value(sigmas(i)) +
                              " is not below the previous level; sigmas must be strictly decreasing");
    }
  }
  const double sigma_min = sigmas(sigmas.size() - 1);
  typename Derived::PlainObject s(x.rows(), x.cols());
  for (Eigen::Index i = 0; i < sigmas.size(); ++i) {
    const double tau = 0.5 * annealed_langevin_step_size(eps, sigmas(i), sigma_min);
    for (Eigen::Index k = 0; k < steps_per_level; ++k) {
      noise_score(x.derived(), sigmas(i), s);
      langevin_step(x, s, tau, x, engine);
    }
  }
  if (denoise_last) {
    noise_score(x.derived(), sigma_min, s);
    x.derived() += S(sigma_min * sigma_min) * s;
  }
}

}  // namespace latent
