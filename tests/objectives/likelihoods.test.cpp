// Tests for latent/objectives/likelihoods.hpp.
// Spot values: tools/vae_reference.py, section "likelihoods" (torch.distributions, float64;
// mpmath for the exact Bernoulli terms at logits +-100, which torch rounds to -0.0).
#include "latent/objectives/likelihoods.hpp"

#include <catch2/catch.hpp>
#include <cmath>

#include "distributions/vae_test_util.hpp"

using namespace vae_test;
using Catch::Matchers::Contains;

namespace {
template <class S>
double tol() { return std::is_same<S, float>::value ? 2e-6 : 1e-13; }
}  // namespace

TEMPLATE_TEST_CASE("Bernoulli log-likelihood from logits is exact at +-100", "[likelihood]", float,
                   double) {
  using S = TestType;
  const latent::array_xx<S> x = from_cols<S>({{1, 0, 1}, {0, 1, 1}});
  const latent::array_xx<S> l = from_cols<S>({{100, -100, 2.5}, {100, -100, -0.3}});
  const latent::array_xx<S> e = latent::bernoulli_log_likelihood_elementwise(x, l);
  if (std::is_same<S, double>::value) {
    // -log1p(e^-100) = -3.720075976020836e-44 (mpmath), a normal double.
    CHECK(double(e(0, 0)) == Approx(-3.720075976020836e-44).epsilon(1e-14));
    CHECK(double(e(1, 0)) == Approx(-3.720075976020836e-44).epsilon(1e-14));
  } else {
    // In float e^-100 = 3.7e-44 is subnormal, and Eigen's packet exp clamps its argument at
    // about -88.7 (the smallest normal float, 1.2e-38 scale): the term is tiny and
    // non-positive, never NaN or -inf (absolute error below 1e-37).
    INFO("e(0, 0) = " << double(e(0, 0)));
    CHECK(double(e(0, 0)) <= 0);
    CHECK(double(e(0, 0)) > -1e-37);
  }
  CHECK(double(e(0, 1)) == Approx(-100.0).epsilon(tol<S>()));
  CHECK(double(e(1, 1)) == Approx(-100.0).epsilon(tol<S>()));
  const latent::row_x<S> r = latent::bernoulli_log_likelihood(x, l);
  CHECK(double(r(0)) == Approx(-0.07888973429254957).epsilon(tol<S>()));
  CHECK(double(r(1)) == Approx(-200.85435524446854).epsilon(tol<S>()));
  CHECK(std::isfinite(double(r(1))));
}

TEMPLATE_TEST_CASE("Categorical and fixed-variance Gaussian log-likelihoods match torch",
                   "[likelihood]", float, double) {
  using S = TestType;
  const latent::array_xx<S> l =
      from_cols<S>({{0.1, 2.0, -1.0, 0.5}, {50.0, -50.0, 0.0, 1.0}, {-3.0, -3.0, -3.0, 4.0}});
  const Eigen::Array<int, 1, Eigen::Dynamic> y = (Eigen::Array<int, 1, 3>() << 2, 0, 3).finished();
  const latent::row_x<S> c = latent::categorical_log_likelihood(y, l);
  CHECK(double(c(0)) == Approx(-3.3524059381034306).epsilon(tol<S>()));
  CHECK(std::abs(double(c(1))) < 1e-20);
  // In float, log-sum-exp near 4 leaves an absolute rounding of about 4 * 2^-24.
  CHECK(double(c(2)) == Approx(-0.0027319108277605864).epsilon(tol<S>()).margin(std::is_same<S, float>::value ? 1e-6 : 0.0));

  const latent::array_xx<S> mu = from_cols<S>({{0.5, -1.0, 2.0}, {0.0, 0.3, -0.7}});
  const latent::array_xx<S> x = from_cols<S>({{1.0, 0.0, -1.0}, {0.1, 0.2, 0.3}});
  const latent::row_x<S> g = latent::gaussian_fixed_log_likelihood(x, mu, 0.5);
  CHECK(double(g(0)) == Approx(-21.177374057934184).epsilon(tol<S>()));
  CHECK(double(g(1)) == Approx(-2.7173740579341823).epsilon(tol<S>()));
  const latent::array_xx<S> ge = latent::gaussian_fixed_log_likelihood_elementwise(x, mu, S(0.5));
  CHECK((ge.colwise().sum() - g).abs().maxCoeff() < 10 * tol<S>() * 20);
  // Learned variance with log_var = 2 log 0.5 is the same number.
  const latent::array_xx<S> lv = latent::array_xx<S>::Constant(3, 2, S(2 * std::log(0.5)));
  CHECK((latent::gaussian_log_likelihood(x, mu, lv) - g).abs().maxCoeff() < 100 * tol<S>());
}

