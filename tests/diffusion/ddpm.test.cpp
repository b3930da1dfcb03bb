// Tests for latent/diffusion/ddpm.hpp. Reference values: tools/diffusion_reference.py
// (diffusers DDPMScheduler.step re-implemented in numpy float64).
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include <Eigen/Core>
#include <unsupported/Eigen/AutoDiff>

#include "latent/diffusion/ddim.hpp"
#include "latent/diffusion/ddpm.hpp"
#include "latent/diffusion/timesteps.hpp"

using Catch::Matchers::Contains;

#include "diffusion/step_fixtures.hpp"

TEST_CASE("DDPM steps match diffusers' DDPMScheduler.step", "[diffusion][ddpm]") {
  using latent::prediction_type;
  using latent::variance_type;
  const auto& s = linear();
  A out(4, 2);
  latent::ddpm_options o;
  SECTION("epsilon, fixed_small, 500 -> 480") {
    latent::ddpm_step(s, o, 500, 480, X, M, out, Z);
    check_close(out, fixed({-0.12844696939991429, -1.0949553382235764, 1.9681063932346026, 0.17492083131129077, -0.10358174236094592, 2.3040634340495032, -0.11353185618171724, -0.69265083931748406}));
  }
  SECTION("v, fixed_large, clip_sample, 500 -> 480") {
    o.prediction = prediction_type::v_prediction;
    o.variance = variance_type::fixed_large;
    o.clip_sample = true;
    latent::ddpm_step(s, o, 500, 480, X, M, out, Z);
    check_close(out, fixed({-0.071452436353529852, -0.89967693839848151, 1.4781447542904951, 0.067991702179224678, 0.069775123440557196, 2.1881654942340001, -0.15528339116080436, -0.50567972881572043}));
  }
  SECTION("sample, learned_range, 260 -> 240") {
    o.prediction = prediction_type::sample;
    o.variance = variance_type::learned_range;
    latent::ddpm_step(s, o, 260, 240, X, M, PV, out, Z);
    check_close(out, fixed({0.15560641049223231, -0.94338075062759186, 1.1809178870254675, 0.23576436366793563, 0.071175354732133878, 2.331326785976866, -0.13740989871803164, -0.39976047205711196}));
  }
  SECTION("epsilon, learned, 260 -> 259") {
    o.variance = variance_type::learned;
    latent::ddpm_step(s, o, 260, 259, X, M, PVL, out, Z);
    check_close(out, fixed({0.22483628617928547, -1.1443770343594455, 1.5468094139098256, 0.60806907307851299, -0.27080715384414933, 2.2714131752921509, 0.0069008297715204767, -0.58851016662697331}));
  }
  SECTION("epsilon, fixed_small_log, dynamic thresholding (0.995, 1.5), 20 -> 0") {
    o.variance = variance_type::fixed_small_log;
    o.thresholding = true;
    o.sample_max_value = 1.5;
    const A m3 = M * 3;
    latent::ddpm_step(s, o, 20, 0, X, m3, out, Z);
    check_close(out, fixed({0.070251080680018382, -0.75799401759984497, 1.0099407454253257, 0.41986126466313145, -0.35246346602687872, 1.0264330987781316, 0.05999545877688104, -0.47325457755648781}));
  }
  SECTION("v, fixed_large_log, 700 -> 699") {
    o.prediction = prediction_type::v_prediction;
    o.variance = variance_type::fixed_large_log;
    latent::ddpm_step(s, o, 700, 699, X, M, out, Z);
    check_close(out, fixed({0.21398999746137676, -1.1437881205736569, 1.5144250474449523, 0.54071389835990868, -0.26752913723977551, 2.18962337280847, -0.0093706738277242324, -0.57852513710668563}));
  }
  SECTION("last step 0 -> -1 adds no noise") {
    A nan_noise = A::Constant(4, 2, std::numeric_limits<double>::quiet_NaN());
    latent::ddpm_step(s, o, 0, -1, X, M, out, nan_noise);
    check_close(out, fixed({0.2920146010950917, -1.1970598544891242, 1.5110755556667217, 0.6975348776158431, -0.40602030152262658, 2.0811040578044016, 0.052002600195016145, -0.60453022726706362}));
    latent::philox4x32 engine(3);
    A out2(4, 2);
    latent::ddpm_step(s, o, 0, -1, X, M, out2, engine);
    CHECK((out2 == out).all());
  }
  SECTION("zero terminal SNR, v prediction, 999 -> 979") {
    o.prediction = prediction_type::v_prediction;
    latent::ddpm_step(zero_snr(), o, 999, 979, X, M, out, Z);
    check_close(out, fixed({-0.70113231925728003, 0.40042448181994639, 0.20155770370544673, -1.3003527653603855, 1.0991491308116421, 0.89730817178083266, -0.4997162432145148, 0.14936252507989686}));
  }
}

