// latent/objectives/hierarchical_elbo.hpp: the ELBO of a Markovian hierarchical VAE (MHVAE),
//
//   p(x, z_{1:T}) = p(z_T) p(x|z_1) prod_{t=2}^T p(z_{t-1}|z_t),
//   q(z_{1:T}|x)  = q(z_1|x) prod_{t=2}^T q(z_t|z_{t-1}),     Gaussian transitions, z_0 = x,
//
// estimated from one sampled trajectory z_{1:T} ~ q per column, in two decompositions
// (Luo 2022, "Understanding Diffusion Models: A Unified Perspective", eqs. 34-45 and 46-58;
// the second is the one of Sohl-Dickstein et al. 2015 and Ho et al. 2020, eq. 5):
//
// (a) consistency:  E[log p(x|z_1)] - E[KL(q(z_T|z_{T-1}) || p(z_T))]
//                   + sum_{t=1}^{T-1} E[log p(z_t|z_{t+1}) - log q(z_t|z_{t-1})]
//     each consistency term depends on two random variables besides z_t, z_{t-1} and z_{t+1}
//     (Luo writes it as E_{q(z_{t-1}, z_{t+1}|x)}[KL(q(z_t|z_{t-1}) || p(z_t|z_{t+1}))], which is
//     not equal to it: z_{t+1} depends on z_t; see mhvae_elbo_consistency);
// (b) denoising matching:  E[log p(x|z_1)] - KL(q(z_T|x) || p(z_T))
//                   - sum_{t=2}^{T} E[KL(q(z_{t-1}|z_t, x) || p(z_{t-1}|z_t))]
//     through the Bayes-rule posterior q(z_{t-1}|z_t, x) = q(z_t|z_{t-1}) q(z_{t-1}|x) / q(z_t|x),
//     closed-form for a linear-Gaussian encoder; each term depends on one random variable.
//
// Both are unbiased for the same ELBO (each term is the conditional expectation of a term of
// log p(x, z_{1:T}) - log q(z_{1:T}|x); derivation in docs/vae.md, section 6). Luo (2022, after
// eq. 45) expects (b) to have the lower variance because each of its terms involves one random
// variable; that is not a theorem. On linear-Gaussian hierarchies (exact variances in
// tools/vae_reference.py) (b) wins when the decoder's reverse slope is close to that of
// q(z_{t-1}|z_t, x) (decoders fitted to data that are narrow beside the forward noise; most
// badly under-fitted decoders over four or more steps), and loses, by up to 5x, when the decoder is the exact reverse process for data as
// wide as the noise (the ELBO is then tight). p(z_T) is the standard normal.
//
// Decoder inputs, shared by both: for i = 0..T-2, p_mean[i] and p_log_var[i] (D x B) are the
// parameters of p(z_{i+1} | z_{i+2}) evaluated at the sampled z_{i+2}; `reconstruction` is the
// 1 x B row log p(x | z_1) at the sampled z_1.
#pragma once

#include <cmath>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "latent/core/check.hpp"
#include "latent/core/traits.hpp"
#include "latent/distributions/diag_gaussian.hpp"
#include "latent/divergences/kl_gaussian.hpp"
#include "latent/random/noise.hpp"

