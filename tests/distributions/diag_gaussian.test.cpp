// Tests for latent/distributions/diag_gaussian.hpp.
// Spot values: tools/vae_reference.py, section "gaussian" (torch.distributions, float64).
#include "latent/distributions/diag_gaussian.hpp"

#include <catch2/catch.hpp>
#include <cmath>

#include "distributions/vae_test_util.hpp"

using namespace vae_test;
using Catch::Matchers::Contains;

namespace {
template <class S>
struct fixture {
  latent::array_xx<S> mu = from_cols<S>({{0.5, -1.0, 2.0}, {0.0, 0.3, -0.7}});
  latent::array_xx<S> lv = from_cols<S>({{-0.5, 0.2, 1.0}, {0.0, -2.0, 0.4}});
  latent::array_xx<S> x = from_cols<S>({{1.0, 0.0, -1.0}, {0.1, 0.2, 0.3}});
};
template <class S>
double tol() { return std::is_same<S, float>::value ? 2e-5 : 1e-12; }
}  // namespace

TEMPLATE_TEST_CASE("diag_gaussian log_prob and entropy match torch.distributions", "[diag_gaussian]",
                   float, double) {
  using S = TestType;
  fixture<S> f;
  const latent::row_x<S> lp = latent::diag_gaussian_log_prob(f.x, f.mu, f.lv);
  REQUIRE(lp.size() == 2);
  CHECK(lp(0) == Approx(-5.377728620262015).epsilon(tol<S>()));
  CHECK(lp(1) == Approx(-2.333920903126491).epsilon(tol<S>()));
  const latent::row_x<S> h = latent::diag_gaussian_entropy(f.lv);
  CHECK(h(0) == Approx(4.606815599614018).epsilon(tol<S>()));
  CHECK(h(1) == Approx(3.4568155996140177).epsilon(tol<S>()));
  const latent::row_x<S> sn = latent::standard_normal_log_prob(f.x);
  CHECK(sn(0) == Approx(-3.756815599614018).epsilon(tol<S>()));
  CHECK(sn(1) == Approx(-2.826815599614018).epsilon(tol<S>()));

  // The value type forwards to the same functions.
  latent::diag_gaussian q(f.mu, f.lv);
  CHECK((latent::log_prob(q, f.x) - lp).abs().maxCoeff() == 0);
  CHECK((latent::entropy(q) - h).abs().maxCoeff() == 0);
  latent::standard_normal<S> p(3);
  CHECK((latent::log_prob(p, f.x) - sn).abs().maxCoeff() == 0);
  CHECK(double(latent::entropy(p)) == Approx(0.5 * 3 * (1 + std::log(2 * M_PI))).epsilon(tol<S>()));
  CHECK(latent::mean(p).size() == 3);
  CHECK(latent::mode(p).isZero());
  CHECK(&latent::mean(q) == &q.mean());
  CHECK(&latent::mode(q) == &q.mean());
  CHECK(q.dim() == 3);
  CHECK(q.batch() == 2);
}

TEMPLATE_TEST_CASE("diag_gaussian element-wise forms sum to the per-sample forms", "[diag_gaussian]",
                   float, double) {
  using S = TestType;
  fixture<S> f;
  const latent::array_xx<S> e = latent::diag_gaussian_log_prob_elementwise(f.x, f.mu, f.lv);
  const latent::row_x<S> lp = latent::diag_gaussian_log_prob(f.x, f.mu, f.lv);
  CHECK((e.colwise().sum() - lp).abs().maxCoeff() < 10 * tol<S>());
  // Passing an expression equals passing its evaluated array.
  const latent::array_xx<S> two_x = S(2) * f.x;
  const latent::row_x<S> a = latent::diag_gaussian_log_prob(S(2) * f.x, f.mu + S(0), f.lv * S(1));
  const latent::row_x<S> b = latent::diag_gaussian_log_prob(two_x, f.mu, f.lv);
  CHECK((a - b).abs().maxCoeff() == 0);
}