TEMPLATE_TEST_CASE("DDPM step in float agrees with double; engine equals given noise",
                   "[diffusion][ddpm]", float, double) {
  using S = TestType;
  using AS = Eigen::Array<S, Eigen::Dynamic, Eigen::Dynamic>;
  const auto& s = linear();
  latent::ddpm_options o;
  const AS x = X.cast<S>(), m = M.cast<S>();
  AS out(4, 2), out2(4, 2);
  latent::philox4x32 e1(11), e2(11);
  latent::ddpm_step(s, o, 300, 299, x, m, out, e1);
  const AS z = latent::randn_like(x, e2);
  latent::ddpm_step(s, o, 300, 299, x, m, out2, z);
  CHECK(((out - out2).abs() <= S(1e-6) * (S(1) + out.abs())).all());
  // The engine advanced: a second call draws different noise.
  AS out3(4, 2);
  latent::ddpm_step(s, o, 300, 299, x, m, out3, e1);
  CHECK((out3 != out).any());
  // In place (out aliases x_t) equals out of place.
  AS inplace = x;
  latent::ddpm_step(s, o, 300, 299, inplace, m, inplace, z);
  CHECK(((inplace - out2).abs() <= S(1e-6)).all());
  // An expression argument equals its evaluated array.
  AS out4(4, 2);
  latent::ddpm_step(s, o, 300, 299, x * S(1), m + S(0), out4, z * S(1));
  CHECK(((out4 - out2).abs() <= S(1e-6)).all());
  // float against double, alpha_bar near 1 (t = 1 -> 0).
  AS of(4, 2);
  A od(4, 2);
  latent::ddpm_step(s, o, 1, 0, x, m, of, Z.cast<S>());
  latent::ddpm_step(s, o, 1, 0, X, M, od, Z);
  CHECK(of.allFinite());
  CHECK(((of.template cast<double>() - od).abs() <= 1e-5 * (1 + od.abs())).all());
}

TEST_CASE("DDPM step derivatives with AutoDiffScalar", "[diffusion][ddpm]") {
  using AD = Eigen::AutoDiffScalar<Eigen::VectorXd>;
  using AA = Eigen::Array<AD, Eigen::Dynamic, Eigen::Dynamic>;
  const auto& s = linear();
  for (auto pred : {latent::prediction_type::epsilon, latent::prediction_type::sample,
                    latent::prediction_type::v_prediction}) {
    latent::ddpm_options o;
    o.prediction = pred;
    AA x(1, 1), m(1, 1), out(1, 1);
    x(0, 0) = AD(0.4, 2, 0);
    m(0, 0) = AD(-0.3, 2, 1);
    A z(1, 1);
    z << 0.25;
    latent::ddpm_step(s, o, 400, 380, x, m, out, z);
    const latent::ddpm_coeffs k = latent::ddpm_coefficients(s, o, 400, 380);
    CHECK(out(0, 0).derivatives()(0) == Approx(k.k0 * k.ax + k.kx).epsilon(1e-14));
    CHECK(out(0, 0).derivatives()(1) == Approx(k.k0 * k.am).epsilon(1e-14).margin(1e-300));
    // Finite differences in double.
    const double h = 1e-6;
    A xp(1, 1), xm(1, 1), mm(1, 1), op(1, 1), om(1, 1);
    xp << 0.4 + h;
    xm << 0.4 - h;
    mm << -0.3;
    latent::ddpm_step(s, o, 400, 380, xp, mm, op, z);
    latent::ddpm_step(s, o, 400, 380, xm, mm, om, z);
    CHECK(out(0, 0).derivatives()(0) == Approx((op(0, 0) - om(0, 0)) / (2 * h)).epsilon(1e-7));
  }
}

