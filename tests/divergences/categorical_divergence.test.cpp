// Tests for latent/divergences/categorical_divergence.hpp.
// Spot values: tools/vae_reference.py, section "categorical" (torch.distributions, float64).
#include "latent/divergences/categorical_divergence.hpp"

#include <catch2/catch.hpp>
#include <cmath>

#include "distributions/vae_test_util.hpp"

using namespace vae_test;
using Catch::Matchers::Contains;

namespace {
template <class S>
double tol() { return std::is_same<S, float>::value ? 1e-5 : 1e-12; }
}  // namespace

TEMPLATE_TEST_CASE("categorical entropy, cross-entropy and KL from probabilities match torch",
                   "[categorical_divergence]", float, double) {
  using S = TestType;
  const latent::array_xx<S> p = from_cols<S>({{0.1, 0.2, 0.3, 0.4}, {0.0, 0.5, 0.5, 0.0}});
  const latent::array_xx<S> q = from_cols<S>({{0.25, 0.25, 0.25, 0.25}, {0.1, 0.6, 0.2, 0.1}});
  const latent::row_x<S> h = latent::categorical_entropy(p);
  CHECK(double(h(0)) == Approx(1.2798542258336676).epsilon(tol<S>()));
  CHECK(double(h(1)) == Approx(0.6931471805599453).epsilon(tol<S>()));
  const latent::row_x<S> kl = latent::kl_categorical(p, q);
  CHECK(double(kl(0)) == Approx(0.10644013528622315).epsilon(10 * tol<S>()));
  CHECK(double(kl(1)) == Approx(0.3669845875401001).epsilon(tol<S>()));
  const latent::row_x<S> ce = latent::categorical_cross_entropy(p, q);
  CHECK(double(ce(0)) == Approx(1.3862943611198908).epsilon(tol<S>()));
  CHECK(double(ce(1)) == Approx(1.0601317681000455).epsilon(tol<S>()));
  // KL(p, p) = 0; H(p, q) = H(p) + KL(p || q).
  CHECK(latent::kl_categorical(p, p).abs().maxCoeff() == 0);
  CHECK((ce - h - kl).abs().maxCoeff() < 10 * tol<S>());
  // Mass on a class q excludes: +inf, not NaN.
  const latent::array_xx<S> q0 = from_cols<S>({{0.5, 0.5, 0.0, 0.0}, {0.0, 0.5, 0.5, 0.0}});
  CHECK(std::isinf(double(latent::kl_categorical(p, q0)(0))));
  CHECK(double(latent::kl_categorical(p, q0)(1)) == 0);
}

TEMPLATE_TEST_CASE("categorical divergences from logits match torch, even for huge logits",
                   "[categorical_divergence]", float, double) {
  using S = TestType;
  const latent::array_xx<S> lp = from_cols<S>({{1.0, -2.0, 0.5, 3.0}, {40.0, -40.0, 0.0, 2.0}});
  const latent::array_xx<S> lq = from_cols<S>({{0.0, 0.0, 1.0, -1.0}, {-5.0, 5.0, 1.0, 30.0}});
  const latent::row_x<S> h = latent::categorical_entropy_logits(lp);
  CHECK(double(h(0)) == Approx(0.6185172818922771).epsilon(tol<S>()));
  CHECK(std::abs(double(h(1))) < 1e-6);
  const latent::row_x<S> kl = latent::kl_categorical_logits(lp, lq);
  CHECK(double(kl(0)) == Approx(1.7578397173736229).epsilon(tol<S>()));
  CHECK(double(kl(1)) == Approx(35.00000000001414).epsilon(tol<S>()));
  const latent::row_x<S> ce = latent::categorical_cross_entropy_logits(lp, lq);
  CHECK(double(ce(0)) == Approx(2.3763569992658997).epsilon(tol<S>()));
  CHECK(double(ce(1)) == Approx(35.00000000001414).epsilon(tol<S>()));
  const latent::row_x<S> ku = latent::kl_categorical_uniform_logits(lp);
  CHECK(double(ku(0)) == Approx(0.7677770792276135).epsilon(tol<S>()));
  CHECK(double(ku(1)) == Approx(1.3862943611198892).epsilon(tol<S>()));
  CHECK(latent::kl_categorical_logits(lp, lp).abs().maxCoeff() < 10 * tol<S>());
  // Adding a constant to a column of logits changes nothing.
  CHECK((latent::kl_categorical_logits(lp + S(100), lq) - kl).abs().maxCoeff() < 1e3 * tol<S>());
  // Logits and probabilities agree.
  const latent::array_xx<S> pp = latent::softmax_colwise(lp), pq = latent::softmax_colwise(lq);
  CHECK(double(latent::kl_categorical(pp, pq)(0)) == Approx(double(kl(0))).epsilon(100 * tol<S>()));
}