TEMPLATE_TEST_CASE("diag_gaussian rsample and the three constructors", "[diag_gaussian]", float,
                   double) {
  using S = TestType;
  fixture<S> f;
  const latent::array_xx<S> z = latent::diag_gaussian_rsample(f.mu, f.lv, f.x);
  for (Eigen::Index i = 0; i < z.size(); ++i)
    CHECK(double(z(i)) ==
          Approx(double(f.mu(i)) + std::exp(0.5 * double(f.lv(i))) * double(f.x(i))).epsilon(tol<S>()));
  latent::diag_gaussian<S> a = latent::diag_gaussian<S>::from_log_var(f.mu, f.lv);
  latent::diag_gaussian<S> b = latent::diag_gaussian<S>::from_std(f.mu, (S(0.5) * f.lv).exp());
  latent::diag_gaussian<S> c = latent::diag_gaussian<S>::from_log_std(f.mu, S(0.5) * f.lv);
  CHECK((a.log_var() - b.log_var()).abs().maxCoeff() < 10 * tol<S>());
  CHECK((a.log_var() - c.log_var()).abs().maxCoeff() < 10 * tol<S>());
  CHECK((a.stddev() - (S(0.5) * f.lv).exp()).abs().maxCoeff() < 10 * tol<S>());
  CHECK((a.variance() - f.lv.exp()).abs().maxCoeff() < 10 * tol<S>());
  const latent::array_xx<S> zq = latent::rsample(a, f.x);
  CHECK((zq - z).abs().maxCoeff() == 0);
  latent::standard_normal<S> p(3);
  CHECK(&latent::rsample(p, f.x) == &f.x);
}

TEST_CASE("diag_gaussian validates its arguments", "[diag_gaussian]") {
  fixture<double> f;
  const Eigen::ArrayXXd bad_shape = Eigen::ArrayXXd::Zero(2, 2);
  CHECK_THROWS_AS(latent::diag_gaussian<double>(f.mu, bad_shape), std::invalid_argument);
  CHECK_THROWS_WITH(latent::diag_gaussian<double>(f.mu, bad_shape),
                    Contains("latent::diag_gaussian: mean is 3 x 2 but log_var is 2 x 2"));
  Eigen::ArrayXXd lv = f.lv;
  lv(1, 1) = std::nan("");
  CHECK_THROWS_AS(latent::diag_gaussian<double>(f.mu, lv), std::domain_error);
  CHECK_THROWS_WITH(latent::diag_gaussian<double>(f.mu, lv),
                    Contains("latent::diag_gaussian: log_var(1, 1) is nan, but must be finite"));
  Eigen::ArrayXXd mu = f.mu;
  mu(0, 0) = INFINITY;
  CHECK_THROWS_WITH(latent::diag_gaussian<double>(mu, f.lv),
                    Contains("latent::diag_gaussian: mean(0, 0) is inf, but must be finite"));
  Eigen::ArrayXXd sd = f.lv.exp();
  sd(2, 0) = 0;
  CHECK_THROWS_AS(latent::diag_gaussian<double>::from_std(f.mu, sd), std::domain_error);
  CHECK_THROWS_WITH(latent::diag_gaussian<double>::from_std(f.mu, sd),
                    Contains("latent::diag_gaussian::from_std: stddev(2, 0) is 0, but must be positive"));
  CHECK_THROWS_WITH(latent::diag_gaussian<double>::from_std(f.mu, bad_shape),
                    Contains("latent::diag_gaussian::from_std: mean is 3 x 2 but stddev is 2 x 2"));
  Eigen::ArrayXXd ls = f.lv;
  ls(0, 1) = -INFINITY;
  CHECK_THROWS_WITH(latent::diag_gaussian<double>::from_log_std(f.mu, ls),
                    Contains("latent::diag_gaussian::from_log_std: log_std(0, 1) is -inf, but must be finite"));
  CHECK_THROWS_WITH(latent::diag_gaussian<double>::from_log_std(f.mu, bad_shape),
                    Contains("mean is 3 x 2 but log_std is 2 x 2"));
  CHECK_THROWS_AS(latent::standard_normal<double>(0), std::invalid_argument);
  CHECK_THROWS_WITH(latent::standard_normal<double>(0),
                    Contains("latent::standard_normal: dim = 0, but must be at least 1"));
  latent::standard_normal<double> p(4);
  CHECK_THROWS_WITH(latent::log_prob(p, f.x),
                    Contains("latent::log_prob(standard_normal): x has 3 rows, but must have 4"));
  CHECK_THROWS_WITH(latent::rsample(p, f.x),
                    Contains("latent::rsample(standard_normal): eps has 3 rows, but must have 4"));
  CHECK_THROWS_AS(latent::diag_gaussian_log_prob(f.x, bad_shape, f.lv), std::invalid_argument);
  CHECK_THROWS_WITH(latent::diag_gaussian_log_prob(f.x, bad_shape, f.lv),
                    Contains("latent::diag_gaussian_log_prob: x is 3 x 2 but mean is 2 x 2"));
  CHECK_THROWS_WITH(latent::diag_gaussian_log_prob_elementwise(f.x, f.mu, bad_shape),
                    Contains("latent::diag_gaussian_log_prob: x is 3 x 2 but log_var is 2 x 2"));
  CHECK_THROWS_WITH(latent::diag_gaussian_rsample(f.mu, f.lv, bad_shape),
                    Contains("latent::diag_gaussian_rsample: mean is 3 x 2 but eps is 2 x 2"));
  CHECK_THROWS_WITH(latent::diag_gaussian_rsample(f.mu, bad_shape, f.x),
                    Contains("latent::diag_gaussian_rsample: mean is 3 x 2 but log_var is 2 x 2"));
  const Eigen::ArrayXXd g3 = Eigen::ArrayXXd::Ones(1, 3);
  CHECK_THROWS_AS(latent::diag_gaussian_log_prob_vjp(f.x, f.mu, f.lv, g3), std::invalid_argument);
  CHECK_THROWS_WITH(latent::diag_gaussian_log_prob_vjp(f.x, f.mu, f.lv, g3),
                    Contains("latent::diag_gaussian_log_prob_vjp: grad has 3 columns, but must have 2"));
  CHECK_THROWS_WITH(latent::diag_gaussian_log_prob_vjp(f.x, f.mu, f.lv, Eigen::ArrayXXd::Ones(2, 2)),
                    Contains("latent::diag_gaussian_log_prob_vjp: grad has 2 rows, but must have 1"));
  CHECK_THROWS_WITH(latent::diag_gaussian_entropy_vjp(f.lv, g3),
                    Contains("latent::diag_gaussian_entropy_vjp: grad has 3 columns, but must have 2"));
  CHECK_THROWS_WITH(latent::diag_gaussian_rsample_vjp(f.lv, f.x, bad_shape),
                    Contains("latent::diag_gaussian_rsample_vjp: log_var is 3 x 2 but grad_z is 2 x 2"));
  CHECK_THROWS_WITH(latent::diag_gaussian_rsample_vjp(f.lv, bad_shape, f.x),
                    Contains("latent::diag_gaussian_rsample_vjp: log_var is 3 x 2 but eps is 2 x 2"));
}

