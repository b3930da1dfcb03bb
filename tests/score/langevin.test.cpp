// Tests for latent/score/langevin.hpp: ULA, MALA and annealed Langevin dynamics, with the
// exact score of Gaussian mixtures (tests/score/gmm.hpp).
#include <catch2/catch.hpp>

#include <cmath>

#include <unsupported/Eigen/AutoDiff>

#include "gmm.hpp"
#include "latent/random/philox.hpp"
#include "latent/score/langevin.hpp"

using Catch::Contains;

// Under ASan/UBSan (about 10x slower) fewer chains, and half the annealing steps per level;
// tolerances are 5 standard errors of the smaller samples plus the same allowances.
#ifdef LATENT_SANITIZER_BUILD
constexpr Eigen::Index kChains = 2000;
constexpr int kSlow = 2;
#else
constexpr Eigen::Index kChains = 20000;
constexpr int kSlow = 1;
#endif

namespace {
template <class A>
A uniform_box(Eigen::Index n, double half_width, std::uint64_t seed) {
  latent::philox4x32 eng(seed);
  return A((latent::rand_uniform<A>(2, n, eng) * typename A::Scalar(2) - typename A::Scalar(1)) *
           typename A::Scalar(half_width));
}
}  // namespace

TEMPLATE_TEST_CASE("langevin_step: formula, engine overload, aliasing", "[langevin]", float, double) {
  using A = Eigen::Array<TestType, Eigen::Dynamic, Eigen::Dynamic>;
  const A x = (A(2, 2) << 1.0, -2.0, 0.5, 3.0).finished();
  const A s = (A(2, 2) << -1.0, 2.0, 0.0, -0.5).finished();
  const A z = (A(2, 2) << 0.3, -1.1, 0.7, 0.2).finished();
  A out(2, 2);
  latent::langevin_step(x, s, 0.02, z, out);
  CHECK(out.isApprox(x + TestType(0.02) * s + TestType(std::sqrt(0.04)) * z, TestType(1e-6)));
  A y = x;
  latent::langevin_step(y, s, 0.02, z, y);
  CHECK((y == out).all());
  // The engine overload equals the noise overload with randn_like from the same seed.
  latent::philox4x32 e1(7), e2(7);
  latent::langevin_step(x, s, 0.02, out, e1);
  const A zz = latent::randn_like(x, e2);
  A want(2, 2);
  latent::langevin_step(x, s, 0.02, zz, want);
  CHECK((out == want).all());
  // Expressions are accepted for every input.
  latent::langevin_step(x * TestType(2), s + TestType(1), 0.5, z, out);
  CHECK(out.isApprox(x * TestType(2) + TestType(0.5) * (s + TestType(1)) + z, TestType(1e-6)));
}

TEST_CASE("MALA accept/reject follows the Metropolis-Hastings ratio", "[langevin][mala]") {
  // 1-D standard normal target, two chains: log p = -x^2/2, score = -x.
  Eigen::ArrayXXd x(1, 2), s(1, 2), y(1, 2), sy(1, 2);
  Eigen::Array<double, 1, Eigen::Dynamic> lp(2), lpy(2), u(2);
  x << 0.5, -1.0;
  y << 1.5, 3.0;
  s = -x;
  sy = -y;
  lp = -0.5 * x.square();
  lpy = -0.5 * y.square();
  const double tau = 0.3;
  // Hand computation of log a for chain 0 and chain 1.
  auto log_q = [&](double to, double from) { return -std::pow(to - from + tau * from, 2) / (4 * tau); };
  const double la0 = lpy(0) - lp(0) + log_q(0.5, 1.5) - log_q(1.5, 0.5);
  const double la1 = lpy(1) - lp(1) + log_q(-1.0, 3.0) - log_q(3.0, -1.0);
  REQUIRE(la0 < 0);
  REQUIRE(la1 < 0);
  // Chain 0 accepts (u just below a), chain 1 rejects (u just above a).
  u << std::exp(la0) * 0.999, std::exp(la1) * 1.001;
  Eigen::Array<bool, 1, Eigen::Dynamic> acc;
  latent::mala_accept(x, lp, s, y, lpy, sy, tau, u, acc);
  CHECK(acc(0));
  CHECK_FALSE(acc(1));
  CHECK(x(0, 0) == 1.5);
  CHECK(s(0, 0) == -1.5);
  CHECK(lp(0) == -1.125);
  CHECK(x(0, 1) == -1.0);
  CHECK(lp(1) == -0.5);
  const Eigen::Array<double, 1, Eigen::Dynamic> lq = latent::mala_log_proposal(y, x, s, tau);
  CHECK(lq(1) == Approx(log_q(3.0, -1.0)));
}