namespace latent {

/// The linear-Gaussian Markov encoder \f$q(z_t|z_{t-1}) = \mathcal N(a_t z_{t-1}, s_t^2 I)\f$,
/// t = 1..T, z_0 = x, with its marginals \f$q(z_t|x) = \mathcal N(\bar a_t x, \bar v_t I)\f$,
/// \f$\bar a_t = a_t\bar a_{t-1}\f$, \f$\bar v_t = a_t^2\bar v_{t-1} + s_t^2\f$, and posteriors
/// \f$q(z_{t-1}|z_t, x) = \mathcal N(\tilde v(\bar a_{t-1}x/\bar v_{t-1} + a_t z_t/s_t^2), \tilde v)\f$,
/// \f$\tilde v = (1/\bar v_{t-1} + a_t^2/s_t^2)^{-1}\f$ (Bishop PRML eq. 2.116; Luo 2022 eq. 84
/// for \f$a_t = \sqrt{\alpha_t}\f$). Coefficients are held in double.
class markov_gaussian_encoder {
 public:
  /// From the scales a_t (finite) and the variances s_t^2 (positive, finite), t = 1..T.
  markov_gaussian_encoder(std::vector<double> scale, std::vector<double> variance)
      : a_(std::move(scale)), s2_(std::move(variance)) {
    constexpr const char* fn = "latent::markov_gaussian_encoder";
    if (a_.empty() || a_.size() != s2_.size()) {
      throw std::invalid_argument(std::string(fn) + ": scale has " + std::to_string(a_.size()) +
                                  " steps and variance has " + std::to_string(s2_.size()) +
                                  "; they must have the same, positive number of steps");
    }
    for (std::size_t t = 0; t < a_.size(); ++t) {
      const std::string sa = "scale[" + std::to_string(t) + "]";
      const std::string sv = "variance[" + std::to_string(t) + "]";
      check_finite(fn, sa.c_str(), a_[t]);
      check_positive(fn, sv.c_str(), s2_[t]);
    }
    abar_.assign(a_.size() + 1, 1.0);
    vbar_.assign(a_.size() + 1, 0.0);
    for (std::size_t t = 1; t <= a_.size(); ++t) {
      abar_[t] = a_[t - 1] * abar_[t - 1];
      vbar_[t] = a_[t - 1] * a_[t - 1] * vbar_[t - 1] + s2_[t - 1];
    }
  }
  /// The variance-preserving chain of VDM / DDPM: \f$a_t = \sqrt{\alpha_t}\f$,
  /// \f$s_t^2 = 1 - \alpha_t\f$, each \f$\alpha_t \in (0, 1)\f$.
  static markov_gaussian_encoder variance_preserving(const std::vector<double>& alpha) {
    std::vector<double> a, v;
    for (std::size_t t = 0; t < alpha.size(); ++t) {
      if (!(alpha[t] > 0 && alpha[t] < 1)) {
        throw std::domain_error("latent::markov_gaussian_encoder::variance_preserving: alpha[" +
                                std::to_string(t) + "] is " + detail::format_value(alpha[t]) +
                                ", but must be in (0, 1)");
      }
      a.push_back(std::sqrt(alpha[t]));
      v.push_back(1 - alpha[t]);
    }
    return markov_gaussian_encoder(a, v);
  }

  /// Number of latent layers T.
  int steps() const { return int(a_.size()); }
  /// \f$a_t\f$, t = 1..T.
  double scale(int t) const { return a_[index(t, 1, "t") - 1]; }
  /// \f$s_t^2\f$, t = 1..T.
  double variance(int t) const { return s2_[index(t, 1, "t") - 1]; }
  /// \f$\bar a_t\f$, t = 0..T.
  double marginal_scale(int t) const { return abar_[index(t, 0, "t")]; }
  /// \f$\bar v_t\f$, t = 0..T.
  double marginal_variance(int t) const { return vbar_[index(t, 0, "t")]; }

  /// Coefficients of the posterior \f$q(z_{t-1}|z_t, x) = \mathcal N(c_x x + c_z z_t, \tilde v)\f$,
  /// t = 2..T.
  struct posterior_coefficients {
    double coef_x, coef_z, variance;
  };
  posterior_coefficients posterior(int t) const {
    const std::size_t i = index(t, 2, "t");
    const double v = 1 / (1 / vbar_[i - 1] + a_[i - 1] * a_[i - 1] / s2_[i - 1]);
    return {v * abar_[i - 1] / vbar_[i - 1], v * a_[i - 1] / s2_[i - 1], v};
  }

  /// Coefficients of the bridge \f$q(z_t|z_{t-1}, z_{t+1}) = \mathcal N(c_{prev} z_{t-1} +
  /// c_{next} z_{t+1}, v)\f$, \f$v = (1/s_t^2 + a_{t+1}^2/s_{t+1}^2)^{-1}\f$, t = 1..T-1 (z_0 = x).
  struct bridge_coefficients {
    double coef_prev, coef_next, variance;
  };
  bridge_coefficients bridge(int t) const {
    if (t < 1 || t > steps() - 1) {
      throw std::domain_error("latent::markov_gaussian_encoder: t = " + std::to_string(t) +
                              " is out of range [1, " + std::to_string(steps() - 1) + "]");
    }
    const std::size_t i = std::size_t(t) - 1;  // a_t = a_[i], a_{t+1} = a_[i + 1]
    const double v = 1 / (1 / s2_[i] + a_[i + 1] * a_[i + 1] / s2_[i + 1]);
    return {v * a_[i] / s2_[i], v * a_[i + 1] / s2_[i + 1], v};
  }

