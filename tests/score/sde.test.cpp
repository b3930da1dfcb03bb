// Tests for latent/score/sde.hpp. Spot values: tools/score_reference.py (mpmath, the formulas
// of score_sde sde_lib.py).
#include <catch2/catch.hpp>

#include <cmath>

#include <unsupported/Eigen/AutoDiff>

#include "gmm.hpp"
#include "latent/random/philox.hpp"
#include "latent/score/sde.hpp"

using Catch::Contains;

// Under ASan/UBSan (about 10x slower) fewer chains and steps; the tolerances are 5 standard
// errors of the smaller samples plus the same allowances.
#ifdef LATENT_SANITIZER_BUILD
constexpr Eigen::Index kChains = 1000;
constexpr int kSlow = 3;
#else
constexpr Eigen::Index kChains = 10000;
constexpr int kSlow = 1;
#endif

TEST_CASE("SDE coefficients match score_sde", "[sde]") {
  const latent::vp_sde vp;
  CHECK(vp.mean_coeff(0.3) == Approx(0.6295500003364488).epsilon(1e-14));
  CHECK(vp.marginal_std(0.3) == Approx(0.7769599713475446).epsilon(1e-14));
  CHECK(vp.drift_coeff(0.3) == Approx(-3.035).epsilon(1e-14));
  CHECK(vp.diffusion(0.3) == Approx(2.4637369989509836).epsilon(1e-14));
  const latent::sub_vp_sde svp;
  CHECK(svp.mean_coeff(0.3) == Approx(0.6295500003364488).epsilon(1e-14));
  CHECK(svp.marginal_std(0.3) == Approx(0.6036667970763773).epsilon(1e-14));
  CHECK(svp.diffusion(0.3) == Approx(2.2619735526791724).epsilon(1e-14));
  const latent::ve_sde ve;
  CHECK(ve.marginal_std(0.3) == Approx(0.1287333293545224).epsilon(1e-14));
  CHECK(ve.diffusion(0.3) == Approx(0.5313176563012971).epsilon(1e-14));
  CHECK(ve.prior_std() == 50.0);
  CHECK(ve.mean_coeff(0.7) == 1.0);
  // Small t: the std keeps its digits (expm1), sqrt(beta_min t) to first order.
  CHECK(vp.marginal_std(1e-12) == Approx(std::sqrt(0.1e-12)).epsilon(1e-9));
  // DDPM discretization: beta_i = beta(t) dt; SMLD: g^2 = sigma(t)^2 - sigma(t - dt)^2.
  const auto dv = vp.discretize(0.5, 1e-3);
  CHECK(dv.g == Approx(std::sqrt(vp.beta(0.5) * 1e-3)));
  CHECK(dv.f == Approx(std::sqrt(1 - vp.beta(0.5) * 1e-3) - 1));
  const auto de = ve.discretize(0.5, 0.1);
  CHECK(de.f == 0.0);
  CHECK(de.g * de.g == Approx(std::pow(ve.sigma(0.5), 2) - std::pow(ve.sigma(0.4), 2)));
  CHECK(vp.corrector_alpha(0.5, 1e-3) == Approx(1 - vp.beta(0.5) * 1e-3));
  CHECK(ve.corrector_alpha(0.5, 1e-3) == 1.0);
}

