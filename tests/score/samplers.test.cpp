// Tests for latent/score/samplers.hpp. Spot values: tools/score_reference.py (float64 torch /
// mpmath, the formulas of k-diffusion sampling.py and Lu et al. 2022).
#include <catch2/catch.hpp>

#include <cmath>
#include <algorithm>
#include <cstdio>
#include <limits>

#include <unsupported/Eigen/AutoDiff>

#include "gmm.hpp"
#include "latent/diffusion/sigma_schedules.hpp"
#include "latent/random/philox.hpp"
#include "latent/score/samplers.hpp"

using Catch::Contains;

#ifdef LATENT_SANITIZER_BUILD
constexpr Eigen::Index kSamples = 2000;
#else
constexpr Eigen::Index kSamples = 20000;
#endif

TEMPLATE_TEST_CASE("get_ancestral_step matches k-diffusion and never gives NaN", "[samplers]",
                   float, double) {
  const auto a = latent::get_ancestral_step(14.6, 9.7);
  CHECK(a.down == Approx(6.444520547945205).epsilon(1e-14));
  CHECK(a.up == Approx(7.249700332228362).epsilon(1e-14));
  const auto b = latent::get_ancestral_step(1.0, 0.3);
  CHECK(b.down == Approx(0.09).epsilon(1e-14));
  CHECK(b.up == Approx(0.2861817604250837).epsilon(1e-14));
  const auto c = latent::get_ancestral_step(2.0, 1.5, 0.5);
  CHECK(c.down == Approx(1.4155939566132656).epsilon(1e-14));
  CHECK(c.up == Approx(0.49607837082461076).epsilon(1e-14));
  // sigma_down^2 + sigma_up^2 = sigma_to^2: the marginal noise level is preserved.
  CHECK(a.down * a.down + a.up * a.up == Approx(9.7 * 9.7).epsilon(1e-14));
  // Final step to 0, equal sigmas and eta = 0 are exact, with no NaN.
  const auto z = latent::get_ancestral_step(0.03, 0.0);
  CHECK(z.down == 0.0);
  CHECK(z.up == 0.0);
  const auto e = latent::get_ancestral_step(1.7, 1.7);
  CHECK(e.up == 0.0);
  CHECK(e.down == 1.7);
  const auto n = latent::get_ancestral_step(3.0, 1.0, 0.0);
  CHECK(n.up == 0.0);
  CHECK(n.down == 1.0);
  // Float sigmas one ulp apart (the case where torch float32 yields NaN in sigma_down).
  const TestType from = TestType(0.0292), to = std::nextafter(from, TestType(0));
  const auto f = latent::get_ancestral_step(static_cast<double>(from), static_cast<double>(to));
  CHECK(std::isfinite(f.down));
  CHECK(std::isfinite(f.up));
  CHECK(f.down <= static_cast<double>(to));
  // Large eta: sigma_up is capped at sigma_to, sigma_down = 0.
  const auto big = latent::get_ancestral_step(2.0, 1.0, 100.0);
  CHECK(big.up == 1.0);
  CHECK(big.down == 0.0);
}

