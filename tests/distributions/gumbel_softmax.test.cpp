// Tests for latent/distributions/gumbel_softmax.hpp.
// Spot values: tools/vae_reference.py, section "categorical" (torch RelaxedOneHotCategorical).
#include "latent/distributions/gumbel_softmax.hpp"

#include <catch2/catch.hpp>
#include <cmath>

#include "distributions/vae_test_util.hpp"

using namespace vae_test;
using Catch::Matchers::Contains;

TEMPLATE_TEST_CASE("Concrete log-density matches torch RelaxedOneHotCategorical", "[gumbel_softmax]",
                   float, double) {
  using S = TestType;
  struct row {
    std::initializer_list<double> y, l;
    double tau, lp;
  };
  const row cases[] = {{{0.2, 0.5, 0.3}, {0.5, -1.0, 2.0}, 0.5, -2.553567263151142},
                       {{0.9, 0.05, 0.05}, {0.0, 0.0, 0.0}, 1.0, 1.7379620211854103},
                       {{0.001, 0.998, 0.001}, {1.0, 2.0, -1.0}, 0.1, 5.468471567262307}};
  for (const auto& c : cases) {
    const latent::array_xx<S> y = from_cols<S>({c.y}), l = from_cols<S>({c.l});
    const latent::row_x<S> lp = latent::concrete_log_prob(y.log(), l, c.tau);
    CHECK(double(lp(0)) == Approx(c.lp).epsilon(std::is_same<S, float>::value ? 1e-5 : 1e-12));
  }
}

TEST_CASE("Concrete density integrates to one (K = 2, on y_1 in (0, 1))", "[gumbel_softmax]") {
  for (double tau : {0.3, 1.0, 2.5}) {
    // Midpoint rule in the logit of y_1 (the density is smooth there): y_1 = sigmoid(s),
    // dy_1 = y_1 (1 - y_1) ds.
    const int m = 20000;
    const double lo = -60, hi = 60, h = (hi - lo) / m;
    Eigen::ArrayXXd logy(2, m);
    Eigen::ArrayXd jac(m);
    for (int i = 0; i < m; ++i) {
      const double s = lo + (i + 0.5) * h;
      logy(0, i) = -std::log1p(std::exp(-s));
      logy(1, i) = -std::log1p(std::exp(s));
      jac(i) = std::exp(logy(0, i) + logy(1, i));
    }
    const Eigen::ArrayXXd l = Eigen::Array2d(0.7, -0.4).replicate(1, m);
    const Eigen::ArrayXd dens = latent::concrete_log_prob(logy, l, tau).transpose().exp();
    CHECK((dens * jac).sum() * h == Approx(1.0).epsilon(1e-6));
  }
}

TEMPLATE_TEST_CASE("Gumbel-softmax samples: simplex, argmax law, temperature limit", "[gumbel_softmax][stat]",
                   float, double) {
  using S = TestType;
  const latent::array_xx<S> l1 = from_cols<S>({{1.0, -0.5, 0.3, 0.0}});
#ifdef LATENT_SANITIZER_BUILD
  const int n = 20000;
#else
  const int n = 200000;
#endif
  const latent::array_xx<S> l = l1.replicate(1, n);
  latent::philox4x32 engine(23);
  const latent::array_xx<S> y = latent::gumbel_softmax_sample(l, 0.7, engine);
  CHECK((y.colwise().sum() - S(1)).abs().maxCoeff() < 1e-5);
  CHECK(y.minCoeff() >= 0);
  // argmax(y) is exactly Categorical(softmax(l)) for any temperature.
  Eigen::ArrayXd counts = Eigen::ArrayXd::Zero(4);
  for (int j = 0; j < n; ++j) {
    Eigen::Index k = 0;
    y.col(j).maxCoeff(&k);
    counts(k) += 1;
  }
  const Eigen::ArrayXd pi = latent::softmax_colwise(l1.template cast<double>()).col(0);
  const double chi2 = ((counts - pi * n).square() / (pi * n)).sum();
  CHECK(chi2 < 30.7);  // 3 dof, p ~= 1e-6
  // Low temperature: the soft sample is (nearly) the one-hot argmax.
  latent::philox4x32 e1(3), e2(3);
  const auto st = latent::gumbel_softmax_hard_sample(l1.replicate(1, 100), 0.01, e1);
  CHECK((st.hard.colwise().sum() - S(1)).abs().maxCoeff() == 0);
  CHECK((st.soft - st.hard).abs().maxCoeff() < 0.5);
  // Noise-taking overloads give the same results (to rounding: the engine path evaluates the
  // Gumbel transform inside the fused expression, possibly by a different packet path; at
  // tau = 0.01 one ulp of g moves the soft sample by about 1e-5).
  const latent::array_xx<S> g = latent::gumbel_from_uniform(latent::rand_uniform<latent::array_xx<S>>(4, 100, e2));
  const auto st2 = latent::gumbel_softmax_hard_rsample(l1.replicate(1, 100), g, 0.01);
  CHECK((st.soft - st2.soft).abs().maxCoeff() < 1e-4);
  CHECK((st.hard - st2.hard).abs().maxCoeff() == 0);
  CHECK((latent::gumbel_softmax_log_rsample(l1, g.col(0), 0.5).exp() -
         latent::gumbel_softmax_rsample(l1, g.col(0), 0.5)).abs().maxCoeff() == 0);
}

