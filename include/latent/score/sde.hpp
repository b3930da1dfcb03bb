// latent/score/sde.hpp: the SDEs of Song et al. (2021), "Score-Based Generative Modeling
// through Stochastic Differential Equations" (ICLR), and their samplers.
//
// Forward SDE dx = f(t) x dt + g(t) dw on t in [0, T], T = 1. All three SDEs have a drift
// linear in x, so each is described by scalars: drift_coeff(t) = f(t), diffusion(t) = g(t),
// and the perturbation kernel x_t | x_0 ~ N(mean_coeff(t) x_0, marginal_std(t)^2 I)
// (paper eqs. (9), (11), (29); yang-song/score_sde sde_lib.py, whose formulas these are). The
// marginals are the unchecked kernels of latent/diffusion/continuous.hpp, so the SDE classes and
// the free functions there share one implementation.
// The reverse-time SDE is dx = [f x - g^2 score(x, t)] dt + g dw_bar (eq. (6)); the
// probability-flow ODE is dx = [f x - g^2 score / 2] dt (eq. (13)).
//
// Time steps: every step function moves from t to t - dt with dt > 0.
// Score callbacks: score(const X& x, double t, X& out) writes s_theta(x, t).
#pragma once

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>

#include <Eigen/Core>

#include "latent/core/check.hpp"
#include "latent/core/parallel.hpp"
#include "latent/core/constants.hpp"
#include "latent/core/traits.hpp"
#include "latent/diffusion/continuous.hpp"
#include "latent/score/detail/noise.hpp"

namespace latent {

/// One step of a discretized forward process: x_{i+1} = x_i + f x_i + g z (so `f` is the
/// coefficient of the drift increment, not of the drift rate).
struct sde_discretization {
  double f;
  double g;
};

namespace detail {
inline void check_time(const char* fn, double t) { check_in_range(fn, "t", t, 0.0, 1.0); }
inline void check_step(const char* fn, double t, double dt) {
  check_time(fn, t);
  check_positive(fn, "dt", dt);
  if (dt > t + 1e-12) {
    throw std::domain_error(std::string(fn) + ": dt = " + format_value(dt) + " exceeds t = " +
                            format_value(t) + "; a reverse step must stay in [0, 1]");
  }
}
}  // namespace detail

/// Variance-preserving SDE (Song et al. 2021, eq. (11); DDPM in the continuum limit):
/// \f$\beta(t) = \beta_{min} + t(\beta_{max} - \beta_{min})\f$, f = -beta/2, g = sqrt(beta),
/// log mean coefficient \f$-\tfrac14 t^2 (\beta_{max} - \beta_{min}) - \tfrac12 t \beta_{min}\f$
/// (eq. (29)), std \f$\sqrt{1 - e^{2 \cdot lmc}}\f$, prior N(0, I).
class vp_sde {
 public:
  explicit vp_sde(double beta_min = 0.1, double beta_max = 20.0)
      : beta_min_(beta_min), beta_max_(beta_max) {
    check_positive("latent::vp_sde", "beta_min", beta_min);
    check_positive("latent::vp_sde", "beta_max", beta_max);
    if (!(beta_min <= beta_max)) {
      throw std::domain_error("latent::vp_sde: beta_min = " + detail::format_value(beta_min) +
                              " exceeds beta_max = " + detail::format_value(beta_max));
    }
  }
  double beta_min() const { return beta_min_; }
  double beta_max() const { return beta_max_; }
  /// \f$\beta(t)\f$
  double beta(double t) const { return beta_min_ + t * (beta_max_ - beta_min_); }
  /// \f$f(t) = -\beta(t)/2\f$
  double drift_coeff(double t) const { return -0.5 * beta(t); }
  /// \f$g(t) = \sqrt{\beta(t)}\f$
  double diffusion(double t) const { return std::sqrt(beta(t)); }
  /// \f$\log m(t) = -\tfrac14 t^2(\beta_{max} - \beta_{min}) - \tfrac12 t\beta_{min}\f$
  double log_mean_coeff(double t) const {
    return continuous_detail::vp_log_mean_coeff(t, beta_min_, beta_max_);
  }
  double mean_coeff(double t) const { return std::exp(log_mean_coeff(t)); }
  /// \f$\sqrt{1 - m(t)^2}\f$ via expm1 (no cancellation at small t).
  double marginal_std(double t) const { return continuous_detail::vp_std(t, beta_min_, beta_max_); }
  double prior_std() const { return 1.0; }
  /// DDPM discretization (Song et al. 2021, eq. (46); score_sde VPSDE.discretize) with
  /// beta_i = beta(t) dt: f = sqrt(1 - beta_i) - 1, g = sqrt(beta_i).
  sde_discretization discretize(double t, double dt) const {
    const double b = beta(t) * dt;
    return {std::sqrt(1.0 - b) - 1.0, std::sqrt(b)};
  }
  /// alpha_i = 1 - beta_i of the Langevin corrector (score_sde LangevinCorrector).
  double corrector_alpha(double t, double dt) const { return 1.0 - beta(t) * dt; }