TEMPLATE_TEST_CASE("single sampler steps follow their formulas", "[samplers]", float, double) {
  using A = Eigen::Array<TestType, Eigen::Dynamic, Eigen::Dynamic>;
  const A x = (A(2, 3) << 1.0, -2.0, 0.5, 3.0, 0.25, -1.0).finished();
  const A d = (A(2, 3) << 0.5, -1.0, 0.0, 1.0, 0.5, -0.5).finished();
  const A d_old = (A(2, 3) << 0.2, -0.6, 0.1, 0.8, 0.1, -0.4).finished();
  const A z = (A(2, 3) << 0.3, -1.1, 0.7, 0.2, -0.4, 1.5).finished();
  const double tol = std::is_same<TestType, float>::value ? 1e-6 : 1e-14;
  A out(2, 3);

  SECTION("to_d and Euler") {
    const A dd = latent::to_d(x, 2.0, d);
    CHECK(dd.isApprox((x - d) / TestType(2), TestType(tol)));
    latent::euler_step(x, d, 2.0, 0.5, out);
    CHECK(out.isApprox(x + (x - d) / TestType(2) * TestType(0.5 - 2.0), TestType(tol)));
    latent::euler_step(x, d, 2.0, 0.0, out);  // last step lands on the denoised sample
    CHECK(out.isApprox(d, TestType(tol)));
    A y = x;
    latent::euler_step(y, d, 2.0, 0.5, y);  // in place
    latent::euler_step(x, d, 2.0, 0.5, out);
    CHECK((y == out).all());
  }
  SECTION("Euler ancestral with given noise") {
    const auto as = latent::get_ancestral_step(1.0, 0.3);
    latent::euler_ancestral_step(x, d, 1.0, 0.3, z, out);
    const A want = x + (x - d) * TestType(as.down - 1.0) + TestType(as.up) * z;
    CHECK(out.isApprox(want, TestType(tol)));
    latent::euler_ancestral_step(x, d, 1.0, 0.3, z, out, 1.0, 0.5);  // s_noise
    CHECK(out.isApprox(want - TestType(0.5 * as.up) * z, TestType(tol)));
  }
  SECTION("Heun") {
    A xe(2, 3);
    latent::euler_step(x, d, 2.0, 0.5, xe);
    latent::heun_step(x, d, xe, d_old, 2.0, 0.5, out);
    const A d1 = (x - d) / TestType(2), d2 = (xe - d_old) / TestType(0.5);
    CHECK(out.isApprox(x + (d1 + d2) * TestType(0.5 * (0.5 - 2.0)), TestType(tol)));
  }
  SECTION("DPM-Solver++ first order and 2M (coefficients from tools/score_reference.py)") {
    latent::dpmpp_2m_step(x, d, d_old, 3.0, 1.5, 0.6, out);
    const A want = TestType(0.4) * x + TestType(0.9965784284662087) * d -
                   TestType(0.3965784284662087) * d_old;
    CHECK(out.isApprox(want, TestType(tol)));
    latent::dpmpp_1s_step(x, d, 1.5, 0.6, out);
    CHECK(out.isApprox(TestType(0.4) * x + TestType(0.6) * d, TestType(tol)));
    latent::dpmpp_1s_step(x, d, 1.5, 0.0, out);
    CHECK((out == d).all());
    // With D_old = D the multistep correction vanishes.
    latent::dpmpp_2m_step(x, d, d, 3.0, 1.5, 0.6, out);
    CHECK(out.isApprox(TestType(0.4) * x + TestType(0.6) * d, TestType(tol)));
  }
  SECTION("churn") {
    CHECK(latent::churn_gamma(1.0, 10, {}) == 0.0);
    latent::churn_options c;
    c.s_churn = 5.0;
    CHECK(latent::churn_gamma(1.0, 10, c) == Approx(0.5 < std::sqrt(2.0) - 1 ? 0.5 : std::sqrt(2.0) - 1));
    c.s_churn = 2.0;
    CHECK(latent::churn_gamma(1.0, 10, c) == Approx(0.2));
    c.s_tmin = 0.5;
    c.s_tmax = 0.9;
    CHECK(latent::churn_gamma(1.0, 10, c) == 0.0);
    CHECK(latent::churn_gamma(0.7, 10, c) == Approx(0.2));
    latent::churn_step(x, 1.0, 1.25, z, out, 1.007);
    CHECK(out.isApprox(x + TestType(1.007 * 0.75) * z, TestType(tol)));
  }
}

TEST_CASE("sampler steps are differentiable with AutoDiffScalar", "[samplers][autodiff]") {
  using AD = Eigen::AutoDiffScalar<Eigen::VectorXd>;
  using A = Eigen::Array<AD, Eigen::Dynamic, Eigen::Dynamic>;
  // x = (x0, x1) with seeds; D = 0.3 x (a linear denoiser): the DPM++(2M) output is
  // linear in x with slope a + b * 0.3 + c * 0.2 for D_old = 0.2 x.
  A x(2, 1), d(2, 1), dold(2, 1), out(2, 1);
  x(0, 0) = AD(1.5, 2, 0);
  x(1, 0) = AD(-0.5, 2, 1);
  d = x * AD(0.3);
  dold = x * AD(0.2);
  latent::dpmpp_2m_step(x, d, dold, 3.0, 1.5, 0.6, out);
  const double slope = 0.4 + 0.9965784284662087 * 0.3 - 0.3965784284662087 * 0.2;
  CHECK(out(0, 0).derivatives()(0) == Approx(slope).epsilon(1e-14));
  CHECK(out(0, 0).derivatives()(1) == Approx(0.0).margin(1e-15));
  CHECK(out(1, 0).derivatives()(1) == Approx(slope).epsilon(1e-14));
  latent::euler_step(x, d, 2.0, 0.5, out);
  CHECK(out(0, 0).derivatives()(0) == Approx(0.25 + 0.75 * 0.3).epsilon(1e-14));
}

