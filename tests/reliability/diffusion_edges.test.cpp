// Reliability: the edges of the discrete diffusion side. alpha_bar exactly 1 (t = -1) and 0
// (zero terminal SNR), every DDPM/DDIM step and prediction type at zero terminal SNR, the
// posterior variance at t = 0, both ends of the cosine schedule, float32 everywhere, guidance
// scales 0, 1e-6 and 1e6, empty batches / D = 1 / B = 1, and the NaN/Inf policy (data NaN
// propagates, parameters are validated). Outcomes are listed in docs/reliability.md.
#include <catch2/catch.hpp>

#include <Eigen/Core>
#include <cmath>
#include <limits>

#include "latent/diffusion/ddim.hpp"
#include "latent/diffusion/ddpm.hpp"
#include "latent/diffusion/forward.hpp"
#include "latent/diffusion/guidance.hpp"
#include "latent/diffusion/posterior.hpp"
#include "latent/diffusion/predictions.hpp"
#include "latent/diffusion/schedule.hpp"
#include "latent/random/philox.hpp"

namespace {
template <class S>
using A = Eigen::Array<S, Eigen::Dynamic, Eigen::Dynamic>;

latent::noise_schedule ztsnr(std::int64_t T = 1000) {
  return latent::noise_schedule(latent::rescale_zero_terminal_snr(latent::scaled_linear_betas(T)));
}

template <class S>
A<S> ramp(Eigen::Index d, Eigen::Index b, double scale = 1.0) {
  A<S> x(d, b);
  for (Eigen::Index i = 0; i < x.size(); ++i) x(i) = S(scale * std::sin(0.7 * double(i) + 0.3));
  return x;
}
}  // namespace

TEST_CASE("zero terminal SNR schedule: alpha_bar is exactly 0 at T-1 and 1 at t = -1",
          "[reliability][diffusion][ztsnr]") {
  const auto s = ztsnr();
  const auto T = s.size();
  CHECK(s.betas()(T - 1) == 1.0);
  CHECK(s.alpha_bar()(T - 1) == 0.0);
  CHECK(s.one_minus_alpha_bar()(T - 1) == 1.0);
  CHECK(s.snr()(T - 1) == 0.0);
  CHECK(s.log_snr()(T - 1) == -std::numeric_limits<double>::infinity());
  CHECK(s.sigma()(T - 1) == std::numeric_limits<double>::infinity());
  CHECK(s.alpha_bar_at(-1) == 1.0);
  CHECK(s.one_minus_alpha_bar_at(-1) == 0.0);
  CHECK(s.posterior_variance().allFinite());
  CHECK(s.posterior_log_variance_clipped().allFinite());
  CHECK(s.posterior_mean_coef1().allFinite());
  CHECK(s.posterior_mean_coef2().allFinite());
  // Only the last beta may be 1.
  Eigen::ArrayXd b = latent::linear_betas(10);
  b(4) = 1.0;
  CHECK_THROWS_AS(latent::noise_schedule(b), std::domain_error);
  CHECK_THROWS_WITH(latent::noise_schedule(b),
                    Catch::Contains("latent::noise_schedule: betas[4] is 1, but must be in (0, 1)"));
}

TEST_CASE("posterior variance at t = 0 is exactly 0; clipped log-variance uses t = 1",
          "[reliability][diffusion][posterior]") {
  for (const auto& s : {latent::noise_schedule(latent::linear_betas(1000)), ztsnr()}) {
    CHECK(latent::posterior_variance(s, 0) == 0.0);
    CHECK(latent::posterior_variance(s, 0, -1) == 0.0);
    CHECK(latent::posterior_log_variance_clipped(s, 0) == s.posterior_log_variance_clipped()(1));
    CHECK(std::isfinite(latent::posterior_log_variance_clipped(s, 0)));
    const auto c = latent::posterior_coefficients(s, 0, -1);
    CHECK(c.coef_x0 == Approx(1.0));  // the last step returns x0_hat
    CHECK(c.coef_xt == 0.0);
  }
  const latent::noise_schedule one(latent::linear_betas(1));  // T = 1: log beta_0
  CHECK(latent::posterior_log_variance_clipped(one, 0) == Approx(std::log(1e-4)));
}

