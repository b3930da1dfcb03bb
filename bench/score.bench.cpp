// Score-side steps (docs/score.md): one step on a 4 x (n / 4) batch through the public API.
//
//   langevin_step/<T>/<n>:         latent::langevin_step, out = x + tau s + sqrt(2 tau) z,
//                                  z fresh from the philox engine (fused)
//   langevin_step_noise/<T>/<n>:   the same with z given (arithmetic only: 3 reads, 1 write)
//   euler_ancestral_step/<T>/<n>:  latent::euler_ancestral_step, out = a x + (1 - a) D + up z,
//                                  z fresh from the engine (fused)
//   euler_ancestral_noise/<T>/<n>: the same with z given
//   langevin_step_loop/<T>/<n>:    the Langevin arithmetic as a plain C++ loop with
//                                  std::normal_distribution (the DESIGN.md "plain loop" peer)
// The eager-torch peer (one thread) is bench/peers_score.py, same op names.
// Sizes: 4K, 16K (a 4x64x64 latent), 1M, 16M elements. Counters: ns_per_elem, items_per_second
// (one item per element) and bytes_per_second (x and s or D read, out written).
#include <benchmark/benchmark.h>

#include <cmath>
#include <random>

#include <Eigen/Core>

#include "bench_common.hpp"
#include "latent/random/philox.hpp"
#include "latent/score/langevin.hpp"
#include "latent/score/samplers.hpp"

namespace {

template <class T>
void langevin_step(benchmark::State& state) {
  using A = Eigen::Array<T, Eigen::Dynamic, Eigen::Dynamic>;
  const auto n = static_cast<Eigen::Index>(state.range(0));
  A x = A::Random(4, n / 4), s = A::Random(4, n / 4), out(4, n / 4);
  latent::philox4x32 engine(42);
  for (auto _ : state) {
    latent::langevin_step(x, s, 0.01, out, engine);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  bench::set_element_counters<T>(state, n, 3);
}

template <class T>
void langevin_step_noise(benchmark::State& state) {
  using A = Eigen::Array<T, Eigen::Dynamic, Eigen::Dynamic>;
  const auto n = static_cast<Eigen::Index>(state.range(0));
  A x = A::Random(4, n / 4), s = A::Random(4, n / 4), z = A::Random(4, n / 4), out(4, n / 4);
  for (auto _ : state) {
    latent::langevin_step(x, s, 0.01, z, out);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  bench::set_element_counters<T>(state, n, 3);
}

template <class T>
void euler_ancestral_step(benchmark::State& state) {
  using A = Eigen::Array<T, Eigen::Dynamic, Eigen::Dynamic>;
  const auto n = static_cast<Eigen::Index>(state.range(0));
  A x = A::Random(4, n / 4), d = A::Random(4, n / 4), out(4, n / 4);
  latent::philox4x32 engine(42);
  for (auto _ : state) {
    latent::euler_ancestral_step(x, d, 1.5, 1.2, out, engine);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  bench::set_element_counters<T>(state, n, 3);
}

template <class T>
void euler_ancestral_noise(benchmark::State& state) {
  using A = Eigen::Array<T, Eigen::Dynamic, Eigen::Dynamic>;
  const auto n = static_cast<Eigen::Index>(state.range(0));
  A x = A::Random(4, n / 4), d = A::Random(4, n / 4), z = A::Random(4, n / 4), out(4, n / 4);
  for (auto _ : state) {
    latent::euler_ancestral_step(x, d, 1.5, 1.2, z, out);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  bench::set_element_counters<T>(state, n, 3);
}

template <class T>
void langevin_step_loop(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  std::vector<T> x(n, T(0.5)), s(n, T(-0.25)), out(n);
  std::mt19937 gen(42);
  std::normal_distribution<T> normal;
  const T tau = T(0.01), c = std::sqrt(T(2) * tau);
  for (auto _ : state) {
    for (std::size_t i = 0; i < n; ++i) out[i] = x[i] + tau * s[i] + c * normal(gen);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  bench::set_element_counters<T>(state, static_cast<Eigen::Index>(n), 3);
}

void sizes(benchmark::internal::Benchmark* b) {
  for (int64_t n : {int64_t(1) << 12, int64_t(1) << 14, int64_t(1) << 20, int64_t(1) << 24}) b->Arg(n);
  b->Unit(benchmark::kMicrosecond);
}

}  // namespace

BENCHMARK_TEMPLATE(langevin_step, float)->Name("langevin_step/float")->Apply(sizes);
BENCHMARK_TEMPLATE(langevin_step, double)->Name("langevin_step/double")->Apply(sizes);
BENCHMARK_TEMPLATE(langevin_step_noise, float)->Name("langevin_step_noise/float")->Apply(sizes);
BENCHMARK_TEMPLATE(langevin_step_noise, double)->Name("langevin_step_noise/double")->Apply(sizes);
BENCHMARK_TEMPLATE(euler_ancestral_step, float)->Name("euler_ancestral_step/float")->Apply(sizes);
BENCHMARK_TEMPLATE(euler_ancestral_step, double)->Name("euler_ancestral_step/double")->Apply(sizes);
BENCHMARK_TEMPLATE(euler_ancestral_noise, float)->Name("euler_ancestral_noise/float")->Apply(sizes);
BENCHMARK_TEMPLATE(euler_ancestral_noise, double)->Name("euler_ancestral_noise/double")->Apply(sizes);
BENCHMARK_TEMPLATE(langevin_step_loop, float)->Name("langevin_step_loop/float")->Apply(sizes);
BENCHMARK_TEMPLATE(langevin_step_loop, double)->Name("langevin_step_loop/double")->Apply(sizes);

BENCHMARK_MAIN();