TEST_CASE("sampler arguments are validated before anything is written", "[samplers][errors]") {
  Eigen::ArrayXXd x = Eigen::ArrayXXd::Ones(2, 3), d = Eigen::ArrayXXd::Zero(2, 3),
                  out = Eigen::ArrayXXd::Constant(2, 3, 7.0), small(2, 2);
  CHECK_THROWS_AS(latent::euler_step(x, small, 1.0, 0.5, out), std::invalid_argument);
  CHECK_THROWS_WITH(latent::euler_step(x, small, 1.0, 0.5, out),
                    Contains("latent::euler_step: x is 2 x 3 but denoised is 2 x 2"));
  CHECK_THROWS_AS(latent::euler_step(x, d, 0.0, 0.5, out), std::domain_error);
  CHECK_THROWS_WITH(latent::euler_step(x, d, 0.0, 0.5, out),
                    Contains("latent::euler_step: sigma is 0, but must be positive"));
  CHECK_THROWS_WITH(latent::euler_ancestral_step(x, d, 1.0, 2.0, d, out),
                    Contains("latent::get_ancestral_step: sigma_to = 2 exceeds sigma_from = 1"));
  CHECK_THROWS_WITH(latent::get_ancestral_step(1.0, 0.5, -1.0),
                    Contains("latent::get_ancestral_step: eta is -1"));
  CHECK_THROWS_WITH(latent::heun_step(x, d, x, d, 1.0, 0.0, out),
                    Contains("latent::heun_step: sigma_next is 0, but must be positive"));
  CHECK_THROWS_WITH(latent::dpmpp_2m_step(x, d, d, 1.0, 1.5, 0.6, out),
                    Contains("latent::dpmpp_2m_step: sigmas (1, 1.5, 0.6) must be strictly decreasing"));
  CHECK_THROWS_AS(latent::dpmpp_2m_step(x, d, d, 1.0, 1.5, 0.6, out), std::domain_error);
  CHECK_THROWS_WITH(latent::churn_step(x, 1.0, 0.5, d, out),
                    Contains("latent::churn_step: sigma_hat = 0.5 must be finite and at least sigma = 1"));
  CHECK_THROWS_WITH(latent::churn_gamma(1.0, 0, {}),
                    Contains("latent::churn_gamma: num_steps = 0 must be at least 1"));
  CHECK_THROWS_AS(latent::churn_gamma(1.0, 0, {}), std::invalid_argument);
  CHECK((out == 7.0).all());

  auto denoiser = [](const Eigen::ArrayXXd& xx, double, Eigen::ArrayXXd& o) { o = 0.5 * xx; };
  Eigen::ArrayXd bad(3);
  bad << 1.0, 2.0, 0.0;
  CHECK_THROWS_AS(latent::sample_euler(denoiser, x, bad), std::domain_error);
  CHECK_THROWS_WITH(latent::sample_euler(denoiser, x, bad),
                    Contains("latent::sample_euler: sigmas[1] = 2 is not below sigmas[0] = 1"));
  Eigen::ArrayXd one(1);
  one << 1.0;
  CHECK_THROWS_AS(latent::sample_heun(denoiser, x, one), std::invalid_argument);
  CHECK_THROWS_WITH(latent::sample_heun(denoiser, x, one),
                    Contains("latent::sample_heun: sigmas has 1 elements, but must have at least 2"));
  Eigen::ArrayXd neg(3);
  neg << 1.0, -0.5, 0.0;
  CHECK_THROWS_WITH(latent::sample_dpmpp_2m(denoiser, x, neg),
                    Contains("latent::sample_dpmpp_2m: sigmas[1] is -0.5, but must be positive"));
  latent::philox4x32 eng(1);
  CHECK_THROWS_WITH(latent::sample_euler_ancestral(denoiser, x, latent::sigmas_karras(4, 0.1, 1.0), -1.0, 1.0, eng),
                    Contains("latent::sample_euler_ancestral: eta is -1"));
  CHECK((x == 1.0).all());
}