 private:
  std::size_t index(int t, int lo, const char* name) const {
    if (t < lo || t > steps()) {
      throw std::domain_error("latent::markov_gaussian_encoder: " + std::string(name) + " = " +
                              std::to_string(t) + " is out of range [" + std::to_string(lo) +
                              ", " + std::to_string(steps()) + "]");
    }
    return std::size_t(t);
  }
  std::vector<double> a_, s2_, abar_, vbar_;
};

/// Samples a trajectory \f$z_t = a_t z_{t-1} + s_t\varepsilon_t\f$, t = 1..T, from z_0 = x with
/// given noise (T arrays shaped like x). Returns the T evaluated arrays z_1..z_T.
template <class DX, class S = scalar_t<DX>>
inline std::vector<array_xx<S>> markov_gaussian_trajectory(const markov_gaussian_encoder& q,
                                                           const Eigen::ArrayBase<DX>& x,
                                                           const std::vector<array_xx<S>>& eps) {
  constexpr const char* fn = "latent::markov_gaussian_trajectory";
  if (int(eps.size()) != q.steps()) {
    detail::throw_shape(fn, "eps has " + std::to_string(eps.size()) +
                                " arrays, but must have one per step (" +
                                std::to_string(q.steps()) + ")");
  }
  for (const auto& e : eps) check_same_shape(fn, "x", x, "eps[t]", e);
  std::vector<array_xx<S>> z;
  array_xx<S> prev = x.derived();
  for (int t = 1; t <= q.steps(); ++t) {
    prev = S(q.scale(t)) * prev + S(std::sqrt(q.variance(t))) * eps[std::size_t(t - 1)];
    z.push_back(prev);
  }
  return z;
}

/// markov_gaussian_trajectory with fresh noise from `engine`.
template <class DX, class S = scalar_t<DX>>
inline std::vector<array_xx<S>> markov_gaussian_trajectory(const markov_gaussian_encoder& q,
                                                           const Eigen::ArrayBase<DX>& x,
                                                           philox4x32& engine) {
  std::vector<array_xx<S>> eps;
  for (int t = 0; t < q.steps(); ++t) eps.push_back(randn<array_xx<S>>(x.rows(), x.cols(), engine));
  return markov_gaussian_trajectory(q, x, eps);
}

namespace detail {
template <class S>
inline void check_decoder(const char* fn, std::size_t t_steps, const std::vector<array_xx<S>>& pm,
                          const std::vector<array_xx<S>>& plv, Eigen::Index rows,
                          Eigen::Index cols) {
  if (pm.size() + 1 != t_steps || plv.size() + 1 != t_steps) {
    throw_shape(fn, "p_mean has " + std::to_string(pm.size()) + " and p_log_var has " +
                        std::to_string(plv.size()) + " arrays, but each must have T - 1 = " +
                        std::to_string(t_steps - 1));
  }
  for (std::size_t i = 0; i < pm.size(); ++i) {
    if (pm[i].rows() != rows || pm[i].cols() != cols || plv[i].rows() != rows ||
        plv[i].cols() != cols) {
      throw_shape(fn, "p_mean[" + std::to_string(i) + "] or p_log_var[" + std::to_string(i) +
                          "] is not " + shape_string(rows, cols));
    }
  }
}
}  // namespace detail

/// MHVAE ELBO, decomposition (a) (prior matching + reconstruction + consistency; Luo 2022,
/// eqs. 37-45), for any Gaussian encoder, from a trajectory z (z_1..z_T) sampled from q:
/// q_mean[t-1], q_log_var[t-1] (t = 1..T) are the parameters of \f$q(z_t|z_{t-1})\f$ at the
/// sampled \f$z_{t-1}\f$ (z_0 = x). Estimates
/// \f$\log p(x|z_1) - \mathrm{KL}(q(z_T|z_{T-1})\|\mathcal N(0,I)) + \sum_{t=1}^{T-1}
/// [\log p(z_t|z_{t+1}) - \log q(z_t|z_{t-1})]\f$.
/// Each consistency term is the log-density ratio at the sampled \f$z_t\f$, not the closed-form
/// \f$\mathrm{KL}(q(z_t|z_{t-1})\|p(z_t|z_{t+1}))\f$ of Luo's eq. 45: \f$z_{t+1}\f$ was drawn
/// from \f$q(z_{t+1}|z_t)\f$, so it is not independent of \f$z_t\f$ given \f$z_{t-1}\f$, and
/// integrating \f$z_t\f$ out with \f$z_{t+1}\f$ held fixed is biased (the tests measure the bias).
/// The prior-matching KL is exact: nothing is drawn after \f$z_T\f$. Returns an evaluated 1 x B row.
template <class DR, class S>
inline row_x<S> mhvae_elbo_consistency(const Eigen::ArrayBase<DR>& reconstruction,
                                       const std::vector<array_xx<S>>& z,
                                       const std::vector<array_xx<S>>& q_mean,
                                       const std::vector<array_xx<S>>& q_log_var,
                                       const std::vector<array_xx<S>>& p_mean,
                                       const std::vector<array_xx<S>>& p_log_var) {
  constexpr const char* fn = "latent::mhvae_elbo_consistency";
  if (q_mean.empty() || q_mean.size() != q_log_var.size() || q_mean.size() != z.size()) {
    detail::throw_shape(fn, "z has " + std::to_string(z.size()) + ", q_mean has " +
                                std::to_string(q_mean.size()) + " and q_log_var has " +
                                std::to_string(q_log_var.size()) +
                                " arrays; they must have the same, positive number T");
  }
  const Eigen::Index d = q_mean[0].rows(), b = q_mean[0].cols();
  check_rows(fn, "reconstruction", reconstruction, 1);
  check_cols(fn, "reconstruction", reconstruction, b);
  for (std::size_t i = 0; i < q_mean.size(); ++i) {
    check_same_shape(fn, "q_mean[0]", q_mean[0], "z[t]", z[i]);
    check_same_shape(fn, "q_mean[0]", q_mean[0], "q_mean[t]", q_mean[i]);
    check_same_shape(fn, "q_mean[0]", q_mean[0], "q_log_var[t]", q_log_var[i]);
  }
  detail::check_decoder(fn, q_mean.size(), p_mean, p_log_var, d, b);
  row_x<S> out = reconstruction.derived() - kl_diag_std_normal(q_mean.back(), q_log_var.back());
  for (std::size_t i = 0; i + 1 < q_mean.size(); ++i) {
    out += diag_gaussian_log_prob(z[i], p_mean[i], p_log_var[i]) -
           diag_gaussian_log_prob(z[i], q_mean[i], q_log_var[i]);
  }
  return out;
}

/// MHVAE ELBO, decomposition (a), for the linear-Gaussian encoder `q`, data x and a
/// trajectory z (z_1..z_T) sampled from q, with each consistency term Rao-Blackwellized over
/// \f$z_t\f$ given its two neighbours: the expectation of
/// \f$\log p(z_t|z_{t+1}) - \log q(z_t|z_{t-1})\f$ under the bridge
/// \f$r_t = q(z_t|z_{t-1}, z_{t+1})\f$ is, in closed form,
/// \f$\mathrm{KL}(r_t\|q(z_t|z_{t-1})) - \mathrm{KL}(r_t\|p(z_t|z_{t+1}))\f$ (the entropies
/// cancel). Each term depends on the two random variables \f$z_{t-1}, z_{t+1}\f$ and is unbiased,
/// since \f$q(z_{t-1}) q(z_t|z_{t-1}) q(z_{t+1}|z_t) = q(z_{t-1}, z_{t+1})\, r_t(z_t)\f$.
/// Returns an evaluated 1 x B row.
template <class DR, class DX, class S>
inline row_x<S> mhvae_elbo_consistency(const Eigen::ArrayBase<DR>& reconstruction,
                                       const markov_gaussian_encoder& q,
                                       const Eigen::ArrayBase<DX>& x,
                                       const std::vector<array_xx<S>>& z,
                                       const std::vector<array_xx<S>>& p_mean,
                                       const std::vector<array_xx<S>>& p_log_var) {
  constexpr const char* fn = "latent::mhvae_elbo_consistency";
  if (int(z.size()) != q.steps()) {
    detail::throw_shape(fn, "z has " + std::to_string(z.size()) +
                                " arrays, but must have one per step (" +
                                std::to_string(q.steps()) + ")");
  }
  for (const auto& zt : z) check_same_shape(fn, "x", x, "z[t]", zt);
  check_rows(fn, "reconstruction", reconstruction, 1);
  check_cols(fn, "reconstruction", reconstruction, x.cols());
  detail::check_decoder(fn, z.size(), p_mean, p_log_var, x.rows(), x.cols());
  const int T = q.steps();
  const array_xx<S> xe = x.derived();
  auto constant = [&](double v) { return array_xx<S>::Constant(x.rows(), x.cols(), S(v)); };
  // Prior matching at the sampled z_{T-1}: KL(q(z_T|z_{T-1}) || N(0, I)).
  const array_xx<S> m_last = S(q.scale(T)) * (T == 1 ? xe : z[std::size_t(T - 2)]);
  row_x<S> out = reconstruction.derived() -
                 kl_diag_std_normal(m_last, constant(std::log(q.variance(T))));
  for (int t = 1; t < T; ++t) {
    const array_xx<S>& prev = t == 1 ? xe : z[std::size_t(t - 2)];
    const array_xx<S>& next = z[std::size_t(t)];
    const auto c = q.bridge(t);
    const array_xx<S> rm = S(c.coef_prev) * prev + S(c.coef_next) * next;
    const array_xx<S> rlv = constant(std::log(c.variance));
    out += kl_diag_diag(rm, rlv, array_xx<S>(S(q.scale(t)) * prev),
                        constant(std::log(q.variance(t)))) -
           kl_diag_diag(rm, rlv, p_mean[std::size_t(t - 1)], p_log_var[std::size_t(t - 1)]);
  }
  return out;
}

/// MHVAE ELBO, decomposition (b) (prior matching + reconstruction + denoising matching; Luo
/// 2022, eq. 58), for the linear-Gaussian encoder `q`, data x and a trajectory z (z_1..z_T)
/// sampled from q: \f$\log p(x|z_1) - \mathrm{KL}(q(z_T|x)\|\mathcal N(0,I)) - \sum_{t=2}^{T}
/// \mathrm{KL}(q(z_{t-1}|z_t,x)\|p(z_{t-1}|z_t))\f$. Returns an evaluated 1 x B row.
template <class DR, class DX, class S>
inline row_x<S> mhvae_elbo_denoising(const Eigen::ArrayBase<DR>& reconstruction,
                                     const markov_gaussian_encoder& q,
                                     const Eigen::ArrayBase<DX>& x,
                                     const std::vector<array_xx<S>>& z,
                                     const std::vector<array_xx<S>>& p_mean,
                                     const std::vector<array_xx<S>>& p_log_var) {
  constexpr const char* fn = "latent::mhvae_elbo_denoising";
  if (int(z.size()) != q.steps()) {
    detail::throw_shape(fn, "z has " + std::to_string(z.size()) +
                                " arrays, but must have one per step (" +
                                std::to_string(q.steps()) + ")");
  }
  for (const auto& zt : z) check_same_shape(fn, "x", x, "z[t]", zt);
  check_cols(fn, "reconstruction", reconstruction, x.cols());
  detail::check_decoder(fn, z.size(), p_mean, p_log_var, x.rows(), x.cols());
  const int T = q.steps();
  const array_xx<S> mt = S(q.marginal_scale(T)) * x.derived();
  const array_xx<S> lvt = array_xx<S>::Constant(x.rows(), x.cols(), S(std::log(q.marginal_variance(T))));
  check_rows(fn, "reconstruction", reconstruction, 1);
  row_x<S> out = reconstruction.derived() - kl_diag_std_normal(mt, lvt);
  for (int t = 2; t <= T; ++t) {
    const auto c = q.posterior(t);
    const array_xx<S> m = S(c.coef_x) * x.derived() + S(c.coef_z) * z[std::size_t(t - 1)];
    const array_xx<S> lv = array_xx<S>::Constant(x.rows(), x.cols(), S(std::log(c.variance)));
    out -= kl_diag_diag(m, lv, p_mean[std::size_t(t - 2)], p_log_var[std::size_t(t - 2)]);
  }
  return out;
}

}  // namespace latent