TEST_CASE("cosine schedule at both ends: first beta tiny and accurate, last beta capped",
          "[reliability][diffusion][cosine]") {
  const auto b = latent::cosine_betas(1000);
  // beta_0 = 1 - cos^2(pi/2 (1/T + s)/(1 + s)) / cos^2(pi/2 s/(1 + s)), s = 0.008
  // (mpmath, 30 digits: 4.1190559292e-05; tools/diffusion_reference.py computes the table).
  const double s = 0.008, hp = 1.5707963267948966;
  const double a0 = std::cos(hp * s / (1 + s)), a1 = std::cos(hp * (1.0 / 1000 + s) / (1 + s));
  CHECK(b(0) == Approx(1 - a1 * a1 / (a0 * a0)).epsilon(1e-9));
  CHECK(b(0) > 0);
  CHECK(b(999) == 0.999);  // capped at max_beta
  const latent::noise_schedule sc(b);
  CHECK(sc.alpha_bar()(999) > 0);
  CHECK(sc.alpha_bar()(999) < 1e-7);
  CHECK(sc.sigma().allFinite());
  CHECK(sc.one_minus_alpha_bar()(0) == Approx(b(0)).epsilon(1e-12));  // no cancellation
}

TEMPLATE_TEST_CASE("every DDPM step at zero terminal SNR: v and sample prediction finite, "
                   "epsilon prediction throws",
                   "[reliability][diffusion][ztsnr][ddpm]", float, double) {
  using S = TestType;
  const auto s = ztsnr();
  const auto T = s.size();
  const A<S> x = ramp<S>(4, 3, 1.0), m = ramp<S>(4, 3, 0.5), z = ramp<S>(4, 3, -1.0);
  A<S> out(4, 3);
  for (auto v : {latent::variance_type::fixed_small, latent::variance_type::fixed_small_log,
                 latent::variance_type::fixed_large, latent::variance_type::fixed_large_log}) {
    for (auto p : {latent::prediction_type::v_prediction, latent::prediction_type::sample}) {
      for (bool clip : {false, true}) {
        latent::ddpm_options o;
        o.prediction = p;
        o.variance = v;
        o.clip_sample = clip;
        latent::ddpm_step(s, o, T - 1, T - 2, x, m, out, z);
        CHECK(out.allFinite());
        latent::ddpm_step(s, o, T - 1, T - 21, x, m, out, z);  // a skipped step
        CHECK(out.allFinite());
        latent::ddpm_step(s, o, T - 1, -1, x, m, out, z);      // a single step to the end
        CHECK(out.allFinite());
      }
    }
    latent::ddpm_options o;
    o.variance = v;
    CHECK_THROWS_AS(latent::ddpm_step(s, o, T - 1, T - 2, x, m, out, z), std::domain_error);
    CHECK_THROWS_WITH(latent::ddpm_step(s, o, T - 1, T - 2, x, m, out, z),
                      Catch::Contains("latent::ddpm_step: alpha_bar at t = 999 is 0 (zero terminal SNR)"));
  }
  // Learned variances at zero terminal SNR.
  latent::ddpm_options o;
  o.prediction = latent::prediction_type::v_prediction;
  o.variance = latent::variance_type::learned_range;
  const A<S> pv = ramp<S>(4, 3, 0.9);
  latent::ddpm_step(s, o, T - 1, T - 2, x, m, pv, out, z);
  CHECK(out.allFinite());
  o.variance = latent::variance_type::learned;
  latent::ddpm_step(s, o, T - 1, T - 2, x, m, A<S>(pv.abs()), out, z);
  CHECK(out.allFinite());
  // With v prediction at alpha_bar = 0, x0_hat = -v exactly (sqrt(ab) x - sqrt(1-ab) v).
  const A<S> x0 = latent::predict_x0(s, latent::prediction_type::v_prediction, T - 1, x, m);
  CHECK((x0 == -m).all());
}