// For N(0, 1) and step tau, ULA's stationary law is N(0, 1 / (1 - tau/2)) (the AR(1) recursion
// x' = (1 - tau) x + sqrt(2 tau) z), biased; MALA's is exactly N(0, 1). With tau = 0.5: ULA
// variance 4/3. Standard error of a sample variance of N normals: v sqrt(2/N).
TEST_CASE("MALA removes the step-size bias of ULA", "[langevin][mala]") {
  const Eigen::Index n = kChains;
  const double tau = 0.5;
  auto score = [](const Eigen::ArrayXXd& x, Eigen::ArrayXXd& o) { o = -x; };
  auto log_prob = [](const Eigen::ArrayXXd& x, Eigen::Array<double, 1, Eigen::Dynamic>& o) {
    o = -0.5 * x.square();
  };
  latent::philox4x32 eng(3);
  Eigen::ArrayXXd x0 = latent::randn<Eigen::ArrayXXd>(1, n, eng);
  Eigen::ArrayXXd ula = x0;
  latent::langevin_dynamics(score, ula, tau, 100, eng);
  latent::mala_chains<Eigen::ArrayXXd> mala(log_prob, score, x0);
  for (int k = 0; k < 100; ++k) mala.step(log_prob, score, tau, eng);
  const double v_ula = ula.square().mean(), v_mala = mala.state().square().mean();
  const double se = std::sqrt(2.0 / static_cast<double>(n));
  INFO("ULA variance " << v_ula << ", MALA variance " << v_mala << ", acceptance " << mala.acceptance_rate());
  CHECK(std::abs(v_ula - 4.0 / 3.0) < 5 * se * 4.0 / 3.0);
  CHECK(std::abs(v_mala - 1.0) < 5 * se);
  CHECK(mala.acceptance_rate() > 0.5);
  CHECK(mala.acceptance_rate() < 1.0);
  // The cached log-density and score follow the accepted states.
  CHECK(mala.score().isApprox(-mala.state()));
  CHECK(mala.log_prob().isApprox(-0.5 * mala.state().square()));
}

// ULA on the overlapping mixture from a uniform start. Allowance: ULA's O(tau) bias; for a
// Gaussian component of variance c it inflates the variance by c tau / (2 c - tau) ~ tau / 2,
// so the covariance allowance is tau and the mean/weight allowance tau / 2.
TEMPLATE_TEST_CASE("ULA reproduces an overlapping Gaussian mixture", "[langevin][e2e]", float, double) {
  using A = Eigen::Array<TestType, Eigen::Dynamic, Eigen::Dynamic>;
  const latent_test::gmm2 g = latent_test::near_mixture();
  auto score = [&](const A& x, A& o) { g.score(x, o); };
  A x = uniform_box<A>(kChains, 3.0, 21);
  latent::philox4x32 eng(22);
  const double tau = 0.01;
  latent::langevin_dynamics(score, x, tau, 400, eng);
  const auto checks = latent_test::check_moments(g, x, tau / 2, tau / 2, tau);
  INFO(latent_test::describe(checks));
  CHECK(latent_test::worst_ratio(checks) <= 1.0);
}

// MALA is exact: no allowance beyond 5 standard errors (200 steps of tau = 0.05 forget the
// uniform start: the slowest component relaxes in about c / tau = 10 steps).
TEMPLATE_TEST_CASE("MALA reproduces an overlapping Gaussian mixture", "[langevin][mala][e2e]", float,
                   double) {
  using A = Eigen::Array<TestType, Eigen::Dynamic, Eigen::Dynamic>;
  using Row = Eigen::Array<TestType, 1, Eigen::Dynamic>;
  const latent_test::gmm2 g = latent_test::near_mixture();
  auto score = [&](const A& x, A& o) { g.score(x, o); };
  auto log_prob = [&](const A& x, Row& o) { g.log_prob(x, o); };
  latent::mala_chains<A> chains(log_prob, score, uniform_box<A>(kChains, 3.0, 31));
  latent::philox4x32 eng(32);
  long accepted = 0;
  for (int k = 0; k < 200; ++k) accepted += chains.step(log_prob, score, 0.05, eng).count();
  CHECK(chains.acceptance_rate() == Approx(static_cast<double>(accepted) / (200.0 * kChains)));
  CHECK(chains.acceptance_rate() > 0.8);
  const auto checks = latent_test::check_moments(g, chains.state(), 0.0, 0.0, 0.0);
  INFO(latent_test::describe(checks) << "acceptance " << chains.acceptance_rate());
  CHECK(latent_test::worst_ratio(checks) <= 1.0);
}