TEST_CASE("diag_gaussian analytic VJPs match AutoDiffScalar and finite differences",
          "[diag_gaussian][grad]") {
  fixture<double> f;
  const Eigen::ArrayXXd g_row = from_cols({{0.7}, {-1.3}});       // upstream dL/d(log_prob)
  const Eigen::ArrayXXd g_z = from_cols({{0.2, -0.4, 1.1}, {0.9, 0.5, -0.3}});  // dL/dz

  SECTION("log_prob") {
    const std::vector<arr> in{f.x, f.mu, f.lv};
    const auto v = ad_vars(in);
    const latent::row_x<ad> lp = latent::diag_gaussian_log_prob(v[0], v[1], v[2]);
    const ad loss = (lp * g_row.cast<ad>()).sum();
    const auto adg = ad_grads(loss, in);
    const auto fdg = fd_grads(
        [&](const std::vector<arr>& p) {
          return (latent::diag_gaussian_log_prob(p[0], p[1], p[2]) * g_row).sum();
        },
        in);
    const auto an = latent::diag_gaussian_log_prob_vjp(f.x, f.mu, f.lv, g_row);
    CHECK(max_abs_diff(an.x, adg[0]) < 1e-12);
    CHECK(max_abs_diff(an.mean, adg[1]) < 1e-12);
    CHECK(max_abs_diff(an.log_var, adg[2]) < 1e-12);
    CHECK(max_abs_diff(an.x, fdg[0]) < 1e-7);
    CHECK(max_abs_diff(an.mean, fdg[1]) < 1e-7);
    CHECK(max_abs_diff(an.log_var, fdg[2]) < 1e-7);
  }
  SECTION("rsample") {
    const std::vector<arr> in{f.mu, f.lv};
    const auto v = ad_vars(in);
    const latent::array_xx<ad> z = latent::diag_gaussian_rsample(v[0], v[1], f.x.cast<ad>());
    const ad loss = (z * g_z.cast<ad>()).sum();
    const auto adg = ad_grads(loss, in);
    const auto fdg = fd_grads(
        [&](const std::vector<arr>& p) {
          return (latent::diag_gaussian_rsample(p[0], p[1], f.x) * g_z).sum();
        },
        in);
    const auto an = latent::diag_gaussian_rsample_vjp(f.lv, f.x, g_z);
    CHECK(max_abs_diff(an.mean, adg[0]) < 1e-12);
    CHECK(max_abs_diff(an.log_var, adg[1]) < 1e-12);
    CHECK(max_abs_diff(an.mean, fdg[0]) < 1e-7);
    CHECK(max_abs_diff(an.log_var, fdg[1]) < 1e-7);
  }
  SECTION("entropy") {
    const std::vector<arr> in{f.lv};
    const auto v = ad_vars(in);
    const ad loss = (latent::diag_gaussian_entropy(v[0]) * g_row.cast<ad>()).sum();
    const auto adg = ad_grads(loss, in);
    const auto an = latent::diag_gaussian_entropy_vjp(f.lv, g_row);
    CHECK(max_abs_diff(an, adg[0]) < 1e-12);
  }
  SECTION("the value type runs on AutoDiffScalar") {
    const std::vector<arr> in{f.mu, f.lv};
    const auto v = ad_vars(in);
    latent::diag_gaussian<ad> q(v[0], v[1]);
    const ad loss = (latent::log_prob(q, f.x.cast<ad>()) * g_row.cast<ad>()).sum();
    const auto an = latent::diag_gaussian_log_prob_vjp(f.x, f.mu, f.lv, g_row);
    const auto adg = ad_grads(loss, in);
    CHECK(max_abs_diff(an.mean, adg[0]) < 1e-12);
    CHECK(max_abs_diff(an.log_var, adg[1]) < 1e-12);
    CHECK(latent::entropy(latent::standard_normal<ad>(2)).value() ==
          Approx(1 + std::log(2 * M_PI)));
  }
}