TEMPLATE_TEST_CASE("every DDIM step at zero terminal SNR, eta 0 and 1, thresholding",
                   "[reliability][diffusion][ztsnr][ddim]", float, double) {
  using S = TestType;
  const auto s = ztsnr();
  const auto T = s.size();
  const A<S> x = ramp<S>(5, 2, 1.0), m = ramp<S>(5, 2, 0.5), z = ramp<S>(5, 2, -1.0);
  A<S> out(5, 2);
  for (auto p : {latent::prediction_type::v_prediction, latent::prediction_type::sample}) {
    for (double eta : {0.0, 1.0}) {
      for (int tr = 0; tr < 3; ++tr) {
        latent::ddim_options o;
        o.prediction = p;
        o.eta = eta;
        o.clip_sample = tr == 1;
        o.thresholding = tr == 2;
        o.use_clipped_model_output = tr > 0;
        for (std::int64_t prev : {T - 2, std::int64_t(0), std::int64_t(-1)}) {
          latent::ddim_step(s, o, T - 1, prev, x, m, out, z);
          CHECK(out.allFinite());
        }
      }
    }
  }
  latent::ddim_options o;  // epsilon
  CHECK_THROWS_AS(latent::ddim_step(s, o, T - 1, T - 2, x, m, out), std::domain_error);
  CHECK_THROWS_WITH(latent::ddim_step(s, o, T - 1, T - 2, x, m, out),
                    Catch::Contains("latent::ddim_step: alpha_bar at t = 999 is 0"));
  // Inversion into the terminal step: x_{T-1} = eps_hat exactly (sqrt(ab_next) = 0).
  latent::ddim_inversion_step(s, latent::prediction_type::v_prediction, T - 2, T - 1, x, m, out);
  CHECK(out.allFinite());
  // Inversion from the clean sample (t = -1, alpha_bar = 1) with epsilon prediction.
  latent::ddim_inversion_step(s, latent::prediction_type::epsilon, -1, 0, x, m, out);
  CHECK(out.allFinite());
  CHECK_THROWS_AS(latent::ddim_inversion_step(s, latent::prediction_type::sample, -1, 0, x, m, out),
                  std::domain_error);
  CHECK_THROWS_WITH(latent::ddim_inversion_step(s, latent::prediction_type::sample, -1, 0, x, m, out),
                    Catch::Contains("latent::ddim_inversion_step: t = -1 (alpha_bar = 1) cannot recover epsilon"));
}

TEMPLATE_TEST_CASE("final steps (prev_t = -1, alpha_bar_prev = 1) return x0_hat exactly, no noise",
                   "[reliability][diffusion][final]", float, double) {
  using S = TestType;
  const latent::noise_schedule s(latent::linear_betas(1000));
  const A<S> x = ramp<S>(3, 2, 1.0), m = ramp<S>(3, 2, 0.5);
  const A<S> nan_noise = A<S>::Constant(3, 2, std::numeric_limits<S>::quiet_NaN());
  A<S> out(3, 2);
  latent::ddpm_options o;
  o.prediction = latent::prediction_type::sample;
  latent::ddpm_step(s, o, 0, -1, x, m, out, nan_noise);  // noise ignored at the last step
  CHECK(out.allFinite());
  CHECK(out.isApprox(m, S(1e-5)));
  latent::ddim_options d;
  d.prediction = latent::prediction_type::sample;
  d.eta = 1.0;
  latent::ddim_step(s, d, 0, -1, x, m, out, nan_noise);  // variance is 0: noise not read
  CHECK(out.isApprox(m, S(1e-5)));
}