TEMPLATE_TEST_CASE("Concrete KL sample is unbiased for a closed-form check: KL(q, q) = 0",
                   "[gumbel_softmax]", float, double) {
  using S = TestType;
  const latent::array_xx<S> l = from_cols<S>({{1.0, -0.5, 0.3}, {0.0, 2.0, -1.0}});
  latent::philox4x32 engine(2);
  const latent::array_xx<S> g = latent::gumbel_from_uniform(latent::rand_uniform_like(l, engine));
  const latent::array_xx<S> logy = latent::gumbel_softmax_log_rsample(l, g, 0.5);
  CHECK(latent::concrete_kl_sample(logy, l, 0.5, l, 0.5).abs().maxCoeff() == 0);
  CHECK(latent::concrete_kl_sample(logy, l, 0.5, latent::array_xx<S>::Zero(3, 2), 0.5).abs().maxCoeff() > 0);
}

TEST_CASE("Gumbel-softmax VJP matches AutoDiffScalar and finite differences", "[gumbel_softmax][grad]") {
  const Eigen::ArrayXXd l = from_cols({{1.0, -0.5, 0.3}, {0.0, 2.0, -1.0}});
  const Eigen::ArrayXXd g = from_cols({{0.1, -0.2, 0.4}, {-0.3, 0.5, 0.2}});
  const Eigen::ArrayXXd gy = from_cols({{0.7, -1.1, 0.2}, {0.3, 0.9, -0.5}});
  const double tau = 0.8;
  const std::vector<arr> in{l};
  const auto v = ad_vars(in);
  const ad loss = (latent::gumbel_softmax_rsample(v[0], g.cast<ad>(), tau) * gy.cast<ad>()).sum();
  const auto adg = ad_grads(loss, in);
  const auto fdg = fd_grads(
      [&](const std::vector<arr>& p) { return (latent::gumbel_softmax_rsample(p[0], g, tau) * gy).sum(); }, in);
  const Eigen::ArrayXXd y = latent::gumbel_softmax_rsample(l, g, tau);
  const Eigen::ArrayXXd an = latent::gumbel_softmax_vjp(y, gy, tau);
  CHECK(max_abs_diff(an, adg[0]) < 1e-12);
  CHECK(max_abs_diff(an, fdg[0]) < 1e-7);
}

TEST_CASE("Gumbel-softmax validates its arguments", "[gumbel_softmax]") {
  const Eigen::ArrayXXd l = Eigen::ArrayXXd::Zero(3, 2), bad = Eigen::ArrayXXd::Zero(2, 2);
  CHECK_THROWS_AS(latent::gumbel_softmax_rsample(l, l, 0.0), std::domain_error);
  CHECK_THROWS_WITH(latent::gumbel_softmax_rsample(l, l, 0.0),
                    Contains("latent::gumbel_softmax_rsample: temperature is 0, but must be positive"));
  CHECK_THROWS_AS(latent::gumbel_softmax_rsample(l, bad, 1.0), std::invalid_argument);
  CHECK_THROWS_WITH(latent::gumbel_softmax_rsample(l, bad, 1.0),
                    Contains("latent::gumbel_softmax_rsample: logits is 3 x 2 but gumbel is 2 x 2"));
  CHECK_THROWS_WITH(latent::concrete_log_prob(l, l, -1.0),
                    Contains("latent::concrete_log_prob: temperature is -1, but must be positive"));
  CHECK_THROWS_WITH(latent::concrete_log_prob(bad, l, 1.0),
                    Contains("latent::concrete_log_prob: log_y is 2 x 2 but logits is 3 x 2"));
  CHECK_THROWS_WITH(latent::gumbel_softmax_vjp(l, bad, 1.0),
                    Contains("latent::gumbel_softmax_vjp: soft is 3 x 2 but grad_y is 2 x 2"));
  CHECK_THROWS_WITH(latent::gumbel_softmax_vjp(l, l, NAN),
                    Contains("latent::gumbel_softmax_vjp: temperature is nan"));
}
