// Tests for latent/diffusion/forward.hpp, predictions.hpp and posterior.hpp.
#include <catch2/catch.hpp>

#include <cmath>

#include <Eigen/Core>
#include <unsupported/Eigen/AutoDiff>

#include "latent/diffusion/forward.hpp"
#include "latent/diffusion/posterior.hpp"
#include "latent/diffusion/predictions.hpp"

using Catch::Matchers::Contains;

namespace {
const latent::noise_schedule& linear() {
  static const latent::noise_schedule s(latent::linear_betas(1000));
  return s;
}
}  // namespace

TEMPLATE_TEST_CASE("q_sample with a scalar t and with per-column t", "[diffusion][forward]", float,
                   double) {
  using S = TestType;
  using AS = Eigen::Array<S, Eigen::Dynamic, Eigen::Dynamic>;
  const auto& s = linear();
  const AS x0 = AS::Random(3, 4), eps = AS::Random(3, 4);
  Eigen::Array<std::int64_t, 1, Eigen::Dynamic> t(4);
  t << 0, 10, 500, 999;
  const AS xt = latent::q_sample(s, t, x0, eps);
  const AS v = latent::velocity(s, t, x0, eps);
  for (int j = 0; j < 4; ++j) {
    const AS col = latent::q_sample(s, t(j), x0.col(j), eps.col(j));
    CHECK(((xt.col(j) - col).abs() <= S(1e-6)).all());
    const double a = s.sqrt_alpha_bar()(t(j)), b = s.sqrt_one_minus_alpha_bar()(t(j));
    for (int i = 0; i < 3; ++i) {
      CHECK(double(xt(i, j)) == Approx(a * double(x0(i, j)) + b * double(eps(i, j))).epsilon(1e-6));
      CHECK(double(v(i, j)) == Approx(a * double(eps(i, j)) - b * double(x0(i, j))).epsilon(1e-5).margin(1e-6));
    }
    const AS vcol = latent::velocity(s, t(j), x0.col(j), eps.col(j));
    CHECK(((v.col(j) - vcol).abs() <= S(1e-6)).all());
  }
  latent::philox4x32 e1(1), e2(1);
  const AS a1 = latent::q_sample(s, 300, x0, e1);
  const AS z = latent::randn_like(x0, e2);
  const AS a2 = latent::q_sample(s, 300, x0, z);
  CHECK(((a1 - a2).abs() <= S(1e-6)).all());
  const AS b1 = latent::q_sample(s, t, x0, e1);
  CHECK(b1.allFinite());
}

TEST_CASE("t iterated single forward steps match q(x_t | x_0) in distribution",
          "[diffusion][forward]") {
  // x_0 = 0.7 for every sample; after t steps, x_t ~ N(sqrt(ab_t) 0.7, 1 - ab_t).
  // With N samples the mean has standard error sqrt((1 - ab)/N) and the variance
  // sqrt(2/(N-1)) (1 - ab); we test both at 5 standard errors.
#ifdef LATENT_SANITIZER_BUILD
  const Eigen::Index N = 20000;
#else
  const Eigen::Index N = 200000;
#endif
  const auto& s = linear();
  latent::philox4x32 engine(123);
  Eigen::ArrayXXd x = Eigen::ArrayXXd::Constant(1, N, 0.7);
  const std::int64_t T = 200;
  for (std::int64_t t = 0; t < T; ++t) x = latent::q_step_sample(s, t, x, engine).eval();
  const double ab = s.alpha_bar()(T - 1);
  const double mean = x.mean();
  const double var = (x - mean).square().sum() / double(N - 1);
  const double se_mean = std::sqrt((1 - ab) / double(N));
  const double se_var = std::sqrt(2.0 / double(N - 1)) * (1 - ab);
  CHECK(std::abs(mean - std::sqrt(ab) * 0.7) < 5 * se_mean);
  CHECK(std::abs(var - (1 - ab)) < 5 * se_var);
  // The same against direct sampling of q(x_T | x_0) (two-sample check of the means).
  const Eigen::ArrayXXd direct = latent::q_sample(s, T - 1, Eigen::ArrayXXd::Constant(1, N, 0.7), engine);
  CHECK(std::abs(direct.mean() - mean) < 5 * std::sqrt(2.0) * se_mean);
}