TEST_CASE("DDPM edges: zero terminal SNR, T = 1, T = 10^4, t = T - 1", "[diffusion][ddpm]") {
  using latent::prediction_type;
  using latent::variance_type;
  latent::philox4x32 engine(5);
  A out(4, 2);
  for (auto pred : {prediction_type::sample, prediction_type::v_prediction}) {
    for (auto var : {variance_type::fixed_small, variance_type::fixed_small_log,
                     variance_type::fixed_large, variance_type::fixed_large_log}) {
      latent::ddpm_options o;
      o.prediction = pred;
      o.variance = var;
      for (bool clip : {false, true}) {
        o.clip_sample = clip;
        latent::ddpm_step(zero_snr(), o, 999, 998, X, M, out, engine);
        CHECK(out.allFinite());
        latent::ddpm_step(zero_snr(), o, 999, -1, X, M, out, engine);
        CHECK(out.allFinite());
      }
    }
    latent::ddpm_options o;
    o.prediction = pred;
    o.variance = variance_type::learned_range;
    latent::ddpm_step(zero_snr(), o, 999, 979, X, M, PV, out, engine);
    CHECK(out.allFinite());
  }
  const latent::noise_schedule one(latent::linear_betas(1));
  latent::ddpm_step(one, latent::ddpm_options{}, 0, -1, X, M, out, engine);
  CHECK(out.allFinite());
  const latent::noise_schedule big(latent::linear_betas(10000));
  latent::ddpm_step(big, latent::ddpm_options{}, 9999, 9998, X, M, out, engine);
  CHECK(out.allFinite());
  Eigen::ArrayXXf outf(4, 2);
  latent::ddpm_step(big, latent::ddpm_options{}, 9999, 9998, X.cast<float>(), M.cast<float>(), outf,
                    engine);
  CHECK(outf.allFinite());
  latent::ddpm_step(linear(), latent::ddpm_options{}, 999, 998, X, M, out, engine);
  CHECK(out.allFinite());
}

