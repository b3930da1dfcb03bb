// Tests for latent/diffusion/training.hpp.
#include <catch2/catch.hpp>

#include <cmath>

#include <Eigen/Core>

#include "latent/diffusion/training.hpp"

using Catch::Matchers::Contains;

TEST_CASE("timestep samplers are uniform; low-discrepancy is stratified", "[diffusion][training]") {
#ifdef LATENT_SANITIZER_BUILD
  const Eigen::Index B = 20000;
#else
  const Eigen::Index B = 200000;
#endif
  latent::philox4x32 engine(77);
  const std::int64_t T = 10;
  const latent::timestep_row t = latent::sample_timesteps(T, B, engine);
  CHECK(t.minCoeff() >= 0);
  CHECK(t.maxCoeff() <= T - 1);
  // Chi-square over T = 10 bins (9 degrees of freedom): P(chi2 > 48) ~ 2.6e-7.
  Eigen::ArrayXd counts = Eigen::ArrayXd::Zero(T);
  for (Eigen::Index j = 0; j < B; ++j) counts(t(j)) += 1;
  const double expected = double(B) / double(T);
  const double chi2 = ((counts - expected).square() / expected).sum();
  CHECK(chi2 < 48.0);
  // Low-discrepancy: every stratum [k/B', (k+1)/B') of a batch holds exactly one time.
  const Eigen::Index b = 1000;
  const auto u = latent::sample_times_low_discrepancy(b, engine);
  CHECK(u.minCoeff() >= 0.0);
  CHECK(u.maxCoeff() < 1.0);
  Eigen::ArrayXi strata = Eigen::ArrayXi::Zero(b);
  for (Eigen::Index j = 0; j < b; ++j) strata(Eigen::Index(u(j) * double(b))) += 1;
  CHECK((strata == 1).all());
  const latent::timestep_row ld = latent::sample_timesteps_low_discrepancy(1000, b, engine);
  Eigen::ArrayXi hit = Eigen::ArrayXi::Zero(1000);
  for (Eigen::Index j = 0; j < b; ++j) hit(ld(j)) += 1;
  CHECK((hit == 1).all());  // B = T: a permutation-like cover of all timesteps
  // The batch mean of the low-discrepancy times is 1/2 up to 1/(2B) (one uniform offset).
  CHECK(std::abs(u.mean() - 0.5) <= 0.5 / double(b) + 1e-12);
}

TEMPLATE_TEST_CASE("training targets for each prediction type", "[diffusion][training]", float,
                   double) {
  using S = TestType;
  using AS = Eigen::Array<S, Eigen::Dynamic, Eigen::Dynamic>;
  const latent::noise_schedule s(latent::linear_betas(1000));
  const AS x0 = AS::Random(3, 4), eps = AS::Random(3, 4);
  latent::timestep_row t(4);
  t << 0, 5, 600, 999;
  AS out(3, 4);
  latent::training_target(s, latent::prediction_type::epsilon, t, x0, eps, out);
  CHECK((out == eps).all());
  latent::training_target(s, latent::prediction_type::sample, t, x0, eps, out);
  CHECK((out == x0).all());
  latent::training_target(s, latent::prediction_type::v_prediction, t, x0, eps, out);
  const AS v = latent::velocity(s, t, x0, eps);
  CHECK(((out - v).abs() <= S(1e-6)).all());
}

TEST_CASE("loss weights: SNR, min-SNR-gamma, SNR difference", "[diffusion][training]") {
  const latent::noise_schedule s(latent::linear_betas(1000));
  const latent::noise_schedule z(latent::rescale_zero_terminal_snr(latent::linear_betas(1000)));
  latent::timestep_row t(4);
  t << 1, 100, 500, 999;
  const auto snr = latent::snr_weight(s, t);
  for (int j = 0; j < 4; ++j) CHECK(snr(j) == s.snr()(t(j)));
  const auto me = latent::min_snr_weight(s, t, latent::prediction_type::epsilon, 5.0);
  const auto mv = latent::min_snr_weight(s, t, latent::prediction_type::v_prediction, 5.0);
  const auto mx = latent::min_snr_weight(s, t, latent::prediction_type::sample, 5.0);
  for (int j = 0; j < 4; ++j) {
    const double r = s.snr()(t(j));
    CHECK(me(j) == Approx(std::min(r, 5.0) / r));
    CHECK(mv(j) == Approx(std::min(r, 5.0) / (r + 1)));
    CHECK(mx(j) == Approx(std::min(r, 5.0)));
  }
  // Zero terminal SNR: every weight is finite (epsilon min-SNR is the limit 1).
  const auto ze = latent::min_snr_weight(z, t, latent::prediction_type::epsilon, 5.0);
  const auto zv = latent::min_snr_weight(z, t, latent::prediction_type::v_prediction, 5.0);
  CHECK(ze.allFinite());
  CHECK(ze(3) == 1.0);
  CHECK(zv.allFinite());
  CHECK(zv(3) == 0.0);
  const auto dv = latent::snr_difference_weight(z, t, latent::prediction_type::v_prediction);
  const auto dx = latent::snr_difference_weight(z, t, latent::prediction_type::sample);
  CHECK(dv.allFinite());
  CHECK(dx.allFinite());
  // The three SNR-difference weights describe the same KL: w_eps = w_x0 / SNR(t),
  // w_v = w_x0 (1 - ab_t).
  const auto de = latent::snr_difference_weight(s, t, latent::prediction_type::epsilon);
  const auto d0 = latent::snr_difference_weight(s, t, latent::prediction_type::sample);
  const auto dvs = latent::snr_difference_weight(s, t, latent::prediction_type::v_prediction);
  for (int j = 0; j < 4; ++j) {
    CHECK(de(j) == Approx(d0(j) / s.snr()(t(j))).epsilon(1e-10));
    CHECK(dvs(j) == Approx(d0(j) * s.one_minus_alpha_bar()(t(j))).epsilon(1e-12));
  }
}

TEST_CASE("training helper errors", "[diffusion][training]") {
  const latent::noise_schedule s(latent::linear_betas(1000));
  const latent::noise_schedule z(latent::rescale_zero_terminal_snr(latent::linear_betas(1000)));
  latent::philox4x32 engine(1);
  CHECK_THROWS_WITH(latent::sample_timesteps(0, 4, engine),
                    Contains("latent::sample_timesteps: num_train_timesteps = 0"));
  CHECK_THROWS_AS(latent::sample_timesteps(10, 0, engine), std::invalid_argument);
  latent::timestep_row t(2);
  t << 0, 999;
  CHECK_THROWS_WITH(latent::snr_difference_weight(s, t, latent::prediction_type::sample),
                    Contains("t[0] = 0 is the reconstruction term"));
  t << 3, 999;
  CHECK_THROWS_WITH(latent::snr_difference_weight(z, t, latent::prediction_type::epsilon),
                    Contains("SNR at t[1] = 999 is 0"));
  t << 3, 1000;
  CHECK_THROWS_WITH(latent::snr_weight(s, t), Contains("latent::snr_weight: t[1] = 1000 is out of range [0, 999]"));
  t << 3, 4;
  CHECK_THROWS_WITH(latent::min_snr_weight(s, t, latent::prediction_type::epsilon, 0.0),
                    Contains("gamma is 0"));
  Eigen::ArrayXXd a(2, 2), b(2, 3);
  CHECK_THROWS_AS(latent::training_target(s, latent::prediction_type::epsilon, t, a, b, a),
                  std::invalid_argument);
}