namespace {

// The exact denoiser of a mixture as a sampler callback.
struct gmm_denoiser {
  const latent_test::gmm2* g;
  long calls = 0;
  template <class X>
  void operator()(const X& x, double sigma, X& out) {
    ++calls;
    g->denoise(x, sigma, out);
  }
};

template <class A>
A initial_noise(Eigen::Index n, double sigma_max, std::uint64_t seed) {
  latent::philox4x32 eng(seed);
  return A(latent::randn<A>(2, n, eng) * typename A::Scalar(sigma_max));
}

}  // namespace

// End-to-end: from N(0, 80^2 I) to the well-separated mixture with the exact denoiser.
// Tolerance per statistic: 5 standard errors (N = 20000: se about 0.003 for weights, 0.005
// for means and covariances) plus an allowance for the discretization bias at the chosen step
// counts: weight 0.005, mean 0.015, covariance 0.015. The largest biases measured with 10^5
// samples (same schedule) are 0.009 (Euler with churn, 256 steps: first-order error of the
// Euler step from sigma_hat), 0.006 (Euler, 256 steps) and 0.0065 (Heun with churn, 64 steps);
// a wrong coefficient (e.g. sigma_up without the sqrt, or Heun's average without the 1/2)
// moves a covariance by more than 0.1.
TEMPLATE_TEST_CASE("sigma-space samplers reproduce a Gaussian mixture", "[samplers][e2e]", float,
                   double) {
  using A = Eigen::Array<TestType, Eigen::Dynamic, Eigen::Dynamic>;
  const latent_test::gmm2 g = latent_test::far_mixture();
  gmm_denoiser den{&g};
  const double smin = 0.002, smax = 80.0;
  A x = initial_noise<A>(kSamples, smax, 11);
  latent::philox4x32 eng(12);
  std::string which;

  SECTION("Euler, 256 steps") {
    which = "euler";
    latent::sample_euler(den, x, latent::sigmas_karras(256, smin, smax));
  }
  SECTION("Euler with churn, 256 steps") {
    which = "euler churn";
    latent::churn_options c;
    c.s_churn = 10.0;
    c.s_tmin = 0.05;
    c.s_tmax = 50.0;
    c.s_noise = 1.0;
    latent::sample_euler(den, x, latent::sigmas_karras(256, smin, smax), c, eng);
  }
  SECTION("Euler ancestral, 256 steps") {
    which = "euler ancestral";
    latent::sample_euler_ancestral(den, x, latent::sigmas_karras(256, smin, smax), eng);
  }
  SECTION("Heun, 64 steps") {
    which = "heun";
    latent::sample_heun(den, x, latent::sigmas_karras(64, smin, smax));
    CHECK(den.calls == 2 * 64 - 1);
  }
  SECTION("Heun with churn, 64 steps") {
    which = "heun churn";
    latent::churn_options c;
    c.s_churn = 10.0;
    c.s_tmin = 0.05;
    c.s_tmax = 50.0;
    c.s_noise = 1.0;
    latent::sample_heun(den, x, latent::sigmas_karras(64, smin, smax), c, eng);
  }
  SECTION("DPM-Solver++(2M), 64 steps") {
    which = "dpmpp_2m";
    latent::sample_dpmpp_2m(den, x, latent::sigmas_karras(64, smin, smax));
    CHECK(den.calls == 64);
  }
  const auto checks = latent_test::check_moments(g, x, 0.005, 0.015, 0.015);
  INFO(which << "\n" << latent_test::describe(checks));
  CHECK(latent_test::worst_ratio(checks) <= 1.0);
  CHECK(x.allFinite());
}