// The perturbation kernels solve the moment ODEs of the linear SDE (Sarkka & Solin 2019,
// eq. (5.51)): d log m / dt = f(t), d s^2 / dt = 2 f(t) s^2 + g(t)^2. (score_sde's VE std
// sigma(t) omits the -sigma_min^2 of the exact kernel variance, a constant: same derivative.)
TEST_CASE("marginals solve the moment equations of each SDE", "[sde]") {
  auto check = [](const auto& sde, const char* name) {
    for (double t : {0.05, 0.3, 0.7, 0.95}) {
      INFO(name << " t = " << t);
      const double h = 1e-6;
      const double dlogm = (sde.log_mean_coeff(t + h) - sde.log_mean_coeff(t - h)) / (2 * h);
      CHECK(dlogm == Approx(sde.drift_coeff(t)).epsilon(1e-7).margin(1e-9));
      auto var = [&](double u) { return sde.marginal_std(u) * sde.marginal_std(u); };
      const double dv = (var(t + h) - var(t - h)) / (2 * h);
      const double g = sde.diffusion(t);
      CHECK(dv == Approx(2 * sde.drift_coeff(t) * var(t) + g * g).epsilon(1e-6));
    }
  };
  check(latent::vp_sde(), "vp");
  check(latent::sub_vp_sde(), "sub-vp");
  check(latent::vp_sde(0.5, 5.0), "vp(0.5, 5)");
  check(latent::ve_sde(), "ve");
}

TEMPLATE_TEST_CASE("SDE steps follow their formulas", "[sde]", float, double) {
  using A = Eigen::Array<TestType, Eigen::Dynamic, Eigen::Dynamic>;
  const A x = (A(2, 3) << 1.0, -2.0, 0.5, 3.0, 0.25, -1.0).finished();
  const A s = (A(2, 3) << -1.0, 2.0, 0.0, -0.5, 0.0, 1.0).finished();
  const A z = (A(2, 3) << 0.3, -1.1, 0.7, 0.2, -0.4, 1.5).finished();
  const double tol = std::is_same<TestType, float>::value ? 2e-6 : 1e-14;
  const latent::vp_sde vp;
  const double t = 0.6, dt = 0.01, f = vp.drift_coeff(t), g = vp.diffusion(t);
  A out(2, 3);
  latent::reverse_sde_euler_maruyama_step(vp, x, s, t, dt, z, out);
  CHECK(out.isApprox(x - (TestType(f) * x - TestType(g * g) * s) * TestType(dt) +
                         TestType(g * std::sqrt(dt)) * z, TestType(tol)));
  latent::probability_flow_step(vp, x, s, t, dt, out);
  CHECK(out.isApprox(x - (TestType(f) * x - TestType(0.5 * g * g) * s) * TestType(dt), TestType(tol)));
  const auto d = vp.discretize(t, dt);
  latent::reverse_diffusion_step(vp, x, s, t, dt, z, out);
  CHECK(out.isApprox(x - TestType(d.f) * x + TestType(d.g * d.g) * s + TestType(d.g) * z, TestType(tol)));
  // Corrector: per-column step eps_j = 2 alpha (snr |z_j| / |s_j|)^2; column 2 has s = (0, 1).
  latent::langevin_corrector_step(x, s, 0.16, 0.9, z, out);
  for (Eigen::Index j = 0; j < 3; ++j) {
    const double eps = 2 * 0.9 * std::pow(0.16 * std::sqrt(double(z.col(j).square().sum())) /
                                              std::sqrt(double(s.col(j).square().sum())), 2);
    const A want = x.col(j) + TestType(eps) * s.col(j) + TestType(std::sqrt(2 * eps)) * z.col(j);
    CHECK(out.col(j).isApprox(want, TestType(tol)));
  }
  // A zero score leaves the column unchanged instead of dividing by zero.
  A s0 = s;
  s0.col(1).setZero();
  latent::langevin_corrector_step(x, s0, 0.16, 1.0, z, out);
  CHECK((out.col(1) == x.col(1)).all());
  // Prior and perturbation.
  latent::sde_prior_sample(latent::ve_sde(), z, out);
  CHECK(out.isApprox(TestType(50) * z));
  latent::sde_perturb(vp, x, 0.3, z, out);
  CHECK(out.isApprox(TestType(vp.mean_coeff(0.3)) * x + TestType(vp.marginal_std(0.3)) * z, TestType(tol)));
  const A drift = latent::sde_drift(vp, x, 0.3);
  CHECK(drift.isApprox(TestType(vp.drift_coeff(0.3)) * x));
  const A mean = latent::sde_marginal_mean(vp, x, 0.3);
  CHECK(mean.isApprox(TestType(vp.mean_coeff(0.3)) * x));
  const Eigen::Array<TestType, 1, Eigen::Dynamic> lp = latent::sde_prior_log_prob(latent::ve_sde(), x);
  for (Eigen::Index j = 0; j < 3; ++j) {
    const double want = -std::log(2 * latent::pi<double>() * 2500.0) - double(x.col(j).square().sum()) / 5000.0;
    CHECK(double(lp(j)) == Approx(want).epsilon(1e-6));
  }
}

