// Tests for latent/diffusion/guidance.hpp. The rescaled-CFG reference is diffusers'
// rescale_noise_cfg evaluated in torch by tools/diffusion_reference.py (section "guidance").
#include <catch2/catch.hpp>

#include <cmath>

#include <Eigen/Core>

#include "latent/diffusion/guidance.hpp"

using Catch::Matchers::Contains;

namespace {
Eigen::ArrayXXd fixed(std::initializer_list<double> v) {
  Eigen::ArrayXXd a(4, 2);
  auto it = v.begin();
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 2; ++j) a(i, j) = *it++;
  return a;
}
const Eigen::ArrayXXd X = fixed({0.3, -1.2, 1.5, 0.7, -0.4, 2.1, 0.05, -0.6});
const Eigen::ArrayXXd M = fixed({0.8, -0.3, -1.1, 0.25, 0.6, 1.9, -0.2, 0.45});
}  // namespace

TEMPLATE_TEST_CASE("classifier-free guidance and its rescale", "[diffusion][guidance]", float,
                   double) {
  using S = TestType;
  using AS = Eigen::Array<S, Eigen::Dynamic, Eigen::Dynamic>;
  const AS u = X.cast<S>(), c = M.cast<S>();
  const AS g1 = latent::classifier_free_guidance(u, c, 1.0);
  CHECK(((g1 - c).abs() <= S(1e-6)).all());
  const AS g0 = latent::classifier_free_guidance(u, c, 0.0);
  CHECK((g0 == u).all());
  const AS g = latent::classifier_free_guidance(u, c, 7.5);
  CHECK(((g - (u + S(7.5) * (c - u))).abs() <= S(1e-5)).all());
  AS out(4, 2);
  latent::classifier_free_guidance_rescaled(u, c, 7.5, 0.7, out);
  const Eigen::ArrayXXd want = fixed({1.43437984536209, 2.464777917979426, -6.375021534942622,
                                      -1.1879785460531469, 2.5145918276718122, 0.2664624776193969,
                                      -0.64635635007057157, 3.2308575411351943});
  const double tol = std::is_same<S, float>::value ? 1e-5 : 1e-13;
  CHECK(((out.template cast<double>() - want).abs() <= tol * (1 + want.abs())).all());
  // phi = 0 is plain CFG; phi = 1 matches the conditional std in each column.
  latent::classifier_free_guidance_rescaled(u, c, 7.5, 0.0, out);
  CHECK(((out - g).abs() <= S(1e-5)).all());
  latent::classifier_free_guidance_rescaled(u, c, 7.5, 1.0, out);
  for (int j = 0; j < 2; ++j) {
    const auto std_of = [](const Eigen::Array<S, Eigen::Dynamic, 1>& v) {
      return std::sqrt(double((v - v.mean()).square().sum()) / double(v.size() - 1));
    };
    CHECK(std_of(out.col(j)) == Approx(std_of(c.col(j))).epsilon(1e-5));
  }
  // In place on the conditional prediction.
  AS inplace = c;
  latent::classifier_free_guidance_rescaled(u, inplace, 7.5, 0.7, inplace);
  CHECK(((inplace.template cast<double>() - want).abs() <= tol * (1 + want.abs())).all());
}

TEST_CASE("classifier guidance, mean and epsilon forms", "[diffusion][guidance]") {
  const latent::noise_schedule s(latent::linear_betas(1000));
  const Eigen::ArrayXXd gm = latent::classifier_guidance_mean(X, 0.02, M, 3.0);
  CHECK(((gm - (X + 0.06 * M)).abs() <= 1e-15).all());
  const Eigen::ArrayXXd ge = latent::classifier_guidance_eps(s, 400, X, M, 3.0);
  CHECK(((ge - (X - 3.0 * s.sqrt_one_minus_alpha_bar()(400) * M)).abs() <= 1e-15).all());
  // The two forms agree: shifting eps by -s sqrt(1-ab) g shifts x0_hat by s (1-ab)/sqrt(ab) g,
  // i.e. the score by +s g (Dhariwal & Nichol 2021, Sec. 4.2).
  const double b = s.sqrt_one_minus_alpha_bar()(400);
  const Eigen::ArrayXXd score_shift = -(ge - X) / b;
  CHECK(((score_shift - 3.0 * M).abs() <= 1e-12).all());
}

TEST_CASE("guidance errors", "[diffusion][guidance]") {
  const latent::noise_schedule s(latent::linear_betas(1000));
  Eigen::ArrayXXd bad(3, 2), out(4, 2), one(1, 2);
  CHECK_THROWS_WITH(latent::classifier_free_guidance(X, bad, 2.0),
                    Contains("latent::classifier_free_guidance: eps_uncond is 4 x 2 but eps_cond is 3 x 2"));
  CHECK_THROWS_WITH(latent::classifier_free_guidance(X, M, std::nan("")),
                    Contains("guidance_scale is nan"));
  CHECK_THROWS_WITH(latent::classifier_free_guidance_rescaled(X, M, 7.5, 1.5, out),
                    Contains("guidance_rescale = 1.5 is out of range [0, 1]"));
  CHECK_THROWS_AS(latent::classifier_free_guidance_rescaled(X, M, 7.5, 0.5, bad),
                  std::invalid_argument);
  CHECK_THROWS_WITH(latent::classifier_free_guidance_rescaled(one, one, 7.5, 0.5, one),
                    Contains("at least 2"));
  CHECK_THROWS_WITH(latent::classifier_guidance_mean(X, -1.0, M, 1.0), Contains("variance is -1"));
  CHECK_THROWS_WITH(latent::classifier_guidance_eps(s, 1000, X, M, 1.0),
                    Contains("latent::classifier_guidance_eps: t = 1000 is out of range [0, 999]"));
  CHECK_THROWS_AS(latent::classifier_guidance_eps(s, 10, X, bad, 1.0), std::invalid_argument);
}