TEMPLATE_TEST_CASE("guidance scales 0, 1e-6, 1e6 stay finite; w = 0 and w = 1 are exact",
                   "[reliability][diffusion][guidance]", float, double) {
  using S = TestType;
  const A<S> u = ramp<S>(4, 3, 1.0), c = ramp<S>(4, 3, -0.5);
  for (double w : {0.0, 1e-6, 1.0, 1e6}) {
    const A<S> g = latent::classifier_free_guidance(u, c, w);
    CHECK(g.allFinite());
    A<S> r(4, 3);
    latent::classifier_free_guidance_rescaled(u, c, w, 0.7, r);
    CHECK(r.allFinite());
  }
  CHECK((A<S>(latent::classifier_free_guidance(u, c, 0.0)) == u).all());
  // w = 1 is eps_c up to one rounding of u + (c - u) (not bit-exact).
  CHECK(A<S>(latent::classifier_free_guidance(u, c, 1.0)).isApprox(c, S(1e-6)));
  const latent::noise_schedule s(latent::linear_betas(100));
  for (double w : {0.0, 1e-6, 1e6}) {
    CHECK(A<S>(latent::classifier_guidance_eps(s, 50, u, c, w)).allFinite());
    CHECK(A<S>(latent::classifier_guidance_mean(u, 0.01, c, w)).allFinite());
  }
  for (double bad : {std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity()}) {
    CHECK_THROWS_AS(latent::classifier_free_guidance(u, c, bad), std::domain_error);
    CHECK_THROWS_WITH(latent::classifier_free_guidance(u, c, bad),
                      Catch::Contains("latent::classifier_free_guidance: guidance_scale is"));
  }
}

TEMPLATE_TEST_CASE("steps on empty batches throw, D = 1 and B = 1 work",
                   "[reliability][diffusion][shapes]", float, double) {
  using S = TestType;
  const latent::noise_schedule s(latent::linear_betas(50));
  A<S> e(4, 0), eo(4, 0);
  latent::ddpm_options o;
  CHECK_THROWS_AS(latent::ddpm_step(s, o, 10, 9, e, e, eo, e), std::invalid_argument);
  CHECK_THROWS_WITH(latent::ddpm_step(s, o, 10, 9, e, e, eo, e),
                    Catch::Contains("latent::ddpm_step: x_t is empty (4 x 0), but must have at least one element"));
  CHECK_THROWS_WITH(latent::ddim_step(s, latent::ddim_options{}, 10, 9, e, e, eo),
                    Catch::Contains("latent::ddim_step: x_t is empty (4 x 0)"));
  // Element-wise forms accept empty batches (an empty expression).
  CHECK(A<S>(latent::q_sample(s, 3, e, e)).size() == 0);
  CHECK(A<S>(latent::predict_x0(s, latent::prediction_type::epsilon, 3, e, e)).size() == 0);
  for (auto shape : {std::pair<int, int>{1, 1}, {1, 7}, {7, 1}}) {
    const A<S> x = ramp<S>(shape.first, shape.second), m = ramp<S>(shape.first, shape.second, 0.3);
    A<S> out(shape.first, shape.second);
    latent::ddpm_options t;
    t.thresholding = true;
    latent::ddpm_step(s, t, 10, 9, x, m, out, m);
    CHECK(out.allFinite());
    latent::ddim_step(s, latent::ddim_options{}, 10, 5, x, m, out);
    CHECK(out.allFinite());
  }
}

TEMPLATE_TEST_CASE("NaN/Inf policy, diffusion: data NaN propagates element-wise, parameters throw",
                   "[reliability][diffusion][nan]", float, double) {
  using S = TestType;
  const S nan = std::numeric_limits<S>::quiet_NaN(), inf = std::numeric_limits<S>::infinity();
  const latent::noise_schedule s(latent::linear_betas(100));
  A<S> x = ramp<S>(3, 3), m = ramp<S>(3, 3, 0.5), out(3, 3);
  x(0, 0) = nan;
  m(2, 2) = inf;
  latent::ddpm_step(s, latent::ddpm_options{}, 50, 49, x, m, out, ramp<S>(3, 3));
  CHECK(std::isnan(out(0, 0)));
  CHECK(std::isinf(out(2, 2)));
  CHECK(out.block(0, 1, 3, 1).allFinite());  // other columns untouched by the NaN
  latent::ddim_step(s, latent::ddim_options{}, 50, 40, x, m, out);
  CHECK(std::isnan(out(0, 0)));
  CHECK(out.block(0, 1, 3, 1).allFinite());
  // Non-finite data stays non-finite even through clipping: the clipped x0_hat is finite, but
  // the fused update also multiplies the raw model output by a zero coefficient (0 * inf =
  // NaN). The policy is "non-finite in, non-finite out, in that element", never a throw.
  latent::ddpm_options c;
  c.clip_sample = true;
  c.prediction = latent::prediction_type::sample;
  latent::ddpm_step(s, c, 50, 49, ramp<S>(3, 3), m, out, ramp<S>(3, 3));
  CHECK(!std::isfinite(out(2, 2)));
  CHECK(out.block(0, 0, 3, 2).allFinite());
  // Parameters are validated: eta, clip range, thresholding ratio, betas.
  latent::ddim_options d;
  d.eta = std::numeric_limits<double>::quiet_NaN();
  CHECK_THROWS_WITH(latent::ddim_step(s, d, 50, 40, ramp<S>(3, 3), m, out),
                    Catch::Contains("latent::ddim_step: eta is nan, but must be non-negative and finite"));
  latent::ddpm_options r;
  r.clip_sample = true;
  r.clip_sample_range = std::numeric_limits<double>::infinity();
  CHECK_THROWS_WITH(latent::ddpm_step(s, r, 50, 49, ramp<S>(3, 3), m, out, m),
                    Catch::Contains("latent::ddpm_step: clip_sample_range is inf, but must be positive and finite"));
  Eigen::ArrayXd b = latent::linear_betas(10);
  b(3) = std::numeric_limits<double>::quiet_NaN();
  CHECK_THROWS_WITH(latent::noise_schedule(b), Catch::Contains("latent::noise_schedule: betas[3] is nan"));
}