TEST_CASE("the corrector step size is differentiable per sample", "[sde][autodiff]") {
  using AD = Eigen::AutoDiffScalar<Eigen::VectorXd>;
  using A = Eigen::Array<AD, Eigen::Dynamic, Eigen::Dynamic>;
  A x(1, 1), s(1, 1), z(1, 1), out(1, 1);
  x(0, 0) = AD(0.5, 1, 0);
  s = x * AD(-2.0);  // |s| depends on x: eps = 2 alpha snr^2 z^2 / (4 x^2)
  z(0, 0) = AD(0.8);
  latent::langevin_corrector_step(x, s, 0.2, 1.0, z, out);
  // out = x + eps(x) (-2x) + sqrt(2 eps(x)) z with eps(x) = 0.08 * 0.64 / (4 x^2) = c / x^2.
  const double c = 2 * 1.0 * 0.04 * 0.64 / 4;
  auto f = [&](double v) { return v - 2 * c / v + std::sqrt(2 * c) / std::abs(v) * 0.8; };
  const double fd = (f(0.5 + 1e-6) - f(0.5 - 1e-6)) / 2e-6;
  CHECK(out(0, 0).value() == Approx(f(0.5)));
  CHECK(out(0, 0).derivatives()(0) == Approx(fd).epsilon(1e-6));
}

// Predictor-corrector sampling of the well-separated mixture with its exact time-dependent
// score: x_t = m(t) x_0 + s(t) z turns each component into N(m m_k, m^2 C_k + s^2 I).
// Correctors here use score_sde's batch-mean norms (see the per-sample test below).
// Allowance: discretization bias at N = 500 steps, O(1/N), plus the corrector's ULA bias
// (eps / 2v relative, eps = 2 snr^2 v: 2.6% of a variance of at most 0.35); allowance 0.015
// for covariances, 0.01 for means, 0.005 for weights.
TEMPLATE_TEST_CASE("predictor-corrector samplers reproduce a Gaussian mixture", "[sde][e2e]", float,
                   double) {
  using A = Eigen::Array<TestType, Eigen::Dynamic, Eigen::Dynamic>;
  const latent_test::gmm2 g = latent_test::far_mixture();
  latent::philox4x32 eng(51);
  A x(2, kChains);
  std::string which;
  latent::pc_options opt;
  opt.steps = 500 / kSlow;
  opt.norm = latent::corrector_norm::batch_mean;
  auto run = [&](const auto& sde) {
    auto score = [&](const A& xx, double t, A& o) {
      g.score(xx, sde.mean_coeff(t), sde.marginal_std(t), o);
    };
    latent::pc_sample(sde, score, x, opt, eng);
  };
  SECTION("VP, reverse diffusion + Langevin corrector") {
    which = "vp rd+lc";
    run(latent::vp_sde());
  }
  SECTION("VP, Euler-Maruyama, no corrector") {
    which = "vp em";
    opt.predictor = latent::pc_predictor::euler_maruyama;
    opt.corrector_steps = 0;
    run(latent::vp_sde());
  }
  SECTION("VP, probability-flow ODE") {
    which = "vp ode";
    opt.predictor = latent::pc_predictor::probability_flow;
    opt.corrector_steps = 0;
    run(latent::vp_sde());
  }
  SECTION("sub-VP, Euler-Maruyama + corrector") {
    which = "subvp em+lc";
    opt.predictor = latent::pc_predictor::euler_maruyama;
    run(latent::sub_vp_sde());
  }
  SECTION("VE, reverse diffusion + Langevin corrector") {
    which = "ve rd+lc";
    run(latent::ve_sde(0.01, 20.0));
  }
  const auto checks = latent_test::check_moments(g, x, 0.005, 0.01, 0.015);
  INFO(which << "\n" << latent_test::describe(checks));
  CHECK(latent_test::worst_ratio(checks) <= 1.0);
}

