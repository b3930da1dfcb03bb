// Reliability: the edges of the sigma-space and Langevin side. The sigma = 0 final step of
// every sampler, zero terminal SNR (sigma = inf) meeting the sigma-space samplers, float32
// loops, eta = 0 / very large eta, D = 1 / B = 1 / empty batches, and the NaN/Inf policy
// (data NaN propagates; sigma, eta, tau are validated).
#include <catch2/catch.hpp>

#include <Eigen/Core>
#include <cmath>
#include <limits>

#include "latent/diffusion/schedule.hpp"
#include "latent/diffusion/sigma_schedules.hpp"
#include "latent/random/philox.hpp"
#include "latent/score/discrete_sigmas.hpp"
#include "latent/score/langevin.hpp"
#include "latent/score/samplers.hpp"

namespace {
template <class S>
using A = Eigen::Array<S, Eigen::Dynamic, Eigen::Dynamic>;

template <class S>
A<S> ramp(Eigen::Index d, Eigen::Index b, double scale = 1.0) {
  A<S> x(d, b);
  for (Eigen::Index i = 0; i < x.size(); ++i) x(i) = S(scale * std::sin(0.7 * double(i) + 0.3));
  return x;
}
/// The exact denoiser of data N(0, I): D(x, sigma) = x / (1 + sigma^2).
template <class S>
void gauss_denoiser(const A<S>& x, double sigma, A<S>& out) {
  out = x * S(1.0 / (1.0 + sigma * sigma));
}
}  // namespace

TEMPLATE_TEST_CASE("sigma = 0 final step: every step returns the denoised sample exactly",
                   "[reliability][samplers][final]", float, double) {
  using S = TestType;
  const A<S> x = ramp<S>(3, 2, 5.0), d = ramp<S>(3, 2, 0.5), z = ramp<S>(3, 2, -1.0);
  A<S> out(3, 2);
  latent::euler_step(x, d, 0.3, 0.0, out);
  CHECK((out == d).all());
  latent::euler_ancestral_step(x, d, 0.3, 0.0, z, out);  // sigma_up = sigma_down = 0
  CHECK((out == d).all());
  const auto a = latent::get_ancestral_step(0.3, 0.0);
  CHECK(a.up == 0.0);
  CHECK(a.down == 0.0);
  latent::dpmpp_1s_step(x, d, 0.3, 0.0, out);
  CHECK((out == d).all());
  // Heun needs sigma_next > 0 (its corrector divides by it): the loops switch to Euler.
  CHECK_THROWS_WITH(latent::heun_step(x, d, x, d, 0.3, 0.0, out),
                    Catch::Contains("latent::heun_step: sigma_next is 0, but must be positive and finite"));
  // to_d at sigma = 0 is undefined and rejected.
  CHECK_THROWS_AS(latent::to_d(x, 0.0, d), std::domain_error);
  // Whole loops end on the clean sample: finite, and equal to the last denoiser output.
  const Eigen::ArrayXd sig = latent::sigmas_karras(8, 0.002, 80.0);
  latent::philox4x32 eng(3);
  for (int which = 0; which < 4; ++which) {
    A<S> xs = ramp<S>(3, 2, 80.0);
    const auto den = [](const A<S>& xx, double sigma, A<S>& o) { gauss_denoiser<S>(xx, sigma, o); };
    if (which == 0) latent::sample_euler(den, xs, sig);
    if (which == 1) latent::sample_euler_ancestral(den, xs, sig, eng);
    if (which == 2) latent::sample_heun(den, xs, sig);
    if (which == 3) latent::sample_dpmpp_2m(den, xs, sig);
    INFO("sampler " << which);
    CHECK(xs.allFinite());
    CHECK(xs.abs().maxCoeff() < S(10));
  }
}

