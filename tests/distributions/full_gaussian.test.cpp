// Tests for latent/distributions/full_gaussian.hpp.
// Spot values: tools/vae_reference.py, section "full" (torch MultivariateNormal, float64).
#include "latent/distributions/full_gaussian.hpp"

#include <catch2/catch.hpp>
#include <cmath>

#include "distributions/gaussian_fixtures.hpp"
#include "distributions/vae_test_util.hpp"

using Catch::Matchers::Contains;

namespace {
template <class S>
double tol() { return std::is_same<S, float>::value ? 2e-5 : 1e-12; }
}  // namespace

TEMPLATE_TEST_CASE("full_gaussian log_prob and entropy match torch", "[full_gaussian]", float, double) {
  using S = TestType;
  vae_test::full_fixture<S> f;
  latent::full_gaussian q(f.mu_q, f.l_q);
  const latent::row_x<S> lp = latent::log_prob(q, f.x);
  CHECK(double(lp(0)) == Approx(-4.767981445833946).epsilon(tol<S>()));
  CHECK(double(lp(1)) == Approx(-7.403952703549994).epsilon(tol<S>()));
  CHECK(double(latent::entropy(q)) == Approx(3.7051679813277727).epsilon(tol<S>()));
  // Arrays and matrices both work, and from_covariance recovers the factor.
  CHECK((latent::log_prob(q, f.x.array()) - lp).abs().maxCoeff() == 0);
  auto q2 = latent::full_gaussian<S>::from_covariance(f.mu_q, q.covariance());
  CHECK((q2.scale_tril() - f.l_q).cwiseAbs().maxCoeff() < 100 * tol<S>());
  CHECK(&latent::mean(q) == &q.mean());
  CHECK(&latent::mode(q) == &q.mean());
  // A row-vector mean is accepted.
  latent::full_gaussian q3(f.mu_q.transpose(), f.l_q);
  CHECK(q3.mean() == f.mu_q);
}

TEMPLATE_TEST_CASE("full_gaussian rsample is mu + L eps, and sample has covariance L L^T",
                   "[full_gaussian][stat]", float, double) {
  using S = TestType;
  vae_test::full_fixture<S> f;
  latent::full_gaussian q(f.mu_q, f.l_q);
  const latent::array_xx<S> z = latent::rsample(q, f.x);
  const Eigen::Matrix<S, -1, -1> expect = (f.l_q * f.x).colwise() + f.mu_q;
  CHECK((z.matrix() - expect).cwiseAbs().maxCoeff() < 10 * tol<S>());
#ifdef LATENT_SANITIZER_BUILD
  const Eigen::Index n = 20000;
#else
  const Eigen::Index n = 400000;
#endif
  latent::philox4x32 engine(8);
  const Eigen::MatrixXd s = latent::sample(q, n, engine).template cast<double>().matrix();
  const Eigen::VectorXd m = s.rowwise().mean();
  const Eigen::MatrixXd c = (s.colwise() - m) * (s.colwise() - m).transpose() / double(n - 1);
  const Eigen::MatrixXd sigma = q.covariance().template cast<double>();
  for (int i = 0; i < 3; ++i) {
    // se(mean_i) = sqrt(Sigma_ii / n); se(C_ij) = sqrt((Sigma_ii Sigma_jj + Sigma_ij^2) / n).
    CHECK(std::abs(m(i) - double(f.mu_q(i))) < 5 * std::sqrt(sigma(i, i) / double(n)));
    for (int j = 0; j < 3; ++j)
      CHECK(std::abs(c(i, j) - sigma(i, j)) <
            5 * std::sqrt((sigma(i, i) * sigma(j, j) + sigma(i, j) * sigma(i, j)) / double(n)));
  }
  CHECK(latent::sample(q, engine).cols() == 1);
}