// The per-sample corrector in a dimension where norms concentrate: the mixture in the first
// 2 coordinates times D - 2 = 254 independent N(0, 1) coordinates (exact score
// -x / (m^2 + s^2)). Its stationary inflation (D+2)/(D-2) = 1.6% and the ULA factor 2.6% add
// at most 0.015 to a component variance of 0.35; allowance 0.02 for covariances.
TEST_CASE("predictor-corrector with per-sample corrector norms in D = 256", "[sde][e2e]") {
  using A = Eigen::ArrayXXf;
  const latent_test::gmm2 g = latent_test::far_mixture();
  const Eigen::Index D = 256;
#ifdef LATENT_SANITIZER_BUILD
  const Eigen::Index n = 500;
#else
  const Eigen::Index n = 2000;
#endif
  latent::philox4x32 eng(61);
  A x(D, n);
  latent::pc_options opt;
  opt.steps = 300 / kSlow;
  const latent::vp_sde sde;
  auto score = [&](const A& xx, double t, A& o) {
    const double m = sde.mean_coeff(t), sd = sde.marginal_std(t);
    auto top = o.topRows(2);
    g.score(xx.topRows(2), m, sd, top);
    o.bottomRows(D - 2) = xx.bottomRows(D - 2) * float(-1.0 / (m * m + sd * sd));
  };
  latent::pc_sample(sde, score, x, opt, eng);
  const A top = x.topRows(2);
  const auto checks = latent_test::check_moments(g, top, 0.005, 0.01, 0.02);
  INFO(latent_test::describe(checks));
  CHECK(latent_test::worst_ratio(checks) <= 1.0);
  const double v = static_cast<double>(x.bottomRows(D - 2).square().mean());
  INFO("variance of the N(0, 1) coordinates " << v);
  CHECK(std::abs(v - 1.0) < 0.05);
}

// The corrector alone on N(0, I): per-sample norms give the stationary variance
// (D+2)/(D-2) / (1 - eps/2) to first order (eps = 2 snr^2 = 0.0512), batch-mean norms
// 1 / (1 - eps/2) (plain ULA). Standard error of the variance of n D normals: sqrt(2/(n D)).
// Second-order terms (about eps^2 and eps/D) get an allowance of 0.006.
TEST_CASE("stationary law of the Langevin corrector", "[sde][corrector]") {
  for (int D : {32, 1000}) {
    for (auto norm : {latent::corrector_norm::per_sample, latent::corrector_norm::batch_mean}) {
      const Eigen::Index n = 200000 / kSlow / D;
      latent::philox4x32 eng(71);
      Eigen::ArrayXXd x = latent::randn<Eigen::ArrayXXd>(D, n, eng), s(D, n), z(D, n);
      for (int k = 0; k < 100; ++k) {
        s = -x;
        latent::fill_randn(z, eng);
        latent::langevin_corrector_step(x, s, 0.16, 1.0, z, x, norm);
      }
      const double v = x.square().mean();
      const double ula = 1.0 / (1.0 - 0.0512 / 2);
      const double want = norm == latent::corrector_norm::per_sample ? ula * (D + 2.0) / (D - 2.0) : ula;
      INFO("D = " << D << (norm == latent::corrector_norm::per_sample ? " per sample" : " batch mean")
                  << ": variance " << v << ", predicted " << want);
      CHECK(std::abs(v - want) < 5 * std::sqrt(2.0 / (double(n) * D)) + 0.006);
    }
  }
}