// Annealed Langevin dynamics on the well-separated mixture (modes 9 standard deviations
// apart) from a uniform start on [-8, 8]^2: Song & Ermon (2019) Sec. 3.2 / Fig. 3. Plain ULA at
// the smallest level keeps the weights of the start (about 1/2 each); annealing recovers 0.7 /
// 0.3. Allowance: the last levels leave sigma_L^2 = 1e-4 of extra variance and ULA bias
// eps/4 = 1.25e-5; chains freeze at sigma near 0.05 (relaxation time exceeds the 100 steps per
// level), adding about 0.0025; allowance 0.01 for covariances, 0.005 for weights and means.
TEMPLATE_TEST_CASE("annealed Langevin dynamics recovers the weights of separated modes",
                   "[langevin][annealed][e2e]", float, double) {
  using A = Eigen::Array<TestType, Eigen::Dynamic, Eigen::Dynamic>;
  const latent_test::gmm2 g = latent_test::far_mixture();
  auto noise_score = [&](const A& x, double sigma, A& o) { g.score(x, 1.0, sigma, o); };
  const Eigen::ArrayXd sigmas = latent::sigmas_geometric(12, 0.01, 8.0);
  const double eps = 5e-5;
  A x = uniform_box<A>(kChains, 8.0, 41);
  A x_ula = x;
  latent::philox4x32 eng(42);
  latent::annealed_langevin(noise_score, x, sigmas, eps, 100 / kSlow, false, eng);
  const auto checks = latent_test::check_moments(g, x, 0.005, 0.005, 0.01);
  INFO(latent_test::describe(checks));
  CHECK(latent_test::worst_ratio(checks) <= 1.0);

  // Plain ULA with the data score from the same start, 300 steps of the step size that the
  // annealed run uses at sigma = 0.1 (a 9-standard-deviation barrier is not crossed at any
  // step size that is stable): the mass stays where it started, so weight 0 is far from 0.7.
  auto score = [&](const A& xx, A& o) { g.score(xx, o); };
  latent::langevin_dynamics(score, x_ula, 0.5 * latent::annealed_langevin_step_size(eps, 0.1, 0.01),
                            300 / kSlow, eng);
  const auto ula = latent_test::check_moments(g, x_ula, 0.0, 0.0, 0.0);
  CHECK(std::abs(ula[0].error) > 0.1);
}

TEST_CASE("annealed Langevin step size and final denoising", "[langevin][annealed]") {
  CHECK(latent::annealed_langevin_step_size(2e-5, 1.0, 0.01) == Approx(0.2));
  CHECK(latent::annealed_langevin_step_size(2e-5, 0.01, 0.01) == Approx(2e-5));
  // annealed_langevin_step = langevin_step with tau = alpha / 2.
  Eigen::ArrayXXd x(1, 1), s(1, 1), z(1, 1), out(1, 1);
  x << 1.0;
  s << -2.0;
  z << 0.5;
  latent::annealed_langevin_step(x, s, 2e-5, 1.0, 0.01, z, out);
  CHECK(out(0, 0) == Approx(1.0 + 0.1 * -2.0 + std::sqrt(0.2) * 0.5));
  // With denoise_last, a point mass at 0 under the Gaussian N(0, sigma^2) score lands on
  // x + sigma^2 (-x / sigma^2) = 0 exactly (Tweedie).
  auto noise_score = [](const Eigen::ArrayXXd& xx, double sigma, Eigen::ArrayXXd& o) {
    o = -xx / (1.0 + sigma * sigma);
  };
  Eigen::ArrayXXd y = Eigen::ArrayXXd::Constant(2, 5, 3.0);
  latent::philox4x32 eng(1);
  latent::annealed_langevin(noise_score, y, latent::sigmas_geometric(3, 0.5, 1.0), 0.01, 2, true, eng);
  CHECK(y.allFinite());
}

