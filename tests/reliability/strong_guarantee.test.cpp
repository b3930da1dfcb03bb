// Reliability: the strong exception guarantee. Every step and sampler that writes into a
// caller-supplied output (or updates a state in place) is called with bad arguments (out of
// range t, shape mismatch, bad sigma / eta / tau, bad options) and must throw the documented
// exception and leave the output bit-for-bit untouched.
#include <catch2/catch.hpp>

#include <Eigen/Core>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <string>

#include "latent/diffusion/ddim.hpp"
#include "latent/diffusion/ddpm.hpp"
#include "latent/diffusion/guidance.hpp"
#include "latent/diffusion/schedule.hpp"
#include "latent/diffusion/training.hpp"
#include "latent/quantize/nearest.hpp"
#include "latent/random/philox.hpp"
#include "latent/score/langevin.hpp"
#include "latent/score/samplers.hpp"
#include "latent/score/sde.hpp"

namespace {
template <class S>
using A = Eigen::Array<S, Eigen::Dynamic, Eigen::Dynamic>;

template <class T>
bool same_bits(const T& a, const T& b) {
  if (a.rows() != b.rows() || a.cols() != b.cols()) return false;
  return a.size() == 0 ||
         std::memcmp(a.data(), b.data(), sizeof(typename T::Scalar) * std::size_t(a.size())) == 0;
}

template <class S>
A<S> ramp(Eigen::Index d, Eigen::Index b, double scale = 1.0) {
  A<S> x(d, b);
  for (Eigen::Index i = 0; i < x.size(); ++i) x(i) = S(scale * std::sin(0.7 * double(i) + 0.3));
  return x;
}

/// Calls f on a sentinel-filled output; requires exception type E, a message containing
/// `what`, and an untouched output.
template <class E, class S, class F>
void expect_untouched(A<S>& out, const std::string& what, F&& f) {
  out.setConstant(S(-12.375));
  const A<S> before = out;
  bool threw = false;
  try {
    f();
  } catch (const E& e) {
    threw = true;
    CHECK_THAT(std::string(e.what()), Catch::Contains(what));
  }
  CHECK(threw);
  CHECK(same_bits(out, before));
}
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
}  // namespace

TEMPLATE_TEST_CASE("strong guarantee: DDPM steps", "[reliability][strong][ddpm]", float, double) {
  using S = TestType;
  using dom = std::domain_error;
  using inv = std::invalid_argument;
  const latent::noise_schedule s(latent::linear_betas(100));
  const A<S> x = ramp<S>(3, 4), m = ramp<S>(3, 4, 0.5), z = ramp<S>(3, 4, -1), v = ramp<S>(3, 4, 0.1).abs();
  A<S> out(3, 4);
  latent::philox4x32 eng(7);
  latent::ddpm_options o;
  expect_untouched<dom>(out, "latent::ddpm_step: t = 100 is out of range [0, 99]",
                        [&] { latent::ddpm_step(s, o, 100, 99, x, m, out, z); });
  expect_untouched<dom>(out, "latent::ddpm_step: prev_t = 50 is out of range [-1, 49]",
                        [&] { latent::ddpm_step(s, o, 50, 50, x, m, out, eng); });
  expect_untouched<inv>(out, "latent::ddpm_step: x_t is 3 x 4 but noise is 3 x 3",
                        [&] { latent::ddpm_step(s, o, 50, 49, x, m, out, A<S>(3, 3)); });
  expect_untouched<inv>(out, "latent::ddpm_step: x_t is 3 x 4 but model_output is 2 x 4",
                        [&] { latent::ddpm_step(s, o, 50, 49, x, A<S>(2, 4), out, eng); });
  auto bad = o;
  bad.thresholding = true;
  bad.dynamic_thresholding_ratio = 1.5;
  expect_untouched<dom>(out, "latent::ddpm_step: dynamic_thresholding_ratio is 1.5",
                        [&] { latent::ddpm_step(s, bad, 50, 49, x, m, out, z); });
  bad = o;
  bad.variance = latent::variance_type::learned;
  expect_untouched<inv>(out, "needs the predicted_variance",
                        [&] { latent::ddpm_step(s, bad, 50, 49, x, m, out, z); });
  expect_untouched<inv>(out, "latent::ddpm_step: x_t is 3 x 4 but predicted_variance is 3 x 1",
                        [&] { latent::ddpm_step(s, bad, 50, 49, x, m, A<S>(3, 1), out, z); });
  expect_untouched<dom>(out, "latent::ddpm_step: t = -1 is out of range",
                        [&] { latent::ddpm_step(s, bad, -1, -2, x, m, v, out, eng); });
  expect_untouched<inv>(out, "predicted_variance is given, but variance_type is not learned",
                        [&] { latent::ddpm_step(s, o, 50, 49, x, m, v, out, z); });
  // Thresholding uses out as scratch: aliasing is rejected before anything is written.
  bad = o;
  bad.thresholding = true;
  A<S> xa = x;
  const A<S> xa0 = xa;
  CHECK_THROWS_WITH(latent::ddpm_step(s, bad, 50, 49, xa, m, xa, z),
                    Catch::Contains("out must not alias x_t"));
  CHECK(same_bits(xa, xa0));
}

