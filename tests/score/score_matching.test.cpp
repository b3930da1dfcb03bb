// Tests for latent/score/score_matching.hpp.
#include <catch2/catch.hpp>

#include <cmath>

#include <unsupported/Eigen/AutoDiff>

#include "latent/random/philox.hpp"
#include "latent/score/score_matching.hpp"

using Catch::Contains;

#ifdef LATENT_SANITIZER_BUILD
constexpr Eigen::Index kSamples = 20000;
#else
constexpr Eigen::Index kSamples = 200000;
#endif

TEMPLATE_TEST_CASE("score matching losses follow their formulas", "[score_matching]", float, double) {
  using A = Eigen::Array<TestType, Eigen::Dynamic, Eigen::Dynamic>;
  using Row = Eigen::Array<TestType, 1, Eigen::Dynamic>;
  const A s = (A(2, 3) << 1.0, -2.0, 0.5, 3.0, 0.25, -1.0).finished();
  const A t = (A(2, 3) << 0.5, -1.0, 0.0, 1.0, 0.5, -0.5).finished();
  const A z = (A(2, 3) << 0.3, -1.1, 0.7, 0.2, -0.4, 1.5).finished();
  const TestType tol = TestType(std::is_same<TestType, float>::value ? 1e-6 : 1e-14);
  const Row esm = latent::explicit_score_matching(s, t);
  CHECK(esm.isApprox(TestType(0.5) * (s - t).square().colwise().sum(), tol));
  const double sigma = 0.4;
  const A target = latent::dsm_target(z, sigma);
  CHECK(target.isApprox(-z / TestType(sigma), tol));
  const A xt = latent::dsm_perturb(t, sigma, z);
  CHECK(xt.isApprox(t + TestType(sigma) * z, tol));
  const Row plain = latent::denoising_score_matching(s, z, sigma, latent::dsm_weighting::none);
  CHECK(plain.isApprox(TestType(0.5) * (s - target).square().colwise().sum(), tol));
  const Row weighted = latent::denoising_score_matching(s, z, sigma);
  CHECK(weighted.isApprox(TestType(sigma * sigma) * plain, tol));
  // Per-column sigmas equal the scalar version column by column.
  Row sig(3);
  sig << TestType(0.4), TestType(1.5), TestType(0.1);
  const Row per = latent::denoising_score_matching(s, z, sig, latent::dsm_weighting::none);
  for (Eigen::Index j = 0; j < 3; ++j) {
    const Row one = latent::denoising_score_matching(s.col(j), z.col(j), double(sig(j)),
                                                     latent::dsm_weighting::none);
    CHECK(double(per(j)) == Approx(double(one(0))).epsilon(1e-6));
  }
  // Sliced: v^T J v + (v^T s)^2 / 2, or + |s|^2 / 2 for SSM-VR.
  const A v = (A(2, 3) << 1, -1, 1, 1, 1, -1).finished();
  const A jv = (A(2, 3) << -0.5, 0.2, 0.1, -1.0, 0.3, 0.0).finished();
  const Row ssm = latent::sliced_score_matching(s, v, jv);
  const Row vr = latent::sliced_score_matching(s, v, jv, true);
  for (Eigen::Index j = 0; j < 3; ++j) {
    const double q = double((v.col(j) * jv.col(j)).sum());
    const double vs = double((v.col(j) * s.col(j)).sum());
    CHECK(double(ssm(j)) == Approx(q + 0.5 * vs * vs).epsilon(1e-6));
    CHECK(double(vr(j)) == Approx(q + 0.5 * double(s.col(j).square().sum())).epsilon(1e-6));
  }
}

TEST_CASE("denoising score matching gradients (AutoDiffScalar)", "[score_matching][autodiff]") {
  // d/ds of sigma^2/2 |s + z/sigma|^2 is sigma (sigma s + z).
  using AD = Eigen::AutoDiffScalar<Eigen::VectorXd>;
  using A = Eigen::Array<AD, Eigen::Dynamic, Eigen::Dynamic>;
  A s(2, 1), z(2, 1);
  s(0, 0) = AD(0.7, 2, 0);
  s(1, 0) = AD(-1.2, 2, 1);
  z(0, 0) = AD(0.3);
  z(1, 0) = AD(-0.8);
  const double sigma = 0.6;
  const auto loss = latent::denoising_score_matching(s, z, sigma);
  CHECK(loss(0).derivatives()(0) == Approx(sigma * (sigma * 0.7 + 0.3)));
  CHECK(loss(0).derivatives()(1) == Approx(sigma * (sigma * -1.2 - 0.8)));
  const auto e = latent::explicit_score_matching(s, z);
  CHECK(e(0).derivatives()(0) == Approx(0.7 - 0.3));
  // Sliced: derivative of (v^T s)^2 / 2 in s is (v^T s) v.
  A v(2, 1), jv(2, 1);
  v(0, 0) = AD(1.0);
  v(1, 0) = AD(-1.0);
  jv(0, 0) = AD(0.0);
  jv(1, 0) = AD(0.0);
  const auto ssm = latent::sliced_score_matching(s, v, jv);
  CHECK(ssm(0).derivatives()(0) == Approx(1.9));
  CHECK(ssm(0).derivatives()(1) == Approx(-1.9));
}