TEST_CASE("Langevin steps are differentiable with AutoDiffScalar", "[langevin][autodiff]") {
  using AD = Eigen::AutoDiffScalar<Eigen::VectorXd>;
  using A = Eigen::Array<AD, Eigen::Dynamic, Eigen::Dynamic>;
  A x(1, 1), s(1, 1), z(1, 1), out(1, 1);
  x(0, 0) = AD(0.7, 1, 0);
  s = -x * AD(2.0);  // score of N(0, 1/2)
  z(0, 0) = AD(0.3);
  latent::langevin_step(x, s, 0.1, z, out);
  // d out / d x = 1 - 2 tau.
  CHECK(out(0, 0).derivatives()(0) == Approx(0.8));
  CHECK(out(0, 0).value() == Approx(0.7 - 0.14 + std::sqrt(0.2) * 0.3));
}

TEST_CASE("Langevin functions validate their arguments", "[langevin][errors]") {
  Eigen::ArrayXXd x = Eigen::ArrayXXd::Ones(2, 3), s = Eigen::ArrayXXd::Zero(2, 3),
                  out = Eigen::ArrayXXd::Constant(2, 3, 7.0), small(2, 2);
  CHECK_THROWS_AS(latent::langevin_step(x, s, 0.0, s, out), std::domain_error);
  CHECK_THROWS_WITH(latent::langevin_step(x, s, 0.0, s, out),
                    Contains("latent::langevin_step: tau is 0, but must be positive and finite"));
  CHECK_THROWS_AS(latent::langevin_step(x, small, 0.1, s, out), std::invalid_argument);
  CHECK_THROWS_WITH(latent::langevin_step(x, s, 0.1, s, small),
                    Contains("latent::langevin_step: x is 2 x 3 but out is 2 x 2"));
  CHECK((out == 7.0).all());
  Eigen::Array<double, 1, Eigen::Dynamic> lp = Eigen::Array<double, 1, Eigen::Dynamic>::Zero(3),
                                          u = Eigen::Array<double, 1, Eigen::Dynamic>::Constant(3, 0.5),
                                          bad_u(3), short_row(2);
  Eigen::Array<bool, 1, Eigen::Dynamic> acc;
  CHECK_THROWS_WITH(latent::mala_accept(x, lp, s, x, short_row, s, 0.1, u, acc),
                    Contains("latent::mala_accept: log_prob_proposal has 2 elements, but must have 3"));
  bad_u << 0.5, 0.0, 0.5;
  CHECK_THROWS_AS(latent::mala_accept(x, lp, s, x, lp, s, 0.1, bad_u, acc), std::domain_error);
  CHECK_THROWS_WITH(latent::mala_accept(x, lp, s, x, lp, s, 0.1, bad_u, acc),
                    Contains("latent::mala_accept: uniform[1] is 0, but must be in (0, 1]"));
  CHECK_THROWS_WITH(latent::annealed_langevin_step_size(-1.0, 1.0, 0.1),
                    Contains("latent::annealed_langevin_step_size: eps is -1"));
  auto ns = [](const Eigen::ArrayXXd& xx, double, Eigen::ArrayXXd& o) { o = -xx; };
  latent::philox4x32 eng(1);
  Eigen::ArrayXd up(2);
  up << 0.1, 0.2;
  CHECK_THROWS_AS(latent::annealed_langevin(ns, x, up, 0.1, 1, false, eng), std::domain_error);
  CHECK_THROWS_WITH(latent::annealed_langevin(ns, x, up, 0.1, 1, false, eng),
                    Contains("latent::annealed_langevin: sigmas[1] = 0.2 is not below the previous level"));
  CHECK_THROWS_WITH(latent::annealed_langevin(ns, x, latent::sigmas_geometric(3, 0.1, 1.0), 0.1, 0, false, eng),
                    Contains("latent::annealed_langevin: steps_per_level = 0 is out of range"));
  auto sc = [](const Eigen::ArrayXXd& xx, Eigen::ArrayXXd& o) { o = -xx; };
  CHECK_THROWS_WITH(latent::langevin_dynamics(sc, x, -0.1, 3, eng),
                    Contains("latent::langevin_dynamics: tau is -0.1"));
  CHECK((x == 1.0).all());
  auto lpf = [](const Eigen::ArrayXXd&, Eigen::Array<double, 1, Eigen::Dynamic>& o) { o.setZero(); };
  CHECK_THROWS_AS(latent::mala_chains<Eigen::ArrayXXd>(lpf, sc, Eigen::ArrayXXd(2, 0)),
                  std::invalid_argument);
}