TEMPLATE_TEST_CASE("diag_gaussian sample draws from the right distribution", "[diag_gaussian][stat]",
                   float, double) {
  using S = TestType;
#ifdef LATENT_SANITIZER_BUILD
  const Eigen::Index n = 20000;
#else
  const Eigen::Index n = 200000;
#endif
  latent::philox4x32 engine(42);
  // One coordinate, n columns: mean 1.5, variance e^{-1}.
  const latent::array_xx<S> mu = latent::array_xx<S>::Constant(1, n, S(1.5));
  const latent::array_xx<S> lv = latent::array_xx<S>::Constant(1, n, S(-1));
  latent::diag_gaussian<S> q(mu, lv);
  const latent::array_xx<S> z = latent::sample(q, engine);
  const double m = z.template cast<double>().mean();
  const double v = (z.template cast<double>() - m).square().mean();
  const double var = std::exp(-1.0);
  // Standard errors: sqrt(var / n) for the mean, var * sqrt(2 / n) for the variance.
  CHECK(std::abs(m - 1.5) < 5 * std::sqrt(var / double(n)));
  CHECK(std::abs(v - var) < 5 * var * std::sqrt(2.0 / double(n)));
  // Fresh noise on each call, same noise for the same seed.
  const latent::array_xx<S> z2 = latent::sample(q, engine);
  CHECK((z2 - z).abs().maxCoeff() > 0);
  latent::philox4x32 again(42);
  CHECK((latent::diag_gaussian_sample(mu, lv, again) - z).abs().maxCoeff() == 0);
  latent::standard_normal<S> p(2);
  const latent::array_xx<S> e = latent::sample(p, n / 2, engine);
  CHECK(e.rows() == 2);
  CHECK(std::abs(e.template cast<double>().mean()) < 5 / std::sqrt(double(n)));
  CHECK_THROWS_WITH(latent::sample(p, -1, engine),
                    Contains("latent::sample(standard_normal): cols = -1, but must be non-negative"));
  CHECK_THROWS_WITH(latent::diag_gaussian_sample(mu, lv.leftCols(3), engine),
                    Contains("latent::diag_gaussian_sample: mean is 1 x"));
}
