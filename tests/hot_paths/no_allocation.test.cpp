// Hot paths allocate nothing in steady state (issue 9): noise fills and noise expressions,
// DDPM / DDIM / Langevin / Euler-ancestral steps with fresh noise, fused reparameterized
// samples, and losses reduced into a caller-owned row. Sampler loops allocate their scratch
// once per call, never per step. Allocations are counted by replacing malloc
// (tests/support/alloc_counter.hpp); skipped under the sanitizers.
#include <catch2/catch.hpp>

#include <Eigen/Dense>

#include "latent/latent.hpp"
#include "support/alloc_counter.hpp"

using alloc_counter::allocations_in;

namespace {
template <class F>
void check_no_allocation(const char* what, F&& f) {
  f();  // warm up: first calls may size caller buffers
  const long n = allocations_in(f);
  INFO(what);
  if (alloc_counter::enabled) {
    CHECK(n == 0);
  } else {
    SUCCEED("allocation counting disabled in this build");
  }
}
}  // namespace

TEST_CASE("the allocation counter sees Eigen and operator new", "[hot_paths]") {
  if (!alloc_counter::enabled) return;
  CHECK(allocations_in([] {
          Eigen::ArrayXXf tmp(64, 64);
          tmp.setZero();
        }) >= 1);
  CHECK(allocations_in([] {
          int* p = new int(3);
          asm volatile("" : : "g"(p) : "memory");  // keep the allocation from being elided
          delete p;
        }) == 1);
}

TEMPLATE_TEST_CASE("steps, fills and losses allocate nothing", "[hot_paths]", float, double) {
  using S = TestType;
  using A = Eigen::Array<S, Eigen::Dynamic, Eigen::Dynamic>;
  const Eigen::Index D = 64, B = 256;
  latent::philox4x32 engine(11);
  A x = latent::randn<A>(D, B, engine), eps = latent::randn<A>(D, B, engine), out(D, B),
    mu = latent::randn<A>(D, B, engine), lv = latent::randn<A>(D, B, engine), z(D, B);
  Eigen::Array<S, 1, Eigen::Dynamic> row(B);
  const latent::noise_schedule schedule(latent::linear_betas(1000));

  check_no_allocation("fill_randn", [&] { latent::fill_randn(out, engine); });
  check_no_allocation("fill_rand_uniform", [&] { latent::fill_rand_uniform(out, engine); });
  check_no_allocation("assign randn_like", [&] { out = latent::randn_like(out, engine); });
  check_no_allocation("fused rsample", [&] {
    z = mu + (S(0.5) * lv).exp() * latent::randn_like(mu, engine);
  });
  check_no_allocation("diag_gaussian_rsample with given noise",
                      [&] { z = latent::diag_gaussian_rsample(mu, lv, eps); });
  check_no_allocation("KL to N(0, I) into a caller row", [&] {
    row = latent::kl_diag_std_normal_elementwise(mu, lv).colwise().sum();
  });
  check_no_allocation("diagonal log_prob into a caller row", [&] {
    row = latent::diag_gaussian_log_prob_elementwise(z, mu, lv).colwise().sum();
  });
  check_no_allocation("ddpm_step, engine", [&] {
    latent::ddpm_step(schedule, latent::ddpm_options{}, 500, 499, x, eps, out, engine);
  });
  check_no_allocation("ddpm_step, given noise", [&] {
    latent::ddpm_step(schedule, latent::ddpm_options{}, 500, 480, x, eps, out, z);
  });
  check_no_allocation("ddpm_step in place", [&] {
    latent::ddpm_step(schedule, latent::ddpm_options{}, 10, 9, out, eps, out, engine);
  });
  latent::ddim_options eta1;
  eta1.eta = 1.0;
  check_no_allocation("ddim_step, eta = 1, engine", [&] {
    latent::ddim_step(schedule, eta1, 500, 480, x, eps, out, engine);
  });
  check_no_allocation("ddim_step, eta = 0", [&] {
    latent::ddim_step(schedule, latent::ddim_options{}, 500, 480, x, eps, out);
  });
  check_no_allocation("langevin_step, engine",
                      [&] { latent::langevin_step(x, eps, 0.01, out, engine); });
  check_no_allocation("euler_ancestral_step, engine",
                      [&] { latent::euler_ancestral_step(x, eps, 2.0, 1.5, out, engine); });
  check_no_allocation("euler_step", [&] { latent::euler_step(x, eps, 2.0, 1.5, out); });
}

TEST_CASE("sampler loops allocate per call, not per step", "[hot_paths]") {
  using A = Eigen::ArrayXXf;
  const Eigen::Index D = 8, B = 32;
  latent::philox4x32 engine(5);
  A x(D, B);
  // A linear denoiser D(x, sigma) = x / (1 + sigma^2) (exact for N(0, I) data).
  auto denoiser = [](const A& xs, double sigma, A& d) { d = xs / float(1.0 + sigma * sigma); };
  auto count = [&](Eigen::Index steps, auto&& sampler) {
    const Eigen::ArrayXd sigmas = latent::sigmas_karras(steps, 0.01, 10.0);
    x = latent::randn_like(x, engine) * 10.0f;
    return allocations_in([&] { sampler(x, sigmas); });
  };
  if (!alloc_counter::enabled) return;
  auto euler = [&](A& xs, const Eigen::ArrayXd& s) { latent::sample_euler(denoiser, xs, s); };
  auto heun = [&](A& xs, const Eigen::ArrayXd& s) { latent::sample_heun(denoiser, xs, s); };
  auto dpm = [&](A& xs, const Eigen::ArrayXd& s) { latent::sample_dpmpp_2m(denoiser, xs, s); };
  auto anc = [&](A& xs, const Eigen::ArrayXd& s) {
    latent::sample_euler_ancestral(denoiser, xs, s, engine);
  };
  CHECK(count(10, euler) == count(80, euler));
  CHECK(count(10, heun) == count(80, heun));
  CHECK(count(10, dpm) == count(80, dpm));
  CHECK(count(10, anc) == count(80, anc));
}