TEST_CASE("full_gaussian validates its arguments", "[full_gaussian]") {
  vae_test::full_fixture<double> f;
  Eigen::MatrixXd upper = f.l_q;
  upper(0, 2) = 0.1;
  CHECK_THROWS_AS(latent::full_gaussian<double>(f.mu_q, upper), std::domain_error);
  CHECK_THROWS_WITH(latent::full_gaussian<double>(f.mu_q, upper),
                    Contains("latent::full_gaussian: scale_tril(0, 2) is 0.1, but must be 0 (scale_tril must be lower-triangular)"));
  Eigen::MatrixXd neg = f.l_q;
  neg(1, 1) = -0.8;
  CHECK_THROWS_WITH(latent::full_gaussian<double>(f.mu_q, neg),
                    Contains("latent::full_gaussian: scale_tril(1, 1) is -0.8, but must be positive"));
  Eigen::MatrixXd nan = f.l_q;
  nan(2, 0) = NAN;
  CHECK_THROWS_WITH(latent::full_gaussian<double>(f.mu_q, nan),
                    Contains("latent::full_gaussian: scale_tril(2, 0) is nan, but must be finite"));
  CHECK_THROWS_AS(latent::full_gaussian<double>(f.mu_q, Eigen::MatrixXd::Identity(2, 2)),
                  std::invalid_argument);
  CHECK_THROWS_WITH(latent::full_gaussian<double>(f.mu_q, Eigen::MatrixXd::Identity(2, 2)),
                    Contains("latent::full_gaussian: scale_tril has 2 rows, but must have 3"));
  CHECK_THROWS_WITH(latent::full_gaussian<double>(f.mu_q, Eigen::MatrixXd::Identity(3, 2)),
                    Contains("latent::full_gaussian: scale_tril is 3 x 2, but must be square"));
  CHECK_THROWS_WITH(latent::full_gaussian<double>(f.x, f.l_q),
                    Contains("latent::full_gaussian: mean is 3 x 2, but must be a non-empty vector"));
  Eigen::MatrixXd not_pd = Eigen::MatrixXd::Identity(3, 3);
  not_pd(2, 2) = -1;
  CHECK_THROWS_AS(latent::full_gaussian<double>::from_covariance(f.mu_q, not_pd), std::domain_error);
  CHECK_THROWS_WITH(latent::full_gaussian<double>::from_covariance(f.mu_q, not_pd),
                    Contains("latent::full_gaussian::from_covariance: covariance is not positive definite"));
  latent::full_gaussian<double> q(f.mu_q, f.l_q);
  CHECK_THROWS_WITH(latent::log_prob(q, Eigen::MatrixXd::Zero(2, 2)),
                    Contains("latent::log_prob(full_gaussian): x has 2 rows, but must have 3"));
  CHECK_THROWS_WITH(latent::rsample(q, Eigen::MatrixXd::Zero(4, 2)),
                    Contains("latent::rsample(full_gaussian): eps has 4 rows, but must have 3"));
}

