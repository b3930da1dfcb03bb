// Diffusion steps (docs/diffusion.md): one reverse step of a 4 x (n / 4) latent batch with
// epsilon prediction and fresh noise from the philox engine, through the public API:
//
//   ddpm_step/<T>/<n>:  latent::ddpm_step (fixed_small variance), out = c1 x + c2 eps + sigma z
//   ddim_step/<T>/<n>:  latent::ddim_step with eta = 1 (so noise is drawn), same fused form
//   ddim_step_eta0/<T>/<n>: deterministic DDIM (no noise), out = c1 x + c2 eps
//   ddpm_step_loop/<T>/<n>: the same DDPM arithmetic as a plain C++ loop with
//                           std::normal_distribution (the DESIGN.md "plain loop" peer)
// The eager-torch peer (one thread) is bench/peers_diffusion.py, same op names.
// Sizes: 4K, 16K (a 4x64x64 latent), 1M, 16M elements. Counters: items_per_second (one item
// per element; ns per element = 1e9 / items_per_second) and bytes_per_second (x, eps read,
// out written).
#include <benchmark/benchmark.h>

#include <cmath>
#include <random>

#include <Eigen/Core>

#include "bench_common.hpp"
#include "latent/diffusion/ddim.hpp"
#include "latent/diffusion/ddpm.hpp"

namespace {

const latent::noise_schedule& schedule() {
  static const latent::noise_schedule s(latent::linear_betas(1000));
  return s;
}

template <class T>
void ddpm_step(benchmark::State& state) {
  using A = Eigen::Array<T, Eigen::Dynamic, Eigen::Dynamic>;
  const auto n = static_cast<Eigen::Index>(state.range(0));
  A x = A::Random(4, n / 4), eps = A::Random(4, n / 4), out(4, n / 4);
  latent::philox4x32 engine(42);
  const latent::ddpm_options o;
  for (auto _ : state) {
    latent::ddpm_step(schedule(), o, 500, 499, x, eps, out, engine);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  bench::set_element_counters<T>(state, n, 3);
}

template <class T>
void ddim_step(benchmark::State& state) {
  using A = Eigen::Array<T, Eigen::Dynamic, Eigen::Dynamic>;
  const auto n = static_cast<Eigen::Index>(state.range(0));
  A x = A::Random(4, n / 4), eps = A::Random(4, n / 4), out(4, n / 4);
  latent::philox4x32 engine(42);
  latent::ddim_options o;
  o.eta = 1.0;
  for (auto _ : state) {
    latent::ddim_step(schedule(), o, 500, 480, x, eps, out, engine);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  bench::set_element_counters<T>(state, n, 3);
}

template <class T>
void ddim_step_eta0(benchmark::State& state) {
  using A = Eigen::Array<T, Eigen::Dynamic, Eigen::Dynamic>;
  const auto n = static_cast<Eigen::Index>(state.range(0));
  A x = A::Random(4, n / 4), eps = A::Random(4, n / 4), out(4, n / 4);
  const latent::ddim_options o;
  for (auto _ : state) {
    latent::ddim_step(schedule(), o, 500, 480, x, eps, out);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  bench::set_element_counters<T>(state, n, 3);
}

// The same DDPM arithmetic written as a loop with std::normal_distribution.
template <class T>
void ddpm_step_loop(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  std::vector<T> x(n), eps(n), out(n);
  std::mt19937_64 gen(42);
  std::uniform_real_distribution<T> u(-1, 1);
  for (std::size_t i = 0; i < n; ++i) {
    x[i] = u(gen);
    eps[i] = u(gen);
  }
  std::normal_distribution<T> normal;
  const latent::ddpm_coeffs k = latent::ddpm_coefficients(schedule(), latent::ddpm_options{}, 500, 499);
  const T c1 = T(k.k0 * k.ax + k.kx), c2 = T(k.k0 * k.am), sigma = T(k.std);
  for (auto _ : state) {
    for (std::size_t i = 0; i < n; ++i) out[i] = c1 * x[i] + c2 * eps[i] + sigma * normal(gen);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  bench::set_element_counters<T>(state, static_cast<Eigen::Index>(n), 3);
}

void sizes(benchmark::internal::Benchmark* b) {
  b->Arg(4096)->Arg(16384)->Arg(1 << 20)->Arg(1 << 24)->Unit(benchmark::kMicrosecond);
}
void loop_sizes(benchmark::internal::Benchmark* b) {
  b->Arg(4096)->Arg(16384)->Arg(1 << 20)->Unit(benchmark::kMicrosecond);
}

}  // namespace

BENCHMARK_TEMPLATE(ddpm_step, float)->Name("ddpm_step/float")->Apply(sizes);
BENCHMARK_TEMPLATE(ddpm_step, double)->Name("ddpm_step/double")->Apply(sizes);
BENCHMARK_TEMPLATE(ddim_step, float)->Name("ddim_step/float")->Apply(sizes);
BENCHMARK_TEMPLATE(ddim_step, double)->Name("ddim_step/double")->Apply(sizes);
BENCHMARK_TEMPLATE(ddim_step_eta0, float)->Name("ddim_step_eta0/float")->Apply(sizes);
BENCHMARK_TEMPLATE(ddim_step_eta0, double)->Name("ddim_step_eta0/double")->Apply(sizes);
BENCHMARK_TEMPLATE(ddpm_step_loop, float)->Name("ddpm_step_loop/float")->Apply(loop_sizes);
BENCHMARK_TEMPLATE(ddpm_step_loop, double)->Name("ddpm_step_loop/double")->Apply(loop_sizes);

BENCHMARK_MAIN();
