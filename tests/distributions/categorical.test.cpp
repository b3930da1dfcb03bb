// Tests for latent/distributions/categorical.hpp.
#include "latent/distributions/categorical.hpp"

#include <catch2/catch.hpp>
#include <cmath>

#include "distributions/vae_test_util.hpp"

using namespace vae_test;
using Catch::Matchers::Contains;

TEMPLATE_TEST_CASE("categorical value type: log_prob, entropy, mode, KL", "[categorical]", float, double) {
  using S = TestType;
  const latent::array_xx<S> l = from_cols<S>({{1.0, -2.0, 0.5, 3.0}, {40.0, -40.0, 0.0, 2.0}});
  latent::categorical c(l);
  CHECK(c.num_classes() == 4);
  CHECK(c.batch() == 2);
  CHECK((c.probs().colwise().sum() - S(1)).abs().maxCoeff() < 1e-6);
  const latent::label_row y = (latent::label_row(2) << 3, 0).finished();
  const latent::row_x<S> lp = latent::log_prob(c, y);
  CHECK(double(lp(0)) == Approx(double(c.log_probs()(3, 0))));
  // Entropy: tools/vae_reference.py section "categorical".
  CHECK(double(latent::entropy(c)(0)) == Approx(0.6185172818922771).epsilon(1e-5));
  CHECK((latent::mode(c) - (latent::label_row(2) << 3, 0).finished()).abs().maxCoeff() == 0);
  CHECK(latent::kl_divergence(c, c).abs().maxCoeff() < 1e-6);
}

TEST_CASE("categorical Gumbel-max sampling has the right frequencies (chi-square)",
          "[categorical][stat]") {
  const Eigen::ArrayXXd l = from_cols({{1.0, -0.5, 0.3, 0.0}});
  latent::categorical c(l.replicate(1, 1));
#ifdef LATENT_SANITIZER_BUILD
  const int n = 20000;
#else
  const int n = 200000;
#endif
  latent::categorical wide(l.replicate(1, n));
  latent::philox4x32 engine(17);
  const latent::label_row y = latent::sample(wide, engine);
  Eigen::ArrayXd counts = Eigen::ArrayXd::Zero(4);
  for (int j = 0; j < n; ++j) counts(y(j)) += 1;
  const Eigen::ArrayXd expect = c.probs().col(0) * double(n);
  const double chi2 = ((counts - expect).square() / expect).sum();
  // 3 degrees of freedom: P(chi2 > 30.7) ~= 1e-6.
  INFO("chi2 = " << chi2 << ", counts " << counts.transpose());
  CHECK(chi2 < 30.7);
  // The noise-taking overload with u -> the same labels as the engine overload.
  latent::philox4x32 a(4), b(4);
  const latent::label_row y1 = latent::sample(c, a);
  const latent::label_row y2 = latent::sample(c, latent::rand_uniform<Eigen::ArrayXXd>(4, 1, b));
  CHECK(y1(0) == y2(0));
}

TEST_CASE("categorical validates its arguments", "[categorical]") {
  Eigen::ArrayXXd l = Eigen::ArrayXXd::Zero(3, 2);
  l(2, 1) = NAN;
  CHECK_THROWS_AS(latent::categorical<double>(l), std::domain_error);
  CHECK_THROWS_WITH(latent::categorical<double>(l), Contains("latent::categorical: logits(2, 1) is nan, but must be finite"));
  CHECK_THROWS_AS(latent::categorical<double>(Eigen::ArrayXXd(0, 2)), std::invalid_argument);
  CHECK_THROWS_WITH(latent::categorical<double>(Eigen::ArrayXXd(0, 2)), Contains("latent::categorical: logits is empty"));
  latent::categorical<double> c(Eigen::ArrayXXd::Zero(3, 2));
  CHECK_THROWS_WITH(latent::sample(c, Eigen::ArrayXXd::Constant(3, 3, 0.5)),
                    Contains("latent::sample(categorical): log_probs is 3 x 2 but uniforms is 3 x 3"));
  CHECK_THROWS_WITH(latent::log_prob(c, (latent::label_row(2) << 0, 3).finished()),
                    Contains("labels[1] = 3 is out of range [0, 2]"));
}