namespace {

// Median over samples of the distance between the endpoint of an ODE sampler and a
// reference endpoint from the same initial noise (Heun with 1000 steps). The median measures
// the integration error of typical paths; the few paths that start near the boundary between
// the modes and end in the other mode are counted separately (flip fraction).
struct path_errors {
  double median, flips;
};
template <class Run>
path_errors path_error(const Eigen::ArrayXXd& x0, const Eigen::ArrayXXd& ref, Run run) {
  Eigen::ArrayXXd x = x0;
  run(x);
  Eigen::ArrayXd d = (x - ref).square().colwise().sum().sqrt().transpose();
  std::sort(d.data(), d.data() + d.size());
  const double flips = static_cast<double>(((x.row(0) > 0) != (ref.row(0) > 0)).count()) /
                       static_cast<double>(x.cols());
  return {d(d.size() / 2), flips};
}

struct error_table {
  std::vector<int> steps;
  std::vector<path_errors> euler, heun, dpmpp;
};

error_table make_error_table(Eigen::Index n) {
  const latent_test::gmm2 g = latent_test::far_mixture();
  gmm_denoiser den{&g};
  const double smin = 0.002, smax = 80.0;
  const Eigen::ArrayXXd x0 = initial_noise<Eigen::ArrayXXd>(n, smax, 5);
  Eigen::ArrayXXd ref = x0;
  latent::sample_heun(den, ref, latent::sigmas_karras(1000, smin, smax));
  error_table t;
  for (int s : {5, 10, 20, 40, 80, 160, 320}) {
    const Eigen::ArrayXd sig = latent::sigmas_karras(s, smin, smax);
    t.steps.push_back(s);
    t.euler.push_back(path_error(x0, ref, [&](Eigen::ArrayXXd& x) { latent::sample_euler(den, x, sig); }));
    t.heun.push_back(path_error(x0, ref, [&](Eigen::ArrayXXd& x) { latent::sample_heun(den, x, sig); }));
    t.dpmpp.push_back(path_error(x0, ref, [&](Eigen::ArrayXXd& x) { latent::sample_dpmpp_2m(den, x, sig); }));
  }
  return t;
}

}  // namespace

TEST_CASE("second-order samplers reach a given error in fewer steps than Euler",
          "[samplers][order]") {
  const error_table t = make_error_table(500);
  const double target = 0.01;
  auto first_below = [&](const std::vector<path_errors>& e) {
    for (std::size_t i = 0; i < e.size(); ++i) if (e[i].median <= target) return t.steps[i];
    return 1 << 30;
  };
  const int se = first_below(t.euler), sh = first_below(t.heun), sd = first_below(t.dpmpp);
  INFO("steps to RMS error 0.01: Euler " << se << ", Heun " << sh << ", DPM++(2M) " << sd);
  CHECK(sh < se);
  CHECK(sd < se);
  // Heun costs 2 N - 1 denoiser calls; it still wins on calls.
  CHECK(2 * sh - 1 < se);
  // Observed orders between 40 and 80 steps: about 1 for Euler, about 2 for the others.
  const double oe = std::log2(t.euler[3].median / t.euler[4].median);
  const double oh = std::log2(t.heun[3].median / t.heun[4].median);
  const double od = std::log2(t.dpmpp[3].median / t.dpmpp[4].median);
  INFO("orders: Euler " << oe << ", Heun " << oh << ", DPM++(2M) " << od);
  CHECK(oe == Approx(1.0).margin(0.3));
  CHECK(oh > 1.6);
  CHECK(od > 1.6);
}

// Prints the error-versus-steps table of docs/score.md:
//   ./build/tests/test_score "[.table]"   (test_score_samplers with LATENT_TEST_UNITY=OFF)
TEST_CASE("error-versus-steps table", "[.table]") {
  const error_table t = make_error_table(2000);
  std::printf("| steps N | Euler (NFE = N) | Heun (NFE = 2N-1) | DPM-Solver++(2M) (NFE = N) |\n");
  std::printf("|---:|---:|---:|---:|\n");
  for (std::size_t i = 0; i < t.steps.size(); ++i) {
    std::printf("| %d | %.2e (%.2f%%) | %.2e (%.2f%%) | %.2e (%.2f%%) |\n", t.steps[i],
                t.euler[i].median, 100 * t.euler[i].flips, t.heun[i].median, 100 * t.heun[i].flips,
                t.dpmpp[i].median, 100 * t.dpmpp[i].flips);
  }
  CHECK(t.steps.size() == 7);
}