TEMPLATE_TEST_CASE("strong guarantee: DDIM steps and inversion", "[reliability][strong][ddim]",
                   float, double) {
  using S = TestType;
  using dom = std::domain_error;
  using inv = std::invalid_argument;
  const latent::noise_schedule s(latent::linear_betas(100));
  const auto zt = latent::noise_schedule(latent::rescale_zero_terminal_snr(latent::linear_betas(100)));
  const A<S> x = ramp<S>(3, 4), m = ramp<S>(3, 4, 0.5), z = ramp<S>(3, 4, -1);
  A<S> out(3, 4);
  latent::philox4x32 eng(7);
  latent::ddim_options o;
  expect_untouched<dom>(out, "latent::ddim_step: t = 100 is out of range [0, 99]",
                        [&] { latent::ddim_step(s, o, 100, 50, x, m, out); });
  expect_untouched<dom>(out, "latent::ddim_step: prev_t = -2 is out of range [-1, 49]",
                        [&] { latent::ddim_step(s, o, 50, -2, x, m, out, z); });
  auto e = o;
  e.eta = -0.5;
  expect_untouched<dom>(out, "latent::ddim_step: eta is -0.5, but must be non-negative and finite",
                        [&] { latent::ddim_step(s, e, 50, 40, x, m, out, eng); });
  e.eta = 0.5;
  expect_untouched<inv>(out, "latent::ddim_step: eta = 0.5 > 0 needs noise",
                        [&] { latent::ddim_step(s, e, 50, 40, x, m, out); });
  expect_untouched<inv>(out, "latent::ddim_step: x_t is 3 x 4 but out is 3 x 5", [&] {
    A<S> wrong(3, 5);
    latent::ddim_step(s, o, 50, 40, x, m, wrong);
    out(0) = S(1);  // not reached
  });
  expect_untouched<dom>(out, "latent::ddim_step: alpha_bar at t = 99 is 0",
                        [&] { latent::ddim_step(zt, o, 99, 98, x, m, out); });
  auto c = o;
  c.clip_sample = true;
  c.clip_sample_range = 0;
  expect_untouched<dom>(out, "latent::ddim_step: clip_sample_range is 0, but must be positive",
                        [&] { latent::ddim_step(s, c, 50, 40, x, m, out); });
  expect_untouched<dom>(out, "latent::ddim_inversion_step: t = 60 is out of range [-1, 49]", [&] {
    latent::ddim_inversion_step(s, latent::prediction_type::epsilon, 60, 50, x, m, out);
  });
  expect_untouched<dom>(out, "latent::ddim_inversion_step: next_t = 100 is out of range", [&] {
    latent::ddim_inversion_step(s, latent::prediction_type::epsilon, 60, 100, x, m, out);
  });
}

TEMPLATE_TEST_CASE("strong guarantee: guidance rescale, training target",
                   "[reliability][strong][guidance]", float, double) {
  using S = TestType;
  const A<S> u = ramp<S>(3, 4), c = ramp<S>(3, 4, 0.5);
  A<S> out(3, 4);
  expect_untouched<std::domain_error>(out, "latent::classifier_free_guidance_rescaled: guidance_rescale = 1.5 is out of range [0, 1]",
                                      [&] { latent::classifier_free_guidance_rescaled(u, c, 7.5, 1.5, out); });
  expect_untouched<std::domain_error>(out, "guidance_scale is nan",
                                      [&] { latent::classifier_free_guidance_rescaled(u, c, kNaN, 0.5, out); });
  const latent::noise_schedule s(latent::linear_betas(100));
  Eigen::Array<std::int64_t, 1, Eigen::Dynamic> t(4);
  t << 1, 2, 100, 3;
  expect_untouched<std::domain_error>(out, "latent::training_target: t[2] = 100 is out of range [0, 99]", [&] {
    latent::training_target(s, latent::prediction_type::v_prediction, t, u, c, out);
  });
}