 private:
  double beta_min_, beta_max_;
};

/// Sub-VP SDE (Song et al. 2021, eq. (12)): the VP drift with
/// \f$g(t) = \sqrt{\beta(t)(1 - e^{-2\beta_{min} t - (\beta_{max}-\beta_{min}) t^2})}\f$;
/// same mean as VP, std \f$1 - e^{2 \cdot lmc}\f$ (eq. (29), not square-rooted), prior N(0, I).
class sub_vp_sde {
 public:
  explicit sub_vp_sde(double beta_min = 0.1, double beta_max = 20.0) : vp_(beta_min, beta_max) {}
  double beta_min() const { return vp_.beta_min(); }
  double beta_max() const { return vp_.beta_max(); }
  double beta(double t) const { return vp_.beta(t); }
  double drift_coeff(double t) const { return vp_.drift_coeff(t); }
  /// 4 lmc(t) = -2 beta_min t - (beta_max - beta_min) t^2, so the discount is -expm1(4 lmc).
  double diffusion(double t) const {
    return std::sqrt(beta(t) * -std::expm1(4.0 * vp_.log_mean_coeff(t)));
  }
  double log_mean_coeff(double t) const { return vp_.log_mean_coeff(t); }
  double mean_coeff(double t) const { return vp_.mean_coeff(t); }
  double marginal_std(double t) const {
    return continuous_detail::sub_vp_std(t, vp_.beta_min(), vp_.beta_max());
  }
  double prior_std() const { return 1.0; }
  /// Euler–Maruyama discretization (score_sde SDE.discretize): f = f(t) dt, g = g(t) sqrt(dt).
  sde_discretization discretize(double t, double dt) const {
    return {drift_coeff(t) * dt, diffusion(t) * std::sqrt(dt)};
  }
  double corrector_alpha(double t, double dt) const { return 1.0 - beta(t) * dt; }

