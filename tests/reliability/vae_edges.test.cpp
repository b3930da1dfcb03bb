// Reliability: log-variances at the edges (+-80, +-1e4) through the KL terms, the Gaussian
// log-density and the reparameterized sample, in float and double; empty batches, D = 1,
// B = 1; NaN and infinity propagation. The documented outcome for each case is in
// docs/reliability.md ("Edge cases"); never NaN from finite input.
#include <catch2/catch.hpp>

#include <Eigen/Core>
#include <cmath>
#include <limits>

#include "latent/distributions/diag_gaussian.hpp"
#include "latent/divergences/kl_gaussian.hpp"

namespace {
template <class S>
using A = Eigen::Array<S, Eigen::Dynamic, Eigen::Dynamic>;

template <class S>
A<S> filled(double v, Eigen::Index d = 2, Eigen::Index b = 1) {
  return A<S>::Constant(d, b, S(v));
}
}  // namespace

TEMPLATE_TEST_CASE("KL to N(0, I) at log-variances +-80 and +-1e4", "[reliability][vae][edges]",
                   float, double) {
  using S = TestType;
  const auto kl = [](double lv) {
    return latent::kl_diag_std_normal(filled<S>(0.0), filled<S>(lv))(0);
  };
  // 0.5 (e^lv - 1 - lv) per element, two elements: finite at +-80 in both precisions
  // (e^80 = 5.5e34 < FLT_MAX), +inf at +1e4 (the exact value overflows), finite at -1e4.
  CHECK(std::isfinite(kl(80)));
  CHECK(kl(80) == Approx(std::exp(80.0) - 81.0).epsilon(1e-5));
  CHECK(kl(-80) == Approx(79.0).epsilon(1e-5));
  CHECK(kl(-1e4) == Approx(1e4 - 1).epsilon(1e-5));
  CHECK(std::isinf(kl(1e4)));
  CHECK(kl(1e4) > 0);
  // The element-wise expression agrees.
  const A<S> e = latent::kl_diag_std_normal_elementwise(filled<S>(0.0), filled<S>(-1e4));
  CHECK(e.allFinite());
}

TEMPLATE_TEST_CASE("KL between diagonal Gaussians at log-variances +-80 and +-1e4: finite or +inf",
                   "[reliability][vae][edges]", float, double) {
  using S = TestType;
  const auto kl = [](double lq, double lp) {
    return latent::kl_diag_diag(filled<S>(0.0), filled<S>(lq), filled<S>(0.0), filled<S>(lp))(0);
  };
  CHECK(kl(80, 80) == Approx(0).margin(1e-3));
  CHECK(kl(-80, -80) == Approx(0).margin(1e-3));
  CHECK(kl(-1e4, 0) == Approx(1e4 - 1).epsilon(1e-5));  // 2 * 0.5 (0 - lq + 0 - 1)
  CHECK(std::isinf(kl(1e4, 0)));
  CHECK(kl(0, 1e4) == Approx(1e4 - 1).epsilon(1e-5));   // 2 * 0.5 (lp + e^-lp - 1)
  CHECK(std::isinf(kl(0, -1e4)));
}

// Bug B9 (fixed): e^{lq} e^{-lp} was inf * 0 = NaN when both log-variances are +-1e4 (float:
// already at +-89); the exact KL is 0. The ratio is now e^{lq - lp}.
TEMPLATE_TEST_CASE("KL between equal extreme Gaussians is 0, not NaN", "[reliability][vae][edges][B9-B10]",
                   float, double) {
  using S = TestType;
  for (double lv : {1e4, -1e4, 100.0, -100.0}) {
    const auto v = latent::kl_diag_diag(filled<S>(0.0), filled<S>(lv), filled<S>(0.0), filled<S>(lv))(0);
    INFO("log_var = " << lv);
    CHECK(v == Approx(0).margin(1e-3));
  }
}

TEMPLATE_TEST_CASE("Gaussian log-density at log-variances +-80 and +-1e4",
                   "[reliability][vae][edges]", float, double) {
  using S = TestType;
  const auto lp = [](double x, double lv) {
    return latent::diag_gaussian_log_prob(filled<S>(x), filled<S>(0.0), filled<S>(lv))(0);
  };
  const double l2pi = std::log(2 * 3.14159265358979323846);
  // -0.5 ((x - mu)^2 e^-lv + lv + log 2 pi) per element, two elements.
  CHECK(lp(1.0, 80) == Approx(-(80 + l2pi)).epsilon(1e-5));
  CHECK(lp(1.0, -80) < -1e30);
  CHECK(lp(1.0, 1e4) == Approx(-(1e4 + l2pi)).epsilon(1e-5));
  CHECK(lp(0.0, -80) == Approx(80 - l2pi).epsilon(1e-5));  // x = mu: density e^{40} per element
  // x != mu with vanishing variance (exact value -e^{1e4}/2): the precision saturates at the
  // largest finite value, so the result is clamped to about -max/2, finite and never NaN.
  CHECK(double(lp(1.0, -1e4)) <= -0.4 * double(std::numeric_limits<S>::max()));
  CHECK(!std::isnan(double(lp(1.0, -1e4))));
}