TEMPLATE_TEST_CASE("strong guarantee: sigma-space steps", "[reliability][strong][samplers]", float,
                   double) {
  using S = TestType;
  using dom = std::domain_error;
  using inv = std::invalid_argument;
  const A<S> x = ramp<S>(3, 4), d = ramp<S>(3, 4, 0.5), z = ramp<S>(3, 4, -1), d2 = ramp<S>(3, 4, 0.2);
  A<S> out(3, 4);
  latent::philox4x32 eng(7);
  expect_untouched<dom>(out, "latent::churn_step: sigma_hat = 0.5 must be finite and at least sigma = 1",
                        [&] { latent::churn_step(x, 1.0, 0.5, z, out); });
  expect_untouched<inv>(out, "latent::churn_step: x is 3 x 4 but noise is 4 x 3",
                        [&] { latent::churn_step(x, 1.0, 1.5, A<S>(4, 3), out); });
  expect_untouched<dom>(out, "latent::euler_step: sigma is 0, but must be positive and finite",
                        [&] { latent::euler_step(x, d, 0.0, 0.0, out); });
  expect_untouched<dom>(out, "latent::euler_step: sigma_next is nan",
                        [&] { latent::euler_step(x, d, 1.0, kNaN, out); });
  expect_untouched<dom>(out, "latent::get_ancestral_step: sigma_to = 2 exceeds sigma_from = 1",
                        [&] { latent::euler_ancestral_step(x, d, 1.0, 2.0, z, out); });
  expect_untouched<dom>(out, "latent::get_ancestral_step: eta is -1",
                        [&] { latent::euler_ancestral_step(x, d, 1.0, 0.5, out, -1.0, 1.0, eng); });
  expect_untouched<dom>(out, "latent::euler_ancestral_step: sigma is inf",
                        [&] { latent::euler_ancestral_step(x, d, std::numeric_limits<double>::infinity(), 0.5, out, eng); });
  expect_untouched<inv>(out, "latent::euler_ancestral_step: x is 3 x 4 but denoised is 3 x 1",
                        [&] { latent::euler_ancestral_step(x, A<S>(3, 1), 1.0, 0.5, z, out); });
  expect_untouched<dom>(out, "latent::heun_step: sigma_next is 0, but must be positive",
                        [&] { latent::heun_step(x, d, d2, z, 1.0, 0.0, out); });
  expect_untouched<dom>(out, "latent::dpmpp_1s_step: sigma_next is -1",
                        [&] { latent::dpmpp_1s_step(x, d, 1.0, -1.0, out); });
  expect_untouched<dom>(out, "latent::dpmpp_2m_step: sigmas (1, 1, 0.5) must be strictly decreasing",
                        [&] { latent::dpmpp_2m_step(x, d, d2, 1.0, 1.0, 0.5, out); });
  expect_untouched<inv>(out, "latent::dpmpp_2m_step: x is 3 x 4 but old_denoised is 2 x 4",
                        [&] { latent::dpmpp_2m_step(x, d, A<S>(2, 4), 2.0, 1.0, 0.5, out); });
}

