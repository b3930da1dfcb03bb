// Tests for latent/distributions/lowrank_gaussian.hpp.
// Spot values: tools/vae_reference.py, section "full" (torch LowRankMultivariateNormal).
#include "latent/distributions/lowrank_gaussian.hpp"

#include <catch2/catch.hpp>
#include <cmath>

#include "distributions/gaussian_fixtures.hpp"
#include "distributions/vae_test_util.hpp"

using Catch::Matchers::Contains;

namespace {
template <class S>
double tol() { return std::is_same<S, float>::value ? 2e-5 : 1e-12; }
}  // namespace

TEMPLATE_TEST_CASE("lowrank_gaussian matches torch and its dense equivalent", "[lowrank]", float,
                   double) {
  using S = TestType;
  vae_test::full_fixture<S> f;
  latent::lowrank_gaussian q(f.mu_q, f.w, f.d);
  const latent::row_x<S> lp = latent::log_prob(q, f.x);
  CHECK(double(lp(0)) == Approx(-3.486686746656254).epsilon(tol<S>()));
  CHECK(double(lp(1)) == Approx(-6.458988172318169).epsilon(tol<S>()));
  CHECK(double(latent::entropy(q)) == Approx(3.957824366673712).epsilon(tol<S>()));
  // Woodbury and the determinant lemma agree with the dense Cholesky form.
  auto dense = latent::full_gaussian<S>::from_covariance(f.mu_q, q.covariance());
  CHECK((latent::log_prob(dense, f.x) - lp).abs().maxCoeff() < 100 * tol<S>());
  CHECK(double(dense.log_det_covariance()) == Approx(double(q.log_det_covariance())).epsilon(10 * tol<S>()));
  CHECK((q.variance() - q.covariance().diagonal()).cwiseAbs().maxCoeff() < 10 * tol<S>());
  CHECK(q.rank() == 2);
  CHECK(&latent::mean(q) == &q.mean());
  CHECK(&latent::mode(q) == &q.mean());
}

TEMPLATE_TEST_CASE("lowrank_gaussian rsample and sample", "[lowrank][stat]", float, double) {
  using S = TestType;
  vae_test::full_fixture<S> f;
  latent::lowrank_gaussian q(f.mu_q, f.w, f.d);
  const Eigen::Matrix<S, -1, -1> ew = f.x.topRows(2), ed = f.x;
  const latent::array_xx<S> z = latent::rsample(q, ew, ed);
  const Eigen::Matrix<S, -1, -1> expect =
      ((f.w * ew).colwise() + f.mu_q) + f.d.array().sqrt().matrix().asDiagonal() * ed;
  CHECK((z.matrix() - expect).cwiseAbs().maxCoeff() < 10 * tol<S>());
#ifdef LATENT_SANITIZER_BUILD
  const Eigen::Index n = 20000;
#else
  const Eigen::Index n = 400000;
#endif
  latent::philox4x32 engine(12);
  const Eigen::MatrixXd s = latent::sample(q, n, engine).template cast<double>().matrix();
  const Eigen::VectorXd m = s.rowwise().mean();
  const Eigen::MatrixXd c = (s.colwise() - m) * (s.colwise() - m).transpose() / double(n - 1);
  const Eigen::MatrixXd sigma = q.covariance().template cast<double>();
  for (int i = 0; i < 3; ++i) {
    CHECK(std::abs(m(i) - double(f.mu_q(i))) < 5 * std::sqrt(sigma(i, i) / double(n)));
    for (int j = 0; j < 3; ++j)
      CHECK(std::abs(c(i, j) - sigma(i, j)) <
            5 * std::sqrt((sigma(i, i) * sigma(j, j) + sigma(i, j) * sigma(i, j)) / double(n)));
  }
  CHECK(latent::sample(q, engine).cols() == 1);
}