TEMPLATE_TEST_CASE("zero terminal SNR meets the sigma-space samplers: sigma = inf is rejected",
                   "[reliability][samplers][ztsnr]", float, double) {
  using S = TestType;
  const latent::noise_schedule zt(latent::rescale_zero_terminal_snr(latent::scaled_linear_betas(1000)));
  CHECK(std::isinf(zt.sigma()(999)));
  // The k-diffusion sigma table cannot hold alpha_bar = 0: the conversion says so.
  CHECK_THROWS_AS(latent::discrete_sigmas(zt.alpha_bar()), std::domain_error);
  CHECK_THROWS_WITH(latent::discrete_sigmas(zt.alpha_bar()),
                    Catch::Contains("latent::log_sigmas_from_alpha_bar: alpha_bar[999] is 0, but must be in the open interval (0, 1)"));
  // A schedule that starts at sigma = inf is rejected by every sampler before any step.
  Eigen::ArrayXd sig(3);
  sig << zt.sigma()(999), zt.sigma()(500), 0.0;
  A<S> x = ramp<S>(2, 2);
  const A<S> x0 = x;
  latent::philox4x32 eng(1);
  const auto den = [](const A<S>& xx, double sigma, A<S>& o) { gauss_denoiser<S>(xx, sigma, o); };
  CHECK_THROWS_WITH(latent::sample_euler(den, x, sig),
                    Catch::Contains("latent::sample_euler: sigmas[0] is inf, but must be positive and finite"));
  CHECK_THROWS_AS(latent::sample_euler_ancestral(den, x, sig, eng), std::domain_error);
  CHECK_THROWS_AS(latent::sample_heun(den, x, sig), std::domain_error);
  CHECK_THROWS_AS(latent::sample_dpmpp_2m(den, x, sig), std::domain_error);
  CHECK((x == x0).all());
  // The usual remedy: start from the largest finite sigma (t = T - 2); that runs and is finite.
  sig(0) = zt.sigma()(998);
  latent::sample_euler_ancestral(den, x, sig, eng);
  CHECK(x.allFinite());
}

TEMPLATE_TEST_CASE("ancestral split: eta = 0, eta huge, sigma_to = sigma_from; float loops finite",
                   "[reliability][samplers][eta]", float, double) {
  using S = TestType;
  auto a = latent::get_ancestral_step(2.0, 2.0);  // no noise to add: up = 0, down = sigma_to
  CHECK(a.up == 0.0);
  CHECK(a.down == 2.0);
  a = latent::get_ancestral_step(2.0, 1.0, 0.0);
  CHECK(a.up == 0.0);
  CHECK(a.down == 1.0);
  a = latent::get_ancestral_step(2.0, 1.0, 1e6);  // clamped: up <= sigma_to, down >= 0
  CHECK(a.up == 1.0);
  CHECK(a.down == 0.0);
  // float32 loops over a fine schedule stay finite (the radicands are clamped at 0).
  const Eigen::ArrayXd sig = latent::sigmas_karras(200, 1e-4, 160.0);
  latent::philox4x32 eng(5);
  A<S> x = ramp<S>(4, 3, 160.0);
  const auto den = [](const A<S>& xx, double sigma, A<S>& o) { gauss_denoiser<S>(xx, sigma, o); };
  latent::sample_euler_ancestral(den, x, sig, 1.0, 1.0, eng);
  CHECK(x.allFinite());
  latent::churn_options ch;
  ch.s_churn = 40;
  ch.s_tmin = 0.05;
  ch.s_tmax = 50;
  A<S> y = ramp<S>(4, 3, 160.0);
  latent::sample_heun(den, y, sig, ch, eng);
  CHECK(y.allFinite());
}

// Bug B7 (fixed): sigma_to^2 overflowed for sigma > ~1e154 (sigma_down = inf); the split is
// now computed from the ratio sigma_to / sigma_from.
TEST_CASE("ancestral split at sigma ~1e200 stays finite", "[reliability][samplers][B7]") {
  const auto a = latent::get_ancestral_step(1e200, 1e199);
  CHECK(std::isfinite(a.down));
  CHECK(std::isfinite(a.up));
}