namespace {

// Gaussian data N(mu, Sigma) in D = 3 and a linear score model s(x) = W x + b.
struct linear_gaussian {
  Eigen::Vector3d mu{0.5, -1.0, 2.0};
  Eigen::Matrix3d Sigma;
  linear_gaussian() { Sigma << 1.0, 0.3, -0.2, 0.3, 0.8, 0.1, -0.2, 0.1, 0.5; }
  Eigen::ArrayXXd sample(Eigen::Index n, latent::philox4x32& eng) const {
    const Eigen::Matrix3d L = Sigma.llt().matrixL();
    const Eigen::MatrixXd z = latent::randn<Eigen::MatrixXd>(3, n, eng);
    return ((L * z).colwise() + mu).array();
  }
};

struct linear_model {
  Eigen::Matrix3d W;
  Eigen::Vector3d b;
  Eigen::ArrayXXd operator()(const Eigen::ArrayXXd& x) const {
    return ((W * x.matrix()).colwise() + b).array();
  }
};

std::vector<linear_model> models() {
  linear_model a, b, c;
  a.W = -Eigen::Matrix3d::Identity();
  a.b.setZero();
  b.W << -2.0, 0.5, 0.0, 0.1, -1.0, 0.3, 0.0, -0.4, -3.0;
  b.b << 1.0, -0.5, 0.25;
  c.W.setZero();
  c.b << 0.0, 0.0, 3.0;
  return {a, b, c};
}

}  // namespace

// Vincent (2011), eq. (4.2)-(4.3): for q_sigma = p * N(0, sigma^2 I), denoising score matching
// equals explicit score matching against grad log q_sigma up to a constant independent of the
// model: J_DSM - J_ESM = E|z|^2 / (2 sigma^2) - E|grad log q_sigma|^2 / 2
//                       = D / (2 sigma^2) - tr((Sigma + sigma^2 I)^{-1}) / 2 for Gaussian data.
// Each difference is a sample mean compared with the constant within 5 standard errors; the
// differences between models use the same samples (paired), so their standard errors are
// those of the paired per-sample differences.
TEST_CASE("Vincent's identity: DSM minus ESM does not depend on the model", "[score_matching][vincent]") {
  const linear_gaussian data;
  const double sigma = 0.5;
  latent::philox4x32 eng(81);
  const Eigen::ArrayXXd x = data.sample(kSamples, eng);
  const Eigen::ArrayXXd z = latent::randn_like(x, eng);
  const Eigen::ArrayXXd xt = latent::dsm_perturb(x, sigma, z);
  const Eigen::Matrix3d Q = (data.Sigma + sigma * sigma * Eigen::Matrix3d::Identity()).inverse();
  const Eigen::ArrayXXd true_score = (-(Q * (xt.matrix().colwise() - data.mu))).array();
  const double constant = 3.0 / (2 * sigma * sigma) - 0.5 * Q.trace();
  std::vector<Eigen::ArrayXd> diffs;
  for (const auto& m : models()) {
    const Eigen::ArrayXXd s = m(xt);
    const Eigen::ArrayXd d =
        (latent::denoising_score_matching(s, z, sigma, latent::dsm_weighting::none) -
         latent::explicit_score_matching(s, true_score)).transpose();
    const double se = std::sqrt((d - d.mean()).square().mean() / double(kSamples));
    INFO("DSM - ESM = " << d.mean() << " +- " << se << ", constant " << constant);
    CHECK(std::abs(d.mean() - constant) < 5 * se);
    diffs.push_back(d);
  }
  for (std::size_t i = 1; i < diffs.size(); ++i) {
    const Eigen::ArrayXd p = diffs[i] - diffs[0];
    const double se = std::sqrt((p - p.mean()).square().mean() / double(kSamples));
    INFO("model " << i << " minus model 0: " << p.mean() << " +- " << se);
    CHECK(std::abs(p.mean()) < 5 * se);
    CHECK(se > 0);
  }
  // The identity is not vacuous: the losses themselves differ between models by far more.
  const Eigen::ArrayXXd s1 = models()[1](xt), s0 = models()[0](xt);
  CHECK(std::abs(latent::explicit_score_matching(s1, true_score).mean() -
                 latent::explicit_score_matching(s0, true_score).mean()) > 1.0);
}