TEST_CASE("lowrank_gaussian validates its arguments", "[lowrank]") {
  vae_test::full_fixture<double> f;
  Eigen::VectorXd d = f.d;
  d(1) = 0;
  CHECK_THROWS_AS(latent::lowrank_gaussian<double>(f.mu_q, f.w, d), std::domain_error);
  CHECK_THROWS_WITH(latent::lowrank_gaussian<double>(f.mu_q, f.w, d),
                    Contains("latent::lowrank_gaussian: cov_diag[1] is 0, but must be positive"));
  CHECK_THROWS_AS(latent::lowrank_gaussian<double>(f.mu_q, f.w.topRows(2), f.d), std::invalid_argument);
  CHECK_THROWS_WITH(latent::lowrank_gaussian<double>(f.mu_q, f.w.topRows(2), f.d),
                    Contains("latent::lowrank_gaussian: cov_factor has 2 rows, but must have 3"));
  CHECK_THROWS_WITH(latent::lowrank_gaussian<double>(f.mu_q, f.w, f.d.head(2)),
                    Contains("latent::lowrank_gaussian: cov_diag has 2 rows, but must have 3"));
  Eigen::MatrixXd w = f.w;
  w(0, 1) = INFINITY;
  CHECK_THROWS_WITH(latent::lowrank_gaussian<double>(f.mu_q, w, f.d),
                    Contains("latent::lowrank_gaussian: cov_factor(0, 1) is inf, but must be finite"));
  latent::lowrank_gaussian<double> q(f.mu_q, f.w, f.d);
  CHECK_THROWS_WITH(latent::log_prob(q, Eigen::MatrixXd::Zero(2, 2)),
                    Contains("latent::log_prob(lowrank_gaussian): x has 2 rows, but must have 3"));
  CHECK_THROWS_WITH(latent::rsample(q, Eigen::MatrixXd::Zero(3, 2), f.x),
                    Contains("latent::rsample(lowrank_gaussian): eps_factor has 3 rows, but must have 2"));
  CHECK_THROWS_WITH(latent::rsample(q, Eigen::MatrixXd::Zero(2, 3), f.x),
                    Contains("latent::rsample(lowrank_gaussian): eps_diag has 2 columns, but must have 3"));
}