 private:
  vp_sde vp_;
};

/// Variance-exploding SDE (Song et al. 2021, eq. (9); SMLD/NCSN in the continuum limit):
/// \f$\sigma(t) = \sigma_{min}(\sigma_{max}/\sigma_{min})^t\f$, f = 0,
/// \f$g(t) = \sigma(t)\sqrt{2\log(\sigma_{max}/\sigma_{min})}\f$, mean coefficient 1,
/// std sigma(t) (score_sde VESDE.marginal_prob), prior N(0, sigma_max^2 I).
class ve_sde {
 public:
  explicit ve_sde(double sigma_min = 0.01, double sigma_max = 50.0)
      : sigma_min_(sigma_min), sigma_max_(sigma_max) {
    check_positive("latent::ve_sde", "sigma_min", sigma_min);
    check_positive("latent::ve_sde", "sigma_max", sigma_max);
    if (!(sigma_min < sigma_max)) {
      throw std::domain_error("latent::ve_sde: sigma_min = " + detail::format_value(sigma_min) +
                              " must be below sigma_max = " + detail::format_value(sigma_max));
    }
  }
  double sigma_min() const { return sigma_min_; }
  double sigma_max() const { return sigma_max_; }
  double sigma(double t) const { return continuous_detail::ve_sigma(t, sigma_min_, sigma_max_); }
  double drift_coeff(double) const { return 0.0; }
  double diffusion(double t) const {
    return sigma(t) * std::sqrt(2.0 * std::log(sigma_max_ / sigma_min_));
  }
  double log_mean_coeff(double) const { return 0.0; }
  double mean_coeff(double) const { return 1.0; }
  double marginal_std(double t) const { return sigma(t); }
  double prior_std() const { return sigma_max_; }
  /// SMLD discretization (Song et al. 2021, eq. (45); score_sde VESDE.discretize):
  /// f = 0, \f$g = \sqrt{\sigma(t)^2 - \sigma(t - dt)^2}\f$.
  sde_discretization discretize(double t, double dt) const {
    const double s = sigma(t), sp = sigma(t - dt);
    return {0.0, std::sqrt(std::max(0.0, s * s - sp * sp))};
  }
  double corrector_alpha(double, double) const { return 1.0; }