TEMPLATE_TEST_CASE("prediction conversions round-trip for every pair", "[diffusion][predictions]",
                   float, double) {
  using S = TestType;
  using AS = Eigen::Array<S, Eigen::Dynamic, Eigen::Dynamic>;
  const auto& s = linear();
  const double tol = std::is_same<S, float>::value ? 2e-4 : 1e-10;
  for (std::int64_t t : {0, 1, 250, 500, 999}) {
    INFO("t = " << t);
    const AS x0 = AS::Random(3, 5), eps = AS::Random(3, 5);
    const AS xt = latent::q_sample(s, t, x0, eps);
    const AS v = latent::velocity(s, t, x0, eps);
    const AS score = -eps / S(s.sqrt_one_minus_alpha_bar()(t));
    auto close = [&](const AS& a, const AS& b) {
      return ((a - b).abs() <= S(tol) * (S(1) + b.abs() + S(1e-3) * b.abs().maxCoeff())).all();
    };
    CHECK(close(latent::x0_from_eps(s, t, xt, eps), x0));
    CHECK(close(latent::x0_from_v(s, t, xt, v), x0));
    CHECK(close(latent::x0_from_score(s, t, xt, score), x0));
    CHECK(close(latent::eps_from_x0(s, t, xt, x0), eps));
    CHECK(close(latent::eps_from_v(s, t, xt, v), eps));
    CHECK(close(latent::eps_from_score(s, t, xt, score), eps));
    CHECK(close(latent::v_from_x0(s, t, xt, x0), v));
    CHECK(close(latent::v_from_eps(s, t, xt, eps), v));
    CHECK(close(latent::v_from_score(s, t, xt, score), v));
    CHECK(close(latent::score_from_x0(s, t, xt, x0), score));
    CHECK(close(latent::score_from_eps(s, t, xt, eps), score));
    CHECK(close(latent::score_from_v(s, t, xt, v), score));
    // Round trips through each pair.
    CHECK(close(latent::x0_from_eps(s, t, xt, latent::eps_from_x0(s, t, xt, x0)), x0));
    CHECK(close(latent::v_from_score(s, t, xt, latent::score_from_v(s, t, xt, v)), v));
    CHECK(close(latent::predict_x0(s, latent::prediction_type::v_prediction, t, xt, v), x0));
    CHECK(close(latent::predict_eps(s, latent::prediction_type::sample, t, xt, x0), eps));
  }
  const AS a(2, 2), b(3, 2);
  CHECK_THROWS_WITH(latent::x0_from_eps(s, 5, a, b),
                    Contains("latent::x0_from_eps: x_t is 2 x 2 but prediction is 3 x 2"));
  CHECK_THROWS_WITH(latent::v_from_score(s, 1000, a, a),
                    Contains("latent::v_from_score: t = 1000 is out of range [0, 999]"));
}

TEST_CASE("posterior mean and variance", "[diffusion][posterior]") {
  const auto& s = linear();
  // Adjacent steps use the schedule tables exactly.
  for (std::int64_t t : {1, 2, 500, 999}) {
    const latent::posterior_coeffs c = latent::posterior_coefficients(s, t, t - 1);
    CHECK(c.coef_x0 == Approx(s.posterior_mean_coef1()(t)).epsilon(1e-13));
    CHECK(c.coef_xt == Approx(s.posterior_mean_coef2()(t)).epsilon(1e-13));
    CHECK(latent::posterior_variance(s, t) == Approx(s.posterior_variance()(t)).epsilon(1e-13));
  }
  CHECK(latent::posterior_variance(s, 0) == 0.0);
  CHECK(latent::posterior_log_variance_clipped(s, 0) == s.posterior_log_variance_clipped()(1));
  // Skipped step t -> s equals the Gaussian conditioning of q(x_s, x_t | x_0):
  // Var = (1 - ab_s)(1 - ab_t/ab_s)/(1 - ab_t).
  const double abt = s.alpha_bar()(600), abs_ = s.alpha_bar()(400);
  CHECK(latent::posterior_variance(s, 600, 400) ==
        Approx((1 - abs_) * (1 - abt / abs_) / (1 - abt)).epsilon(1e-12));
  Eigen::ArrayXXd x0(2, 1), xt(2, 1);
  x0 << 0.5, -1.0;
  xt << 0.2, 0.3;
  const Eigen::ArrayXXd m = latent::posterior_mean(s, 600, 400, x0, xt);
  const latent::posterior_coeffs c = latent::posterior_coefficients(s, 600, 400);
  // Cov(x_s, x_t | x_0) / Var(x_t | x_0) = sqrt(ab_t/ab_s)(1 - ab_s)/(1 - ab_t).
  CHECK(c.coef_xt == Approx(std::sqrt(abt / abs_) * (1 - abs_) / (1 - abt)).epsilon(1e-12));
  CHECK(m(0, 0) == Approx(c.coef_x0 * 0.5 + c.coef_xt * 0.2).epsilon(1e-14));
  const Eigen::ArrayXXd m1 = latent::posterior_mean(s, 5, x0, xt);
  CHECK(m1(1, 0) == Approx(s.posterior_mean_coef1()(5) * -1.0 + s.posterior_mean_coef2()(5) * 0.3));
  CHECK_THROWS_WITH(latent::posterior_variance(s, 10, 10),
                    Contains("latent::posterior_variance: prev_t = 10 is out of range [-1, 9]"));
  CHECK_THROWS_AS(latent::posterior_mean(s, 10, 5, x0, Eigen::ArrayXXd(3, 1)), std::invalid_argument);
}

TEST_CASE("forward-process errors", "[diffusion][forward]") {
  const auto& s = linear();
  Eigen::ArrayXXd x(2, 3), bad(2, 2);
  CHECK_THROWS_WITH(latent::q_sample(s, 1000, x, x),
                    Contains("latent::q_sample: t = 1000 is out of range [0, 999]"));
  CHECK_THROWS_WITH(latent::q_sample(s, 5, x, bad), Contains("x0 is 2 x 3 but noise is 2 x 2"));
  Eigen::Array<std::int64_t, 1, Eigen::Dynamic> t(2);
  t << 1, 2;
  CHECK_THROWS_WITH(latent::q_sample(s, t, x, x), Contains("t has 2 elements, but must have one per column (3)"));
  Eigen::Array<std::int64_t, 1, Eigen::Dynamic> t3(3);
  t3 << 1, -2, 3;
  CHECK_THROWS_WITH(latent::q_sample(s, t3, x, x), Contains("t[1] = -2 is out of range [0, 999]"));
  CHECK_THROWS_AS(latent::velocity(s, t3, x, x), std::domain_error);
  CHECK_THROWS_WITH(latent::q_step_sample(s, -1, x, x), Contains("latent::q_step_sample: t = -1"));
}