TEST_CASE("SDE functions validate their arguments", "[sde][errors]") {
  CHECK_THROWS_AS(latent::vp_sde(-0.1, 20.0), std::domain_error);
  CHECK_THROWS_WITH(latent::vp_sde(-0.1, 20.0), Contains("latent::vp_sde: beta_min is -0.1"));
  CHECK_THROWS_WITH(latent::vp_sde(2.0, 1.0),
                    Contains("latent::vp_sde: beta_min = 2 exceeds beta_max = 1"));
  CHECK_THROWS_WITH(latent::ve_sde(1.0, 1.0),
                    Contains("latent::ve_sde: sigma_min = 1 must be below sigma_max = 1"));
  const latent::vp_sde vp;
  Eigen::ArrayXXd x = Eigen::ArrayXXd::Ones(2, 3), s = Eigen::ArrayXXd::Zero(2, 3),
                  out = Eigen::ArrayXXd::Constant(2, 3, 7.0), small(2, 2);
  CHECK_THROWS_AS(latent::reverse_sde_euler_maruyama_step(vp, x, s, 1.5, 0.1, s, out), std::domain_error);
  CHECK_THROWS_WITH(latent::reverse_sde_euler_maruyama_step(vp, x, s, 1.5, 0.1, s, out),
                    Contains("latent::reverse_sde_euler_maruyama_step: t = 1.5 is out of range [0, 1]"));
  CHECK_THROWS_WITH(latent::reverse_diffusion_step(vp, x, s, 0.05, 0.1, s, out),
                    Contains("latent::reverse_diffusion_step: dt = 0.1 exceeds t = 0.05"));
  CHECK_THROWS_WITH(latent::probability_flow_step(vp, x, s, 0.5, 0.0, out),
                    Contains("latent::probability_flow_step: dt is 0, but must be positive"));
  CHECK_THROWS_AS(latent::probability_flow_step(vp, x, small, 0.5, 0.1, out), std::invalid_argument);
  CHECK_THROWS_WITH(latent::langevin_corrector_step(x, s, -0.16, 1.0, s, out),
                    Contains("latent::langevin_corrector_step: snr is -0.16"));
  CHECK_THROWS_WITH(latent::langevin_corrector_step(x, s, 0.16, 1.0, s, small),
                    Contains("latent::langevin_corrector_step: x is 2 x 3 but out is 2 x 2"));
  CHECK_THROWS_WITH(latent::sde_perturb(vp, x, -0.1, s, out),
                    Contains("latent::sde_perturb: t = -0.1 is out of range [0, 1]"));
  CHECK_THROWS_AS(latent::sde_prior_sample(vp, small, out), std::invalid_argument);
  CHECK((out == 7.0).all());
  latent::philox4x32 eng(1);
  auto score = [](const Eigen::ArrayXXd& xx, double, Eigen::ArrayXXd& o) { o = -xx; };
  latent::pc_options opt;
  opt.steps = 0;
  CHECK_THROWS_WITH(latent::pc_sample(vp, score, x, opt, eng),
                    Contains("latent::pc_sample: steps = 0 is out of range"));
  opt.steps = 10;
  opt.eps = 0.7;
  CHECK_THROWS_WITH(latent::pc_sample(vp, score, x, opt, eng),
                    Contains("latent::pc_sample: eps = 0.7 is out of range [0, 0.5]"));
  opt.eps = 1e-3;
  opt.predictor = latent::pc_predictor::none;
  opt.corrector_steps = 0;
  CHECK_THROWS_AS(latent::pc_sample(vp, score, x, opt, eng), std::invalid_argument);
  CHECK_THROWS_WITH(latent::pc_sample(vp, score, x, opt, eng), Contains("nothing to run"));
  CHECK((x == 1.0).all());
}