TEMPLATE_TEST_CASE("strong guarantee: Langevin and SDE steps", "[reliability][strong][langevin]",
                   float, double) {
  using S = TestType;
  using dom = std::domain_error;
  using inv = std::invalid_argument;
  const A<S> x = ramp<S>(3, 4), sc = ramp<S>(3, 4, 0.5), z = ramp<S>(3, 4, -1);
  A<S> out(3, 4);
  latent::philox4x32 eng(7);
  expect_untouched<dom>(out, "latent::langevin_step: tau is 0, but must be positive and finite",
                        [&] { latent::langevin_step(x, sc, 0.0, z, out); });
  expect_untouched<dom>(out, "latent::langevin_step: tau is nan",
                        [&] { latent::langevin_step(x, sc, kNaN, out, eng); });
  expect_untouched<inv>(out, "latent::langevin_step: x is 3 x 4 but score is 3 x 2",
                        [&] { latent::langevin_step(x, A<S>(3, 2), 0.1, z, out); });
  expect_untouched<dom>(out, "latent::annealed_langevin_step_size: sigma_min is -1",
                        [&] { latent::annealed_langevin_step(x, sc, 1e-3, 1.0, -1.0, z, out); });
  const latent::vp_sde vp;
  expect_untouched<dom>(out, "latent::reverse_sde_euler_maruyama_step: dt = 0.5 exceeds t = 0.25",
                        [&] { latent::reverse_sde_euler_maruyama_step(vp, x, sc, 0.25, 0.5, z, out); });
  expect_untouched<dom>(out, "latent::reverse_diffusion_step: t = 2 is out of range [0, 1]",
                        [&] { latent::reverse_diffusion_step(vp, x, sc, 2.0, 0.1, z, out); });
  expect_untouched<dom>(out, "latent::probability_flow_step: dt is 0",
                        [&] { latent::probability_flow_step(vp, x, sc, 0.5, 0.0, out); });
  expect_untouched<dom>(out, "latent::langevin_corrector_step: snr is 0",
                        [&] { latent::langevin_corrector_step(x, sc, 0.0, 1.0, z, out); });
  expect_untouched<dom>(out, "latent::sde_perturb: t = -0.5 is out of range [0, 1]",
                        [&] { latent::sde_perturb(vp, x, -0.5, z, out); });
  expect_untouched<inv>(out, "latent::sde_prior_sample: noise is 3 x 3 but out is 3 x 4",
                        [&] { latent::sde_prior_sample(vp, A<S>(3, 3), out); });
}

TEMPLATE_TEST_CASE("strong guarantee: samplers and loops leave x untouched on bad arguments",
                   "[reliability][strong][loops]", float, double) {
  using S = TestType;
  A<S> x(2, 3);
  latent::philox4x32 eng(11);
  const auto den = [](const A<S>& xx, double sigma, A<S>& out) { out = xx / S(1 + sigma * sigma); };
  Eigen::ArrayXd bad(3);
  bad << 10.0, 20.0, 0.0;  // not decreasing
  Eigen::ArrayXd ok = latent::sigmas_karras(5, 0.01, 10.0);
  const std::string msg = "sigmas[1] = 20 is not below sigmas[0] = 10";
  expect_untouched<std::domain_error>(x, msg, [&] { latent::sample_euler(den, x, bad); });
  expect_untouched<std::domain_error>(x, msg, [&] { latent::sample_euler(den, x, bad, latent::churn_options{}, eng); });
  expect_untouched<std::domain_error>(x, msg, [&] { latent::sample_euler_ancestral(den, x, bad, eng); });
  expect_untouched<std::domain_error>(x, msg, [&] { latent::sample_heun(den, x, bad); });
  expect_untouched<std::domain_error>(x, msg, [&] { latent::sample_dpmpp_2m(den, x, bad); });
  expect_untouched<std::domain_error>(x, "latent::sample_euler_ancestral: eta is -1",
                                      [&] { latent::sample_euler_ancestral(den, x, ok, -1.0, 1.0, eng); });
  latent::churn_options ch;
  ch.s_churn = -1;
  expect_untouched<std::domain_error>(x, "latent::churn_gamma: s_churn is -1",
                                      [&] { latent::sample_heun(den, x, ok, ch, eng); });
  Eigen::ArrayXd one(1);
  one << 1.0;
  expect_untouched<std::invalid_argument>(x, "latent::sample_euler: sigmas has 1 elements, but must have at least 2",
                                          [&] { latent::sample_euler(den, x, one); });
  const auto score = [](const A<S>& xx, A<S>& out) { out = -xx; };
  const auto nscore = [](const A<S>& xx, double sigma, A<S>& out) { out = -xx / S(1 + sigma * sigma); };
  expect_untouched<std::domain_error>(x, "latent::langevin_dynamics: tau is -0.1",
                                      [&] { latent::langevin_dynamics(score, x, -0.1, 10, eng); });
  expect_untouched<std::domain_error>(x, "latent::langevin_dynamics: steps = -1 is out of range",
                                      [&] { latent::langevin_dynamics(score, x, 0.1, -1, eng); });
  Eigen::ArrayXd up(2);
  up << 1.0, 2.0;
  expect_untouched<std::domain_error>(x, "latent::annealed_langevin: sigmas[1] = 2 is not below the previous level",
                                      [&] { latent::annealed_langevin(nscore, x, up, 1e-3, 5, true, eng); });
  latent::pc_options po;
  po.steps = 0;
  expect_untouched<std::domain_error>(x, "latent::pc_sample: steps = 0 is out of range",
                                      [&] { latent::pc_sample(latent::vp_sde{}, nscore, x, po, eng); });
  // A failed call draws no noise: the engine is where it was.
  CHECK(eng.offset() == 0);
}