TEST_CASE("DDPM step errors", "[diffusion][ddpm]") {
  const auto& s = linear();
  latent::ddpm_options o;
  A out(4, 2), bad(3, 2);
  CHECK_THROWS_AS(latent::ddpm_step(s, o, 1000, 999, X, M, out, Z), std::domain_error);
  CHECK_THROWS_WITH(latent::ddpm_step(s, o, 1000, 999, X, M, out, Z),
                    Contains("latent::ddpm_step: t = 1000 is out of range [0, 999]"));
  CHECK_THROWS_WITH(latent::ddpm_step(s, o, 500, 500, X, M, out, Z),
                    Contains("latent::ddpm_step: prev_t = 500 is out of range [-1, 499]"));
  CHECK_THROWS_WITH(latent::ddpm_step(s, o, 500, -2, X, M, out, Z), Contains("prev_t = -2"));
  CHECK_THROWS_AS(latent::ddpm_step(s, o, 500, 499, X, bad, out, Z), std::invalid_argument);
  CHECK_THROWS_WITH(latent::ddpm_step(s, o, 500, 499, X, bad, out, Z),
                    Contains("x_t is 4 x 2 but model_output is 3 x 2"));
  CHECK_THROWS_WITH(latent::ddpm_step(s, o, 500, 499, X, M, bad, Z), Contains("out is 3 x 2"));
  CHECK_THROWS_WITH(latent::ddpm_step(s, o, 500, 499, X, M, out, bad), Contains("noise is 3 x 2"));
  CHECK_THROWS_WITH(latent::ddpm_step(s, o, 500, 499, X, M, PV, out, Z),
                    Contains("variance_type is not learned"));
  o.variance = latent::variance_type::learned;
  CHECK_THROWS_WITH(latent::ddpm_step(s, o, 500, 499, X, M, out, Z),
                    Contains("needs the predicted_variance"));
  CHECK_THROWS_WITH(latent::ddpm_step(s, o, 500, 499, X, M, bad, out, Z),
                    Contains("predicted_variance is 3 x 2"));
  o = latent::ddpm_options{};
  o.clip_sample = true;
  o.clip_sample_range = 0;
  CHECK_THROWS_WITH(latent::ddpm_step(s, o, 500, 499, X, M, out, Z),
                    Contains("clip_sample_range is 0"));
  o = latent::ddpm_options{};
  o.thresholding = true;
  o.dynamic_thresholding_ratio = 1.5;
  CHECK_THROWS_WITH(latent::ddpm_step(s, o, 500, 499, X, M, out, Z),
                    Contains("dynamic_thresholding_ratio is 1.5"));
  o.dynamic_thresholding_ratio = 0.995;
  o.sample_max_value = 0.5;
  CHECK_THROWS_WITH(latent::ddpm_step(s, o, 500, 499, X, M, out, Z),
                    Contains("sample_max_value is 0.5"));
  o.sample_max_value = 1.0;
  A x = X;
  CHECK_THROWS_WITH(latent::ddpm_step(s, o, 500, 499, x, M, x, Z), Contains("must not alias"));
  CHECK_THROWS_AS(latent::ddpm_step(s, o, 500, 499, x, M, x, Z), std::invalid_argument);
  // Nothing was written by the failed calls.
  CHECK((x == X).all());
  latent::ddpm_options e;
  CHECK_THROWS_WITH(latent::ddpm_step(zero_snr(), e, 999, 998, X, M, out, Z),
                    Contains("alpha_bar at t = 999 is 0 (zero terminal SNR)"));
  CHECK_THROWS_AS(latent::ddpm_step(zero_snr(), e, 999, 998, X, M, out, Z), std::domain_error);
}

TEST_CASE("float steps with alpha_bar below float's range stay finite when clipping",
          "[diffusion][ddpm]") {
  // alpha_bar_85 = 0.1^86 ~ 1e-86: 1/sqrt(alpha_bar) ~ 1e43 overflows float. Clipped and
  // thresholded steps are then computed in double and stored as float; they must equal the
  // double step rounded to float.
  const latent::noise_schedule s(Eigen::ArrayXd::Constant(90, 0.9));
  const Eigen::ArrayXXf xf = X.cast<float>(), mf = M.cast<float>(), zf = Z.cast<float>();
  Eigen::ArrayXXf of(4, 2);
  A od(4, 2);
  for (int mode = 0; mode < 2; ++mode) {
    latent::ddpm_options o;
    o.clip_sample = mode == 0;
    o.thresholding = mode == 1;
    o.sample_max_value = 2.0;
    latent::ddpm_step(s, o, 85, 84, xf, mf, of, zf);
    latent::ddpm_step(s, o, 85, 84, xf.cast<double>(), mf.cast<double>(), od, zf.cast<double>());
    CHECK(of.allFinite());
    CHECK(((of.cast<double>() - od).abs() <= 1e-6 * (1 + od.abs())).all());
    latent::ddim_options d;
    d.clip_sample = mode == 0;
    d.thresholding = mode == 1;
    d.use_clipped_model_output = true;
    d.eta = 0.5;
    latent::ddim_step(s, d, 85, 80, xf, mf, of, zf);
    latent::ddim_step(s, d, 85, 80, xf.cast<double>(), mf.cast<double>(), od, zf.cast<double>());
    CHECK(of.allFinite());
    CHECK(((of.cast<double>() - od).abs() <= 1e-6 * (1 + od.abs())).all());
  }
}
