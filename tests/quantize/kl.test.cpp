// Tests of latent/quantize/kl.hpp: log K (values from tools/vq_reference.py), the row form,
// the VQ ELBO through latent::elbo, a direct KL sum for a one-hot posterior, and errors.
#include <catch2/catch.hpp>

#include <cmath>
#include <stdexcept>

#include <Eigen/Dense>
#include <unsupported/Eigen/AutoDiff>

#include "latent/quantize/kl.hpp"

TEMPLATE_TEST_CASE("KL of a one-hot posterior from the uniform prior is log K", "[quantize][kl]",
                   float, double) {
  using T = TestType;
  // tools/vq_reference.py ("# log K").
  CHECK(latent::vq_kl_uniform_prior<T>(1) == T(0));
  CHECK(latent::vq_kl_uniform_prior<T>(2) == Approx(0.6931471805599453));
  CHECK(latent::vq_kl_uniform_prior<T>(512) == Approx(6.238324625039508));
  CHECK(latent::vq_kl_uniform_prior<T>(8192) == Approx(9.010913347279288));
  // 32 x 32 latent map with K = 512 (the paper's ImageNet model).
  CHECK(latent::vq_kl_uniform_prior<T>(512, 1024) == Approx(1024 * 6.238324625039508));
  CHECK(latent::vq_kl_uniform_prior<T>(512, 0) == T(0));
  // Independent check: sum_k q_k log(q_k / p_k) with q one-hot, p uniform.
  const int k = 37;
  double kl = 0;
  for (int j = 0; j < k; ++j) {
    const double q = (j == 5) ? 1.0 : 0.0;
    if (q > 0) kl += q * std::log(q / (1.0 / k));
  }
  CHECK(latent::vq_kl_uniform_prior<T>(k) == Approx(kl));
}

TEMPLATE_TEST_CASE("VQ ELBO is the reconstruction term minus L log K", "[quantize][kl]", float,
                   double) {
  using T = TestType;
  Eigen::Array<T, 1, Eigen::Dynamic> ll(3);
  ll << T(-10), T(-20.5), T(-3);
  const auto row = latent::vq_kl_uniform_prior_row<T>(3, 512, 4);
  REQUIRE(row.size() == 3);
  const auto elbo = latent::vq_elbo(ll, 512, 4);
  for (int b = 0; b < 3; ++b) {
    CHECK(row[b] == Approx(4 * 6.238324625039508));
    CHECK(elbo[b] == Approx(double(ll[b]) - 4 * 6.238324625039508));
  }
  // Several samples per column: the mean of the rows.
  Eigen::Array<T, 2, 3> ll2;
  ll2 << -1, -2, -3,  //
      -3, -4, -5;
  const auto elbo2 = latent::vq_elbo(ll2, 2);
  CHECK(elbo2[1] == Approx(-3 - 0.6931471805599453));
}

TEST_CASE("vq_kl_uniform_prior compiles for AutoDiffScalar", "[quantize][kl][autodiff]") {
  using AD = Eigen::AutoDiffScalar<Eigen::VectorXd>;
  const AD kl = latent::vq_kl_uniform_prior<AD>(8);
  CHECK(kl.value() == Approx(std::log(8.0)));
}

TEST_CASE("KL term error paths", "[quantize][kl][errors]") {
  CHECK_THROWS_AS(latent::vq_kl_uniform_prior(0), std::domain_error);
  CHECK_THROWS_WITH(latent::vq_kl_uniform_prior(0),
                    Catch::Contains("latent::vq_kl_uniform_prior: K = 0 is out of range [1, inf)"));
  CHECK_THROWS_WITH(latent::vq_kl_uniform_prior(4, -1),
                    Catch::Contains("num_latents = -1 is out of range [0, inf)"));
  CHECK_THROWS_AS(latent::vq_kl_uniform_prior_row(-2, 4), std::invalid_argument);
  CHECK_THROWS_WITH(latent::vq_kl_uniform_prior_row(-2, 4),
                    Catch::Contains("latent::vq_kl_uniform_prior_row: batch = -2"));
  CHECK_THROWS_WITH(latent::vq_kl_uniform_prior_row(2, 0),
                    Catch::Contains("latent::vq_kl_uniform_prior_row: K = 0"));
  const Eigen::ArrayXXd empty(0, 0);
  CHECK_THROWS_AS(latent::vq_elbo(empty, 4), std::invalid_argument);
  CHECK_THROWS_WITH(latent::vq_elbo(empty, 4), Catch::Contains("latent::elbo: log_likelihood is empty"));
  Eigen::ArrayXXd ll = Eigen::ArrayXXd::Zero(1, 2);
  CHECK_THROWS_WITH(latent::vq_elbo(ll, 0), Catch::Contains("K = 0"));
}