// Sliced score matching (Song et al. 2019, eqs. (7)-(8)) for the linear model: the Jacobian is
// W, so v^T J v = v^T W v, and E_v[...] = tr(W) + E|s|^2 / 2 for either projection law, which is
// Hyvarinen's objective: ESM = SSM + E|grad log p|^2 / 2 = SSM + tr(Sigma^{-1}) / 2.
TEST_CASE("sliced score matching equals explicit score matching up to a constant",
          "[score_matching][sliced]") {
  const linear_gaussian data;
  latent::philox4x32 eng(91);
  const Eigen::Index n = kSamples / 4;
  const Eigen::ArrayXXd x = data.sample(n, eng);
  const Eigen::Matrix3d P = data.Sigma.inverse();
  const Eigen::ArrayXXd true_score = (-(P * (x.matrix().colwise() - data.mu))).array();
  Eigen::ArrayXXd v(3, n);
  for (const auto& m : models()) {
    const Eigen::ArrayXXd s = m(x);
    const double esm = latent::explicit_score_matching(s, true_score).mean();
    for (int kind = 0; kind < 2; ++kind) {
      if (kind == 0) {
        latent::rademacher_projections(v, eng);
        CHECK((v.abs() == 1.0).all());
      } else {
        latent::gaussian_projections(v, eng);
      }
      const Eigen::ArrayXXd jv = (m.W * v.matrix()).array();
      for (bool vr : {false, true}) {
        const Eigen::ArrayXd l = latent::sliced_score_matching(s, v, jv, vr).transpose();
        const Eigen::ArrayXd e = latent::explicit_score_matching(s, true_score).transpose();
        const Eigen::ArrayXd d = e - l;  // paired: E[d] = tr(Sigma^{-1}) / 2
        const double se = std::sqrt((d - d.mean()).square().mean() / double(n));
        INFO((kind ? "gaussian" : "rademacher") << (vr ? " VR" : "") << ": ESM - SSM = " << d.mean()
                                                << " +- " << se << ", want " << 0.5 * P.trace()
                                                << " (ESM " << esm << ")");
        CHECK(std::abs(d.mean() - 0.5 * P.trace()) < 5 * se);
      }
    }
  }
  // Rademacher entries are +-1 with probability 1/2: the mean of n 3 entries has se 1/sqrt(3n).
  latent::rademacher_projections(v, eng);
  CHECK(std::abs(v.mean()) < 5 / std::sqrt(3.0 * double(n)));
}

TEST_CASE("score matching functions validate their arguments", "[score_matching][errors]") {
  Eigen::ArrayXXd a = Eigen::ArrayXXd::Ones(2, 3), small(2, 2);
  CHECK_THROWS_AS(latent::explicit_score_matching(a, small), std::invalid_argument);
  CHECK_THROWS_WITH(latent::explicit_score_matching(a, small),
                    Contains("latent::explicit_score_matching: model_score is 2 x 3 but true_score is 2 x 2"));
  CHECK_THROWS_AS(latent::denoising_score_matching(a, a, 0.0), std::domain_error);
  CHECK_THROWS_WITH(latent::denoising_score_matching(a, a, 0.0),
                    Contains("latent::denoising_score_matching: sigma is 0, but must be positive"));
  Eigen::Array<double, 1, Eigen::Dynamic> sig(3);
  sig << 1.0, -1.0, 1.0;
  CHECK_THROWS_WITH(latent::denoising_score_matching(a, a, sig),
                    Contains("latent::denoising_score_matching: sigmas[1] is -1"));
  CHECK_THROWS_WITH(latent::denoising_score_matching(a, a, sig.head(2)),
                    Contains("latent::denoising_score_matching: sigmas has 2 elements, but must have 3"));
  CHECK_THROWS_WITH(latent::dsm_target(a, -0.5), Contains("latent::dsm_target: sigma is -0.5"));
  CHECK_THROWS_WITH(latent::dsm_perturb(a, 0.5, small),
                    Contains("latent::dsm_perturb: x is 2 x 3 but noise is 2 x 2"));
  CHECK_THROWS_WITH(latent::sliced_score_matching(a, a, small),
                    Contains("latent::sliced_score_matching: score is 2 x 3 but jacobian_projection is 2 x 2"));
}