TEST_CASE("full_gaussian rsample_vjp and log_prob_vjp match AutoDiffScalar and finite differences",
          "[full_gaussian][grad]") {
  using vae_test::arr;
  vae_test::full_fixture<double> f;
  const arr mu = f.mu_q, l = f.l_q.array(), x = f.x.array();
  const arr g_row = (arr(1, 2) << 0.7, -1.3).finished();
  const arr g_z = (arr(3, 2) << 0.4, -0.2, 1.1, 0.5, -0.8, 0.3).finished();
  latent::full_gaussian<double> q(f.mu_q, f.l_q);
  {  // log_prob: loss = sum_b g_b log q(x_b), inputs mu, L, x
    const auto grad = latent::log_prob_vjp(q, x, g_row);
    const auto e = vae_test::grad_check(
        {arr(grad.mean), arr(grad.scale_tril), arr(grad.x)}, {mu, l, x}, [&](const auto& v) {
          using S = typename std::decay_t<decltype(v[0])>::Scalar;
          latent::full_gaussian<S> qq(vae_test::vec(v[0]), vae_test::tril(v[1]));
          return S((latent::log_prob(qq, v[2]) * g_row.cast<S>()).sum());
        });
    CHECK(e.ad < 1e-12);
    CHECK(e.fd < 1e-7);
    // Upper-triangular entries are not parameters.
    CHECK(grad.scale_tril.template triangularView<Eigen::StrictlyUpper>().toDenseMatrix().cwiseAbs().maxCoeff() == 0);
  }
  {  // rsample: loss = sum G .* (mu + L eps), inputs mu, L
    const auto grad = latent::rsample_vjp(q, x, g_z);
    CHECK(grad.x.size() == 0);
    const auto e = vae_test::grad_check(
        {arr(grad.mean), arr(grad.scale_tril)}, {mu, l}, [&](const auto& v) {
          using S = typename std::decay_t<decltype(v[0])>::Scalar;
          latent::full_gaussian<S> qq(vae_test::vec(v[0]), vae_test::tril(v[1]));
          return S((latent::rsample(qq, x.cast<S>()) * g_z.cast<S>()).sum());
        });
    CHECK(e.ad < 1e-12);
    CHECK(e.fd < 1e-7);
  }
  {  // float agrees with double
    vae_test::full_fixture<float> ff;
    latent::full_gaussian<float> qf(ff.mu_q, ff.l_q);
    const auto gd = latent::log_prob_vjp(q, x, g_row);
    const auto gf = latent::log_prob_vjp(qf, ff.x, g_row.cast<float>());
    CHECK((gf.scale_tril.cast<double>() - gd.scale_tril).cwiseAbs().maxCoeff() < 2e-5);
    CHECK((gf.mean.cast<double>() - gd.mean).cwiseAbs().maxCoeff() < 2e-5);
    const auto rd = latent::rsample_vjp(q, x, g_z);
    const auto rf = latent::rsample_vjp(qf, ff.x, g_z.cast<float>());
    CHECK((rf.scale_tril.cast<double>() - rd.scale_tril).cwiseAbs().maxCoeff() < 2e-5);
  }
  CHECK_THROWS_AS(latent::log_prob_vjp(q, x, arr::Ones(1, 3)), std::invalid_argument);
  CHECK_THROWS_WITH(latent::log_prob_vjp(q, x, arr::Ones(1, 3)),
                    Contains("latent::log_prob_vjp(full_gaussian): grad has 3 columns, but must have 2"));
  CHECK_THROWS_WITH(latent::rsample_vjp(q, x, arr::Ones(3, 1)),
                    Contains("latent::rsample_vjp(full_gaussian): grad_z has 1 columns, but must have 2"));
  CHECK_THROWS_AS(latent::log_prob_vjp(q, arr::Zero(2, 2), g_row), std::invalid_argument);
  CHECK_THROWS_WITH(latent::log_prob_vjp(q, arr::Zero(2, 2), g_row),
                    Contains("latent::log_prob_vjp(full_gaussian): x has 2 rows, but must have 3"));
  CHECK_THROWS_WITH(latent::log_prob_vjp(q, x, arr::Ones(2, 2)),
                    Contains("latent::log_prob_vjp(full_gaussian): grad has 2 rows, but must have 1"));
  CHECK_THROWS_AS(latent::rsample_vjp(q, arr::Zero(4, 2), g_z), std::invalid_argument);
  CHECK_THROWS_WITH(latent::rsample_vjp(q, arr::Zero(4, 2), g_z),
                    Contains("latent::rsample_vjp(full_gaussian): eps has 4 rows, but must have 3"));
  CHECK_THROWS_AS(latent::rsample_vjp(q, x, arr::Ones(2, 2)), std::invalid_argument);
  CHECK_THROWS_WITH(latent::rsample_vjp(q, x, arr::Ones(2, 2)),
                    Contains("latent::rsample_vjp(full_gaussian): grad_z has 2 rows, but must have 3"));
}