TEST_CASE("lowrank_gaussian rsample_vjp and log_prob_vjp match AutoDiffScalar and finite differences",
          "[lowrank][grad]") {
  using vae_test::arr;
  vae_test::full_fixture<double> f;
  const arr mu = f.mu_q, w = f.w.array(), ld = f.d.array().log(), x = f.x.array();
  const arr g_row = (arr(1, 2) << 0.7, -1.3).finished();
  const arr g_z = (arr(3, 2) << 0.4, -0.2, 1.1, 0.5, -0.8, 0.3).finished();
  const arr e_k = (arr(2, 2) << 0.3, -1.2, 0.9, 0.4).finished();
  latent::lowrank_gaussian<double> q(f.mu_q, f.w, f.d);
  // Inputs: mean, W, log d (and x); the function rebuilds the distribution from them.
  auto make = [](const auto& v) {
    using S = typename std::decay_t<decltype(v[0])>::Scalar;
    return latent::lowrank_gaussian<S>(vae_test::vec(v[0]), v[1].matrix(), vae_test::vec(v[2].exp()));
  };
  {
    const auto grad = latent::log_prob_vjp(q, x, g_row);
    const auto e = vae_test::grad_check(
        {arr(grad.mean), arr(grad.cov_factor), arr(grad.log_cov_diag), arr(grad.x)}, {mu, w, ld, x},
        [&](const auto& v) {
          using S = typename std::decay_t<decltype(v[0])>::Scalar;
          return S((latent::log_prob(make(v), v[3]) * g_row.cast<S>()).sum());
        });
    CHECK(e.ad < 1e-12);
    CHECK(e.fd < 1e-7);
  }
  {
    const auto grad = latent::rsample_vjp(q, e_k, x, g_z);
    const auto e = vae_test::grad_check(
        {arr(grad.mean), arr(grad.cov_factor), arr(grad.log_cov_diag)}, {mu, w, ld},
        [&](const auto& v) {
          using S = typename std::decay_t<decltype(v[0])>::Scalar;
          return S((latent::rsample(make(v), e_k.cast<S>(), x.cast<S>()) * g_z.cast<S>()).sum());
        });
    CHECK(e.ad < 1e-12);
    CHECK(e.fd < 1e-7);
  }
  {  // float agrees with double
    vae_test::full_fixture<float> ff;
    latent::lowrank_gaussian<float> qf(ff.mu_q, ff.w, ff.d);
    const auto gd = latent::log_prob_vjp(q, x, g_row);
    const auto gf = latent::log_prob_vjp(qf, ff.x, g_row.cast<float>());
    CHECK((gf.cov_factor.cast<double>() - gd.cov_factor).cwiseAbs().maxCoeff() < 5e-5);
    CHECK((gf.log_cov_diag.cast<double>() - gd.log_cov_diag).cwiseAbs().maxCoeff() < 5e-5);
  }
  CHECK_THROWS_AS(latent::log_prob_vjp(q, x, arr::Ones(1, 3)), std::invalid_argument);
  CHECK_THROWS_WITH(latent::log_prob_vjp(q, x, arr::Ones(1, 3)),
                    Catch::Contains("latent::log_prob_vjp(lowrank_gaussian): grad has 3 columns, but must have 2"));
  CHECK_THROWS_WITH(latent::rsample_vjp(q, e_k, x, arr::Ones(2, 2)),
                    Catch::Contains("latent::rsample_vjp(lowrank_gaussian): grad_z has 2 rows, but must have 3"));
  CHECK_THROWS_AS(latent::rsample_vjp(q, e_k, x, arr::Ones(2, 2)), std::invalid_argument);
  CHECK_THROWS_AS(latent::rsample_vjp(q, e_k, x, arr::Ones(3, 1)), std::invalid_argument);
  CHECK_THROWS_WITH(latent::rsample_vjp(q, e_k, x, arr::Ones(3, 1)),
                    Catch::Contains("latent::rsample_vjp(lowrank_gaussian): grad_z has 1 columns, but must have 2"));
  CHECK_THROWS_AS(latent::rsample_vjp(q, arr::Zero(3, 2), x, g_z), std::invalid_argument);
  CHECK_THROWS_WITH(latent::rsample_vjp(q, arr::Zero(3, 2), x, g_z),
                    Catch::Contains("latent::rsample_vjp(lowrank_gaussian): eps_factor has 3 rows, but must have 2"));
  CHECK_THROWS_AS(latent::rsample_vjp(q, e_k, arr::Zero(2, 2), g_z), std::invalid_argument);
  CHECK_THROWS_WITH(latent::rsample_vjp(q, e_k, arr::Zero(2, 2), g_z),
                    Catch::Contains("latent::rsample_vjp(lowrank_gaussian): eps_diag has 2 rows, but must have 3"));
  CHECK_THROWS_AS(latent::rsample_vjp(q, e_k, arr::Zero(3, 1), g_z), std::invalid_argument);
  CHECK_THROWS_WITH(latent::rsample_vjp(q, e_k, arr::Zero(3, 1), g_z),
                    Catch::Contains("latent::rsample_vjp(lowrank_gaussian): eps_diag has 1 columns, but must have 2"));
  CHECK_THROWS_AS(latent::log_prob_vjp(q, arr::Zero(2, 2), g_row), std::invalid_argument);
  CHECK_THROWS_WITH(latent::log_prob_vjp(q, arr::Zero(2, 2), g_row),
                    Catch::Contains("latent::log_prob_vjp(lowrank_gaussian): x has 2 rows, but must have 3"));
  CHECK_THROWS_WITH(latent::log_prob_vjp(q, x, arr::Ones(2, 2)),
                    Catch::Contains("latent::log_prob_vjp(lowrank_gaussian): grad has 2 rows, but must have 1"));
}