TEST_CASE("KL to the uniform categorical: VJP matches AutoDiffScalar and finite differences",
          "[categorical_divergence][grad]") {
  const Eigen::ArrayXXd l = from_cols({{1.0, -2.0, 0.5, 3.0}, {0.4, 0.1, -0.7, 0.0}});
  const Eigen::ArrayXXd g = from_cols({{0.7}, {-1.3}});
  const std::vector<arr> in{l};
  const auto v = ad_vars(in);
  const ad loss = (latent::kl_categorical_uniform_logits(v[0]) * g.cast<ad>()).sum();
  const auto adg = ad_grads(loss, in);
  const auto fdg = fd_grads(
      [&](const std::vector<arr>& p) { return (latent::kl_categorical_uniform_logits(p[0]) * g).sum(); },
      in);
  const Eigen::ArrayXXd an = latent::kl_categorical_uniform_logits_vjp(l, g);
  CHECK(max_abs_diff(an, adg[0]) < 1e-12);
  CHECK(max_abs_diff(an, fdg[0]) < 1e-7);
}

TEST_CASE("categorical divergences validate shapes", "[categorical_divergence]") {
  const Eigen::ArrayXXd p = Eigen::ArrayXXd::Constant(4, 2, 0.25), bad = Eigen::ArrayXXd::Zero(3, 2);
  CHECK_THROWS_AS(latent::kl_categorical(p, bad), std::invalid_argument);
  CHECK_THROWS_WITH(latent::kl_categorical(p, bad), Contains("latent::kl_categorical: p is 4 x 2 but q is 3 x 2"));
  CHECK_THROWS_WITH(latent::kl_categorical_logits(p, bad),
                    Contains("latent::kl_categorical_logits: p_logits is 4 x 2 but q_logits is 3 x 2"));
  CHECK_THROWS_WITH(latent::categorical_cross_entropy(p, bad),
                    Contains("latent::categorical_cross_entropy: p is 4 x 2 but q is 3 x 2"));
  CHECK_THROWS_WITH(latent::categorical_cross_entropy_logits(p, bad),
                    Contains("latent::categorical_cross_entropy_logits: p_logits is 4 x 2 but q_logits is 3 x 2"));
  CHECK_THROWS_WITH(latent::categorical_entropy(Eigen::ArrayXXd(0, 2)),
                    Contains("latent::categorical_entropy: probs is empty"));
  CHECK_THROWS_WITH(latent::categorical_entropy_logits(Eigen::ArrayXXd(0, 2)),
                    Contains("latent::categorical_entropy_logits: logits is empty"));
  CHECK_THROWS_WITH(latent::kl_categorical_uniform_logits(Eigen::ArrayXXd(0, 2)),
                    Contains("latent::kl_categorical_uniform_logits: logits is empty"));
  CHECK_THROWS_WITH(latent::kl_categorical_uniform_logits_vjp(p, Eigen::ArrayXXd::Ones(1, 3)),
                    Contains("latent::kl_categorical_uniform_logits_vjp: grad has 3 columns, but must have 2"));
}