// Bug B6 (/work/notes/bugs.md): mala_accept validates uniform[j] inside its loop, after
// earlier columns were accepted and written. Hidden until fixed.
TEMPLATE_TEST_CASE("strong guarantee: mala_accept with a bad uniform leaves the chains untouched",
                   "[reliability][strong][langevin][B6]", float, double) {
  using S = TestType;
  A<S> x = A<S>::Zero(1, 2), sc = A<S>::Zero(1, 2);
  Eigen::Array<S, 1, Eigen::Dynamic> lp = Eigen::Array<S, 1, Eigen::Dynamic>::Zero(2);
  const A<S> y = A<S>::Constant(1, 2, S(0.1)), sy = A<S>::Zero(1, 2);
  const Eigen::Array<S, 1, Eigen::Dynamic> lpy = Eigen::Array<S, 1, Eigen::Dynamic>::Constant(2, S(5));
  Eigen::Array<S, 1, Eigen::Dynamic> u(2);
  u << S(0.5), S(2.0);
  Eigen::Array<bool, 1, Eigen::Dynamic> acc;
  const A<S> x0 = x;
  CHECK_THROWS_WITH(latent::mala_accept(x, lp, sc, y, lpy, sy, 0.1, u, acc),
                    Catch::Contains("latent::mala_accept: uniform[1] is 2, but must be in (0, 1]"));
  CHECK(same_bits(x, x0));
  CHECK((lp == S(0)).all());
}

TEMPLATE_TEST_CASE("strong guarantee: VQ lookup into caller buffers", "[reliability][strong][vq]",
                   float, double) {
  using S = TestType;
  using M = Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic>;
  M e = ramp<S>(3, 5).matrix(), z = ramp<S>(3, 4, 0.7).matrix();
  Eigen::Matrix<Eigen::Index, 1, Eigen::Dynamic> idx = Eigen::Matrix<Eigen::Index, 1, Eigen::Dynamic>::Constant(4, -3);
  M q = M::Constant(3, 4, S(-2));
  Eigen::Matrix<S, 1, Eigen::Dynamic> dist = Eigen::Matrix<S, 1, Eigen::Dynamic>::Constant(4, S(-2));
  latent::vq_workspace<S> ws;
  const auto idx0 = idx;
  const M q0 = q;
  const auto d0 = dist;
  z(2, 3) = std::numeric_limits<S>::quiet_NaN();  // found by the norm check, after nothing is written
  CHECK_THROWS_AS(latent::quantize_into(z, e, idx, q, dist, ws), std::domain_error);
  CHECK_THROWS_WITH(latent::quantize_into(z, e, idx, q, dist, ws),
                    Catch::Contains("latent::quantize_into: the squared norm of z column 3 is nan"));
  CHECK((idx == idx0));
  CHECK(same_bits(q, q0));
  CHECK(same_bits(dist, d0));
  z(2, 3) = S(0);
  CHECK_THROWS_WITH(latent::quantize_into(z, M(M::Zero(2, 5)), idx, q, dist, ws),
                    Catch::Contains("latent::quantize_into: z has 3 rows (D) but codebook has 2"));
  CHECK_THROWS_WITH(latent::nearest_codes_into(z, e, Eigen::Matrix<int, 1, Eigen::Dynamic>(5), ws),
                    Catch::Contains("latent::nearest_codes_into: indices has 5 elements, but must have 4"));
  CHECK((idx == idx0));
  CHECK(same_bits(q, q0));
}