 private:
  double sigma_min_, sigma_max_;
};

// ---------------------------------------------------------------------------------------
// Marginals and prior

/// Drift \f$f(t) x\f$. Returns an expression.
template <class SDE, class Derived>
inline auto sde_drift(const SDE& sde, const Eigen::ArrayBase<Derived>& x, double t) {
  detail::check_time("latent::sde_drift", t);
  return scalar_t<Derived>(sde.drift_coeff(t)) * x.derived();
}

/// Mean of the perturbation kernel \f$m(t) x_0\f$. Returns an expression.
template <class SDE, class Derived>
inline auto sde_marginal_mean(const SDE& sde, const Eigen::ArrayBase<Derived>& x0, double t) {
  detail::check_time("latent::sde_marginal_mean", t);
  return scalar_t<Derived>(sde.mean_coeff(t)) * x0.derived();
}

/// Sample of the perturbation kernel \f$x_t = m(t) x_0 + s(t) z\f$ for given noise.
/// Writes out.
template <class SDE, class DerivedX, class DerivedZ, class DerivedO>
inline void sde_perturb(const SDE& sde, const Eigen::ArrayBase<DerivedX>& x0, double t,
                        const Eigen::ArrayBase<DerivedZ>& noise, const Eigen::ArrayBase<DerivedO>& out) {
  using S = scalar_t<DerivedX>;
  constexpr const char* fn = "latent::sde_perturb";
  detail::check_time(fn, t);
  check_same_shape(fn, "x0", x0, "noise", noise);
  check_same_shape(fn, "x0", x0, "out", out);
  latent::assign(out, S(sde.mean_coeff(t)) * x0.derived() + S(sde.marginal_std(t)) * noise.derived());
}

/// Prior sample \f$x_T \sim N(0, \sigma_{prior}^2 I)\f$ into out, from given standard normals.
template <class SDE, class DerivedZ, class DerivedO>
inline void sde_prior_sample(const SDE& sde, const Eigen::ArrayBase<DerivedZ>& noise,
                             const Eigen::ArrayBase<DerivedO>& out) {
  using S = scalar_t<DerivedO>;
  check_same_shape("latent::sde_prior_sample", "noise", noise, "out", out);
  latent::assign(out, S(sde.prior_std()) * noise.derived());
}

/// Prior sample drawing the noise from `engine`. Writes out.
template <class SDE, class DerivedO>
inline void sde_prior_sample(const SDE& sde, const Eigen::ArrayBase<DerivedO>& out, philox4x32& engine) {
  sde_prior_sample(sde, detail::noise_like(out, engine), out);
}

/// Per-column log-density of the prior, \f$-\tfrac D2\log(2\pi\sigma^2) - \lVert z\rVert^2 /
/// (2\sigma^2)\f$ (score_sde prior_logp). Returns an evaluated 1 x B array.
template <class SDE, class Derived>
inline Eigen::Array<scalar_t<Derived>, 1, Eigen::Dynamic> sde_prior_log_prob(
    const SDE& sde, const Eigen::ArrayBase<Derived>& z) {
  using S = scalar_t<Derived>;
  const double s2 = sde.prior_std() * sde.prior_std();
  const S c = S(-0.5 * static_cast<double>(z.rows()) * (log_two_pi<double>() + std::log(s2)));
  return (z.derived().square().colwise().sum() * S(-0.5 / s2)) + c;
}

// ---------------------------------------------------------------------------------------
// Predictors and corrector (single steps; write into out, which may alias x)

/// Reverse-SDE Euler–Maruyama predictor from t to t - dt (Song et al. 2021, eq. (6);
/// score_sde EulerMaruyamaPredictor): \f$x' = x - [f x - g^2 s] dt + g\sqrt{dt}\, z\f$.
template <class SDE, class DerivedX, class DerivedS, class DerivedZ, class DerivedO>
inline void reverse_sde_euler_maruyama_step(const SDE& sde, const Eigen::ArrayBase<DerivedX>& x,
                                            const Eigen::ArrayBase<DerivedS>& score, double t,
                                            double dt, const Eigen::ArrayBase<DerivedZ>& noise,
                                            const Eigen::ArrayBase<DerivedO>& out) {
  using S = scalar_t<DerivedX>;
  constexpr const char* fn = "latent::reverse_sde_euler_maruyama_step";
  detail::check_step(fn, t, dt);
  check_same_shape(fn, "x", x, "score", score);
  check_same_shape(fn, "x", x, "noise", noise);
  check_same_shape(fn, "x", x, "out", out);
  const double g = sde.diffusion(t);
  latent::assign(out, S(1.0 - sde.drift_coeff(t) * dt) * x.derived() + S(g * g * dt) * score.derived() +
                  S(g * std::sqrt(dt)) * noise.derived());
}

/// Reverse-diffusion predictor (Song et al. 2021, eq. (47); score_sde
/// ReverseDiffusionPredictor): with (f_i, g_i) = sde.discretize(t, dt),
/// \f$x' = x - f_i x + g_i^2 s + g_i z\f$.
template <class SDE, class DerivedX, class DerivedS, class DerivedZ, class DerivedO>
inline void reverse_diffusion_step(const SDE& sde, const Eigen::ArrayBase<DerivedX>& x,
                                   const Eigen::ArrayBase<DerivedS>& score, double t, double dt,
                                   const Eigen::ArrayBase<DerivedZ>& noise,
                                   const Eigen::ArrayBase<DerivedO>& out) {
  using S = scalar_t<DerivedX>;
  constexpr const char* fn = "latent::reverse_diffusion_step";
  detail::check_step(fn, t, dt);
  check_same_shape(fn, "x", x, "score", score);
  check_same_shape(fn, "x", x, "noise", noise);
  check_same_shape(fn, "x", x, "out", out);
  const sde_discretization d = sde.discretize(t, dt);
  latent::assign(out, S(1.0 - d.f) * x.derived() + S(d.g * d.g) * score.derived() +
                  S(d.g) * noise.derived());
}

/// Euler step of the probability-flow ODE (Song et al. 2021, eq. (13)) from t to t - dt:
/// \f$x' = x - [f x - \tfrac12 g^2 s] dt\f$. Deterministic.
template <class SDE, class DerivedX, class DerivedS, class DerivedO>
inline void probability_flow_step(const SDE& sde, const Eigen::ArrayBase<DerivedX>& x,
                                  const Eigen::ArrayBase<DerivedS>& score, double t, double dt,
                                  const Eigen::ArrayBase<DerivedO>& out) {
  using S = scalar_t<DerivedX>;
  constexpr const char* fn = "latent::probability_flow_step";
  detail::check_step(fn, t, dt);
  check_same_shape(fn, "x", x, "score", score);
  check_same_shape(fn, "x", x, "out", out);
  const double g = sde.diffusion(t);
  latent::assign(out, S(1.0 - sde.drift_coeff(t) * dt) * x.derived() +
                  S(0.5 * g * g * dt) * score.derived());
}

/// How the Langevin corrector measures the norms in its step size.
enum class corrector_norm {
  /// eps_j from column j's own norms: each chain's step ignores the rest of the batch.
  per_sample,
  /// eps from the batch means of the column norms, as score_sde's LangevinCorrector
  /// (one step size for the whole batch).
  batch_mean
};

/// Langevin corrector step (Song et al. 2021, Algorithm 5; score_sde LangevinCorrector) with
/// the signal-to-noise step size \f$\epsilon = 2\alpha (r \lVert z\rVert / \lVert s\rVert)^2\f$,
/// \f$x' = x + \epsilon s + \sqrt{2\epsilon}\, z\f$. With corrector_norm::per_sample (default)
/// each column j uses its own norms, \f$\epsilon_j = 2\alpha (r \lVert z_j\rVert / \lVert
/// s_j\rVert)^2\f$; a column whose score is exactly 0 is left unchanged. With batch_mean the
/// norms are averaged over the columns first (score_sde). Note: because \f$\epsilon_j\f$
/// depends on \f$\lVert z_j\rVert\f$ and \f$\lVert x_j\rVert\f$, the per-sample rule on
/// N(0, v I) in D dimensions has stationary variance about \f$v (D+2)/(D-2)\f$ (times the ULA
/// factor \f$1/(1 - \epsilon/2v)\f$): negligible for images (D in the thousands), 13% at
/// D = 32; use batch_mean for low-dimensional data. snr > 0, alpha > 0 (checked).
/// Writes out (may alias x).
template <class DerivedX, class DerivedS, class DerivedZ, class DerivedO>
inline void langevin_corrector_step(const Eigen::ArrayBase<DerivedX>& x,
                                    const Eigen::ArrayBase<DerivedS>& score, double snr,
                                    double alpha, const Eigen::ArrayBase<DerivedZ>& noise,
                                    const Eigen::ArrayBase<DerivedO>& out,
                                    corrector_norm norm = corrector_norm::per_sample) {
  using S = scalar_t<DerivedX>;
  using std::sqrt;
  constexpr const char* fn = "latent::langevin_corrector_step";
  check_positive(fn, "snr", snr);
  check_positive(fn, "alpha", alpha);
  check_same_shape(fn, "x", x, "score", score);
  check_same_shape(fn, "x", x, "noise", noise);
  check_same_shape(fn, "x", x, "out", out);
  const S two_alpha_snr2 = S(2.0 * alpha * snr * snr);
  if (norm == corrector_norm::batch_mean) {
    S mean_s = S(0), mean_z = S(0);
    for (Eigen::Index j = 0; j < x.cols(); ++j) {
      mean_s += sqrt(S(score.derived().col(j).square().sum()));
      mean_z += sqrt(S(noise.derived().col(j).square().sum()));
    }
    if (value_of(mean_s) == 0.0) {
      latent::assign(out, x.derived());
      return;
    }
    const S ratio = mean_z / mean_s;
    const S eps = two_alpha_snr2 * ratio * ratio;
    const S c = sqrt(S(2) * eps);
    latent::assign(out, x.derived() + eps * score.derived() + c * noise.derived());
    return;
  }
  for (Eigen::Index j = 0; j < x.cols(); ++j) {
    const S s2 = score.derived().col(j).square().sum();
    if (value_of(s2) == 0.0) {
      detail::writable(out).col(j) = x.derived().col(j);
      continue;
    }
    const S eps = two_alpha_snr2 * noise.derived().col(j).square().sum() / s2;
    const S c = sqrt(S(2) * eps);
    detail::writable(out).col(j) = x.derived().col(j) + eps * score.derived().col(j) + c * noise.derived().col(j);
  }
}

// ---------------------------------------------------------------------------------------
// Predictor-corrector loop

/// Predictor of the PC sampler.
enum class pc_predictor { none, euler_maruyama, reverse_diffusion, probability_flow };

/// Options of pc_sample (defaults: Song et al. 2021 Table 3 / score_sde configs use
/// reverse diffusion + 1 Langevin corrector step, snr 0.16, eps 1e-3, N = 1000).
struct pc_options {
  Eigen::Index steps = 1000;            ///< N predictor steps from T = 1 to eps
  pc_predictor predictor = pc_predictor::reverse_diffusion;
  Eigen::Index corrector_steps = 1;     ///< Langevin corrector steps before each predictor
  double snr = 0.16;                    ///< corrector signal-to-noise ratio r
  corrector_norm norm = corrector_norm::per_sample;  ///< corrector step-size norms
  double eps = 1e-3;                    ///< final time (the score is unreliable at t -> 0)
  bool denoise = true;                  ///< last predictor step adds no noise (x_mean)
  bool from_prior = true;               ///< overwrite x with a prior sample first
};

/// Predictor-corrector sampler (Song et al. 2021, Algorithms 2-3; score_sde
/// get_pc_sampler). Time grid t_i = 1 - i (1 - eps) / N, i = 0..N-1, dt = (1 - eps) / N; at
/// each t_i, `corrector_steps` Langevin corrector steps with alpha = sde.corrector_alpha(t_i,
/// dt), then one predictor step to t_i - dt. score(x, t, out) is the score callback. Updates
/// x in place (starting from a prior sample when from_prior); allocates a score and a noise
/// buffer once per call.
template <class SDE, class Score, class Derived>
inline void pc_sample(const SDE& sde, Score&& score, Eigen::ArrayBase<Derived>& x,
                      const pc_options& opt, philox4x32& engine) {
  constexpr const char* fn = "latent::pc_sample";
  check_in_range(fn, "steps", opt.steps, Eigen::Index(1), Eigen::Index(1) << 40);
  check_in_range(fn, "corrector_steps", opt.corrector_steps, Eigen::Index(0), Eigen::Index(1) << 40);
  check_in_range(fn, "eps", opt.eps, 0.0, 0.5);
  if (opt.corrector_steps > 0) check_positive(fn, "snr", opt.snr);
  if (opt.predictor == pc_predictor::none && opt.corrector_steps == 0) {
    throw std::invalid_argument(std::string(fn) +
                                ": predictor is none and corrector_steps is 0; nothing to run");
  }
  check_non_empty(fn, "x", x);
  using Plain = typename Derived::PlainObject;
  Plain s(x.rows(), x.cols()), z(x.rows(), x.cols());
  if (opt.from_prior) sde_prior_sample(sde, x, engine);
  const double dt = (1.0 - opt.eps) / static_cast<double>(opt.steps);
  for (Eigen::Index i = 0; i < opt.steps; ++i) {
    const double t = 1.0 - static_cast<double>(i) * dt;
    const bool last = i + 1 == opt.steps;
    for (Eigen::Index k = 0; k < opt.corrector_steps; ++k) {
      score(x.derived(), t, s);
      detail::fill_noise(z, engine);
      langevin_corrector_step(x, s, opt.snr, sde.corrector_alpha(t, dt), z, x, opt.norm);
    }
    if (opt.predictor == pc_predictor::none) continue;
    score(x.derived(), t, s);
    if (opt.predictor == pc_predictor::probability_flow) {
      probability_flow_step(sde, x, s, t, dt, x);
      continue;
    }
    if (last && opt.denoise) {
      z.setZero();
    } else {
      detail::fill_noise(z, engine);
    }
    if (opt.predictor == pc_predictor::euler_maruyama) {
      reverse_sde_euler_maruyama_step(sde, x, s, t, dt, z, x);
    } else {
      reverse_diffusion_step(sde, x, s, t, dt, z, x);
    }
  }
}

}  // namespace latent