TEMPLATE_TEST_CASE("DPM-Solver++(2M) with adjacent sigmas stays finite",
                   "[reliability][samplers][dpmpp]", float, double) {
  using S = TestType;
  const A<S> x = ramp<S>(2, 2), d = ramp<S>(2, 2, 0.5), d2 = ramp<S>(2, 2, 0.4);
  A<S> out(2, 2);
  // sigma_prev one ulp above sigma: h_last is ~1e-16, the extrapolation weight h / (2 h_last)
  // is huge but finite; the output is finite when D - D_old is small.
  const double s = 1.0, sp = std::nextafter(1.0, 2.0);
  latent::dpmpp_2m_step(x, d, d, sp, s, 0.5, out);  // D == D_old: no extrapolation term
  CHECK(out.allFinite());
  latent::dpmpp_2m_step(x, d, d2, 3.0, 2.0, 1e-8, out);  // a large final-ish jump
  CHECK(out.allFinite());
}

TEMPLATE_TEST_CASE("sampler shapes: D = 1, B = 1 and empty batches",
                   "[reliability][samplers][shapes]", float, double) {
  using S = TestType;
  const Eigen::ArrayXd sig = latent::sigmas_exponential(6, 0.01, 10.0);
  latent::philox4x32 eng(9);
  const auto den = [](const A<S>& xx, double sigma, A<S>& o) { gauss_denoiser<S>(xx, sigma, o); };
  for (auto shape : {std::pair<int, int>{1, 1}, {1, 5}, {5, 1}, {3, 0}, {0, 3}}) {
    A<S> x = ramp<S>(shape.first, shape.second, 10.0);
    latent::sample_euler_ancestral(den, x, sig, eng);
    CHECK(x.allFinite());
    latent::sample_dpmpp_2m(den, x, sig);
    CHECK(x.allFinite());
    A<S> out(shape.first, shape.second);
    latent::langevin_step(x, x, 0.1, out, eng);
    CHECK(out.allFinite());
    CHECK(out.rows() == shape.first);
  }
}

TEMPLATE_TEST_CASE("NaN/Inf policy, sigma space: data NaN propagates, sigma/eta/tau throw",
                   "[reliability][samplers][nan]", float, double) {
  using S = TestType;
  const S nan = std::numeric_limits<S>::quiet_NaN();
  A<S> x = ramp<S>(2, 3), d = ramp<S>(2, 3, 0.5), out(2, 3);
  d(1, 1) = nan;
  latent::euler_step(x, d, 1.0, 0.5, out);
  CHECK(std::isnan(out(1, 1)));
  CHECK(out.col(0).allFinite());
  CHECK(out.col(2).allFinite());
  latent::langevin_step(x, d, 0.01, x, out);
  CHECK(std::isnan(out(1, 1)));
  CHECK(out.col(0).allFinite());
  const double dnan = std::numeric_limits<double>::quiet_NaN();
  CHECK_THROWS_WITH(latent::euler_step(x, d, dnan, 0.5, out),
                    Catch::Contains("latent::euler_step: sigma is nan, but must be positive and finite"));
  CHECK_THROWS_WITH(latent::get_ancestral_step(1.0, 0.5, dnan),
                    Catch::Contains("latent::get_ancestral_step: eta is nan, but must be non-negative and finite"));
  CHECK_THROWS_WITH(latent::langevin_step(x, d, dnan, x, out),
                    Catch::Contains("latent::langevin_step: tau is nan, but must be positive and finite"));
  CHECK_THROWS_WITH(latent::sigmas_karras(10, dnan, 10.0),
                    Catch::Contains("latent::sigmas_karras: sigma_min is nan, but must be positive and finite"));
  CHECK_THROWS_WITH(latent::sigmas_exponential(10, 1.0, 0.5),
                    Catch::Contains("latent::sigmas_exponential: sigma_min = 1 exceeds sigma_max = 0.5"));
}