TEST_CASE("rescaled zero-terminal-SNR betas stay inside (0, 1) and always make a schedule",
          "[reliability][diffusion]") {
  // Inputs where alpha_bar almost vanishes before T - 1: the rescale formula's cancellation
  // once gave inner betas of 1 + 6.5e-14 and 1 + 7.6e-11, which noise_schedule rejected.
  const Eigen::ArrayXd cases[] = {
      latent::rescale_zero_terminal_snr(latent::linear_betas(72, 0.99998521851375366, 8.1712457767907187e-14)),
      latent::rescale_zero_terminal_snr(
          latent::scaled_linear_betas(268, 0.063903808375798121, 1.2079226507980511e-13))};
  for (const auto& r : cases) {
    const Eigen::Index T = r.size();
    CHECK(r(T - 1) == 1.0);
    CHECK((r.head(T - 1) > 0).all());
    CHECK((r.head(T - 1) < 1).all());
    const latent::noise_schedule s(r);
    CHECK(s.alpha_bar()(T - 1) == 0.0);
    CHECK(s.alpha_bar().allFinite());
  }
}

TEST_CASE("float steps whose coefficients exceed float's range are computed in double, no NaN",
          "[reliability][diffusion]") {
  // alpha_bar_6 = 2.7e-104: 1/sqrt(alpha_bar) ~ 6e51 is beyond FLT_MAX. Cast separately, the
  // folded coefficients c_x ~ 6e51 and c_m ~ -6e51 gave inf - inf = NaN although x0_hat is ~0.
  Eigen::ArrayXd betas = Eigen::ArrayXd::Constant(9, 1.0 - 1.5e-15);
  betas(8) = 1.0;
  const latent::noise_schedule s(betas);
  REQUIRE(s.alpha_bar()(6) < 1e-100);
  A<float> x = A<float>::Constant(3, 2, -3.58354616f), m = x, out(3, 2);
  latent::ddpm_options o;  // epsilon prediction, no clipping
  latent::ddpm_step(s, o, 6, -1, x, m, out, A<float>::Zero(3, 2));
  CHECK(out.allFinite());
  CHECK((out.abs() < 1e-6f).all());  // x0_hat = (x - sqrt(1 - alpha_bar) eps) / sqrt(alpha_bar) ~ 0
  // Double: the same ~0 (folding 6e51 x - 6e51 m would leave ~1e36 under FMA contraction).
  A<double> xd = x.cast<double>(), outd(3, 2);
  latent::ddpm_step(s, o, 6, -1, xd, xd, outd, A<double>::Zero(3, 2));
  CHECK((outd.abs() < 1e-6).all());
  // With clipping the same ~0 (not the clip bound).
  latent::ddpm_options oc;
  oc.clip_sample = true;
  latent::ddpm_step(s, oc, 6, -1, x, m, out, A<float>::Zero(3, 2));
  CHECK((out.abs() < 1e-6f).all());
  // A generic input gives an x0_hat beyond float's range: +-inf, never NaN.
  A<float> x2 = ramp<float>(3, 2), m2 = A<float>::Zero(3, 2);
  latent::ddpm_step(s, o, 6, -1, x2, m2, out, A<float>::Zero(3, 2));
  CHECK(!out.isNaN().any());
  CHECK(out.isInf().all());
  // Dynamic thresholding there: x0_hat beyond float's range in the scratch column and a quantile
  // fraction (ratio 1e-71) that underflows in float once gave 0 * inf = NaN (fuzz steps).
  {
    Eigen::ArrayXd b5(5);
    b5 << 0.99999999999999933, 0.99999999999999944, 0.99999999999999911, 0.99999999999999944,
        0.99999999999999933;
    const latent::noise_schedule s5(b5);
    latent::ddpm_options ot;
    ot.variance = latent::variance_type::fixed_large_log;
    ot.thresholding = true;
    ot.dynamic_thresholding_ratio = 1.0296993685067531e-71;
    ot.sample_max_value = 1.5;
    A<float> xt(2, 1), mt(2, 1), zt = A<float>::Zero(2, 1), ot_out(2, 1);
    xt << -2.86781454f, 4.0f;
    mt << 3.90950251f, 3.99999928f;
    latent::ddpm_step(s5, ot, 4, 0, xt, mt, ot_out, zt);
    CHECK(ot_out.allFinite());
  }
  // DDIM inversion with sample prediction from a step where 1 - alpha_bar < 1e-76: the epsilon
  // coefficient 1/sqrt(1 - alpha_bar) ~ 7e39 is beyond float. A model returning x_t as x0_hat
  // means eps_hat = (x_t - sqrt(alpha_bar) x_t) / sqrt(1 - alpha_bar) ~ 7e-41 x_t, so
  // x_next = sqrt(alpha_bar_next) x_t: the O(1) term beside the huge ones must survive.
  Eigen::ArrayXd tiny = Eigen::ArrayXd::Constant(4, 1e-80);
  tiny(3) = 0.5;
  const latent::noise_schedule s2(tiny);
  REQUIRE(s2.one_minus_alpha_bar()(1) < 1e-76);
  const double sn = s2.sqrt_alpha_bar()(3);
  A<float> xs = ramp<float>(3, 2), ms = xs, inv(3, 2);
  latent::ddim_inversion_step(s2, latent::prediction_type::sample, 1, 3, xs, ms, inv);
  CHECK(inv.allFinite());
  CHECK((inv.cast<double>() - sn * xs.cast<double>()).abs().maxCoeff() < 1e-6);
  A<double> invd(3, 2);
  latent::ddim_inversion_step(s2, latent::prediction_type::sample, 1, 3, xs.cast<double>().eval(),
                              ms.cast<double>().eval(), invd);
  CHECK((invd - sn * xs.cast<double>()).abs().maxCoeff() < 1e-12);
}