// Bug B10 (fixed): x = mu with log_var = -1e4 computed 0 * e^{1e4} = 0 * inf = NaN. The exact
// log-density is finite, -1/2 (log_var + log 2 pi) per element: the precision now saturates at
// the largest finite value, so the zero residual contributes exactly 0.
TEMPLATE_TEST_CASE("log-density at x = mu with vanishing variance is finite, not NaN",
                   "[reliability][vae][edges][B9-B10]", float, double) {
  using S = TestType;
  const A<S> x = filled<S>(0.5);
  const auto v = latent::diag_gaussian_log_prob(x, filled<S>(0.5), filled<S>(-1e4))(0);
  const double l2pi = std::log(2 * 3.14159265358979323846);
  CHECK(std::isfinite(double(v)));
  CHECK(double(v) == Approx(double(x.rows()) * 0.5 * (1e4 - l2pi)).epsilon(1e-6));
  // The element-wise form agrees.
  const A<S> e = latent::diag_gaussian_log_prob_elementwise(x, filled<S>(0.5), filled<S>(-1e4));
  CHECK(e.allFinite());
}

TEMPLATE_TEST_CASE("reparameterized sample at log-variances +-80 and +-1e4",
                   "[reliability][vae][edges]", float, double) {
  using S = TestType;
  const A<S> mean = filled<S>(0.25), eps = filled<S>(-1.5);
  const A<S> z80 = latent::diag_gaussian_rsample(mean, filled<S>(80), eps);
  CHECK(z80.allFinite());
  CHECK(double(z80(0)) == Approx(0.25 - 1.5 * std::exp(40.0)).epsilon(1e-5));
  const A<S> zm = latent::diag_gaussian_rsample(mean, filled<S>(-80), eps);
  CHECK(double(zm(0)) == Approx(0.25).epsilon(1e-6));
  const A<S> zm4 = latent::diag_gaussian_rsample(mean, filled<S>(-1e4), eps);
  CHECK((zm4 == S(0.25)).all());  // the noise vanishes exactly
  const A<S> zp4 = latent::diag_gaussian_rsample(mean, filled<S>(1e4), eps);
  CHECK((zp4.isInf()).all());  // e^{5000} eps overflows to -inf (eps != 0)
  CHECK((zp4 < S(0)).all());
}

TEMPLATE_TEST_CASE("VAE terms on empty batches, D = 1 and B = 1", "[reliability][vae][shapes]",
                   float, double) {
  using S = TestType;
  const A<S> e(3, 0);
  CHECK(latent::kl_diag_std_normal(e, e).size() == 0);
  CHECK(latent::kl_diag_diag(e, e, e, e).size() == 0);
  CHECK(latent::diag_gaussian_log_prob(e, e, e).size() == 0);
  CHECK(A<S>(latent::diag_gaussian_rsample(e, e, e)).size() == 0);
  const A<S> one = filled<S>(0.5, 1, 1), zero = filled<S>(0.0, 1, 1);
  CHECK(latent::kl_diag_std_normal(one, zero)(0) == Approx(0.125));
  CHECK(latent::kl_diag_diag(one, zero, one, zero)(0) == Approx(0).margin(1e-7));
  CHECK(latent::diag_gaussian_log_prob(one, one, zero)(0) ==
        Approx(-0.5 * std::log(2 * 3.14159265358979323846)));
  // D = 0 (no latent dimensions): every per-sample sum is 0 (log-density: the empty product).
  const A<S> d0(0, 3);
  CHECK((latent::kl_diag_std_normal(d0, d0) == S(0)).all());
  CHECK((latent::diag_gaussian_log_prob(d0, d0, d0) == S(0)).all());
  CHECK_THROWS_AS(latent::kl_diag_std_normal(A<S>(2, 1), A<S>(2, 2)), std::invalid_argument);
  CHECK_THROWS_WITH(latent::kl_diag_std_normal(A<S>(2, 1), A<S>(2, 2)),
                    Catch::Contains("latent::kl_diag_std_normal: mean is 2 x 1 but log_var is 2 x 2"));
}

TEMPLATE_TEST_CASE("VAE data NaN and Inf propagate to their own column, never throw",
                   "[reliability][vae][nan]", float, double) {
  using S = TestType;
  const S nan = std::numeric_limits<S>::quiet_NaN(), inf = std::numeric_limits<S>::infinity();
  A<S> mean = A<S>::Zero(2, 3), lv = A<S>::Zero(2, 3);
  mean(0, 0) = nan;
  lv(1, 2) = inf;
  const auto kl = latent::kl_diag_std_normal(mean, lv);
  CHECK(std::isnan(kl(0)));
  CHECK(kl(1) == S(0));
  CHECK(std::isnan(kl(2)));  // e^inf - inf
  const auto lp = latent::diag_gaussian_log_prob(A<S>(A<S>::Zero(2, 3)), mean, lv);
  CHECK(std::isnan(lp(0)));
  CHECK(std::isfinite(lp(1)));
  CHECK(lp(2) == -std::numeric_limits<S>::infinity());
  // The value type validates (it is a parameter object): non-finite log_var throws.
  CHECK_THROWS_AS(latent::diag_gaussian<S>(A<S>(A<S>::Zero(2, 3)), lv), std::domain_error);
  CHECK_THROWS_WITH(latent::diag_gaussian<S>(A<S>(A<S>::Zero(2, 3)), lv),
                    Catch::Contains("latent::diag_gaussian: log_var(1, 2) is inf, but must be finite"));
}