TEST_CASE("Likelihood VJPs match AutoDiffScalar and finite differences", "[likelihood][grad]") {
  const Eigen::ArrayXXd x = from_cols({{1.0, 0.0, 0.3}, {0.0, 1.0, 1.0}});
  const Eigen::ArrayXXd l = from_cols({{1.5, -0.4, 2.5}, {0.8, -2.0, -0.3}});
  const Eigen::ArrayXXd g = from_cols({{0.7}, {-1.3}});
  SECTION("Bernoulli") {
    const std::vector<arr> in{l};
    const auto v = ad_vars(in);
    const ad loss = (latent::bernoulli_log_likelihood(x.cast<ad>(), v[0]) * g.cast<ad>()).sum();
    const auto adg = ad_grads(loss, in);
    const auto fdg = fd_grads(
        [&](const std::vector<arr>& p) { return (latent::bernoulli_log_likelihood(x, p[0]) * g).sum(); },
        in);
    const Eigen::ArrayXXd an = latent::bernoulli_log_likelihood_vjp(x, l, g);
    CHECK(max_abs_diff(an, adg[0]) < 1e-12);
    CHECK(max_abs_diff(an, fdg[0]) < 1e-7);
  }
  SECTION("Gaussian with fixed variance") {
    const std::vector<arr> in{l};
    const auto v = ad_vars(in);
    const ad loss =
        (latent::gaussian_fixed_log_likelihood(x.cast<ad>(), v[0], 0.3) * g.cast<ad>()).sum();
    const auto adg = ad_grads(loss, in);
    const Eigen::ArrayXXd an = latent::gaussian_fixed_log_likelihood_vjp(x, l, 0.3, g);
    CHECK(max_abs_diff(an, adg[0]) < 1e-12);
    const auto fdg = fd_grads(
        [&](const std::vector<arr>& p) {
          return (latent::gaussian_fixed_log_likelihood(x, p[0], 0.3) * g).sum();
        },
        in);
    CHECK(max_abs_diff(an, fdg[0]) < 1e-7);
  }
  SECTION("Gaussian with learned variance") {
    const std::vector<arr> in{l, x - 1.0};
    const auto v = ad_vars(in);
    const ad loss = (latent::gaussian_log_likelihood(x.cast<ad>(), v[0], v[1]) * g.cast<ad>()).sum();
    const auto adg = ad_grads(loss, in);
    const auto an = latent::gaussian_log_likelihood_vjp(x, l, x - 1.0, g);
    CHECK(max_abs_diff(an.mean, adg[0]) < 1e-12);
    CHECK(max_abs_diff(an.log_var, adg[1]) < 1e-12);
  }
  SECTION("categorical") {
    const Eigen::ArrayXXd lc = from_cols({{0.1, 2.0, -1.0, 0.5}, {5.0, -5.0, 0.0, 1.0}});
    const Eigen::Array<int, 1, Eigen::Dynamic> y = (Eigen::Array<int, 1, 2>() << 2, 3).finished();
    const std::vector<arr> in{lc};
    const auto v = ad_vars(in);
    const ad loss = (latent::categorical_log_likelihood(y, v[0]) * g.cast<ad>()).sum();
    const auto adg = ad_grads(loss, in);
    const auto fdg = fd_grads(
        [&](const std::vector<arr>& p) { return (latent::categorical_log_likelihood(y, p[0]) * g).sum(); },
        in);
    const Eigen::ArrayXXd an = latent::categorical_log_likelihood_vjp(y, lc, g);
    CHECK(max_abs_diff(an, adg[0]) < 1e-12);
    CHECK(max_abs_diff(an, fdg[0]) < 1e-7);
  }
}

TEST_CASE("Likelihoods validate their arguments", "[likelihood]") {
  const Eigen::ArrayXXd x = Eigen::ArrayXXd::Zero(3, 2), bad = Eigen::ArrayXXd::Zero(2, 2);
  CHECK_THROWS_AS(latent::bernoulli_log_likelihood(x, bad), std::invalid_argument);
  CHECK_THROWS_WITH(latent::bernoulli_log_likelihood(x, bad),
                    Contains("latent::bernoulli_log_likelihood: x is 3 x 2 but logits is 2 x 2"));
  CHECK_THROWS_WITH(latent::bernoulli_log_likelihood_vjp(x, x, Eigen::ArrayXXd::Ones(1, 3)),
                    Contains("latent::bernoulli_log_likelihood_vjp: grad has 3 columns, but must have 2"));
  CHECK_THROWS_AS(latent::gaussian_fixed_log_likelihood(x, x, 0.0), std::domain_error);
  CHECK_THROWS_WITH(latent::gaussian_fixed_log_likelihood(x, x, -1.0),
                    Contains("latent::gaussian_fixed_log_likelihood: sigma is -1, but must be positive"));
  CHECK_THROWS_WITH(latent::gaussian_fixed_log_likelihood_elementwise(x, bad, 1.0),
                    Contains("latent::gaussian_fixed_log_likelihood: x is 3 x 2 but mean is 2 x 2"));
  CHECK_THROWS_WITH(latent::gaussian_fixed_log_likelihood_vjp(x, x, NAN, Eigen::ArrayXXd::Ones(1, 2)),
                    Contains("latent::gaussian_fixed_log_likelihood_vjp: sigma is nan"));
  const Eigen::Array<int, 1, Eigen::Dynamic> y3 = Eigen::Array<int, 1, 3>(0, 1, 2);
  const Eigen::Array<int, 1, Eigen::Dynamic> y_bad = Eigen::Array<int, 1, 2>(0, 3);
  CHECK_THROWS_AS(latent::categorical_log_likelihood(y3, x), std::invalid_argument);
  CHECK_THROWS_WITH(latent::categorical_log_likelihood(y3, x),
                    Contains("latent::categorical_log_likelihood: labels is 1 x 3, but must be a vector of 2 labels"));
  CHECK_THROWS_AS(latent::categorical_log_likelihood(y_bad, x), std::domain_error);
  CHECK_THROWS_WITH(latent::categorical_log_likelihood(y_bad, x),
                    Contains("latent::categorical_log_likelihood: labels[1] = 3 is out of range [0, 2]"));
  CHECK_THROWS_WITH(latent::categorical_log_likelihood_vjp(y_bad, x, Eigen::ArrayXXd::Ones(1, 2)),
                    Contains("latent::categorical_log_likelihood_vjp: labels[1] = 3 is out of range [0, 2]"));
  CHECK_THROWS_WITH(latent::categorical_log_likelihood(Eigen::Array<int, 1, Eigen::Dynamic>(0),
                                                       Eigen::ArrayXXd(0, 0)),
                    Contains("latent::categorical_log_likelihood: logits is empty"));
}