TEST_CASE("tiny betas after a large one: beta_{t|prev} does not cancel to 0 (learned range)",
          "[reliability][diffusion]") {
  // alpha_bar = 0.5 after the first step, then betas ~1e-213: log alpha_bar_t - log
  // alpha_bar_prev cancels to 0 in double, beta_{t|prev} became 0 and the learned-range
  // variance exp(frac log beta + (1 - frac) log beta_tilde) NaN at v = 0 (fuzz steps).
  Eigen::ArrayXd b(9);
  b << 0.5, 5e-301, 6.47e-292, 1.52e-299, 3.57e-214, 2.63e-213, 5.37e-260, 1.69e-260, 1.13e-73;
  const latent::noise_schedule s(b);
  const auto pc = latent::posterior_coefficients(s, 6, 4);
  CHECK(pc.beta_t_given_prev == Approx(2.63e-213 + 5.37e-260).epsilon(1e-12));
  latent::ddpm_options o;
  o.variance = latent::variance_type::learned_range;
  o.clip_sample = true;
  const A<double> x = A<double>::Zero(3, 2), m = x, v = x;
  A<double> z = ramp<double>(3, 2), out(3, 2);
  latent::ddpm_step(s, o, 6, 4, x, m, v, out, z);
  CHECK(out.allFinite());
}
