// Benchmarks of latent/random: normals and uniforms per element, the fused reparameterized
// sample, and the std::normal_distribution + std::mt19937_64 peer, all in one binary.
// torch.randn (one thread) is measured by bench/peers_random.py.
#include <benchmark/benchmark.h>

#include <random>

#include <Eigen/Core>

#include "latent/random/noise.hpp"

namespace {

void set_counters(benchmark::State& state, std::int64_t n, std::size_t bytes_per_elem) {
  state.SetItemsProcessed(state.iterations() * n);
  state.SetBytesProcessed(state.iterations() * n * static_cast<std::int64_t>(bytes_per_elem));
  state.counters["ns_per_elem"] = benchmark::Counter(
      static_cast<double>(state.iterations() * n), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

// out = randn<...>(n, engine): the expression assigned through Eigen (cached chunks).
template <class T>
void BM_randn_expr(benchmark::State& state) {
  const auto n = static_cast<Eigen::Index>(state.range(0));
  Eigen::Array<T, Eigen::Dynamic, 1> out(n);
  latent::philox4x32 e(1);
  for (auto _ : state) {
    out = latent::randn<Eigen::Array<T, Eigen::Dynamic, 1>>(n, e);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  set_counters(state, n, sizeof(T));
}

// fill_randn(out, engine): chunks written straight into the output.
template <class T>
void BM_fill_randn(benchmark::State& state) {
  const auto n = static_cast<Eigen::Index>(state.range(0));
  Eigen::Array<T, Eigen::Dynamic, 1> out(n);
  latent::philox4x32 e(1);
  for (auto _ : state) {
    latent::fill_randn(out, e);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  set_counters(state, n, sizeof(T));
}

template <class T>
void BM_fill_rand_uniform(benchmark::State& state) {
  const auto n = static_cast<Eigen::Index>(state.range(0));
  Eigen::Array<T, Eigen::Dynamic, 1> out(n);
  latent::philox4x32 e(1);
  for (auto _ : state) {
    latent::fill_rand_uniform(out, e);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  set_counters(state, n, sizeof(T));
}

// z = mu + exp(log_var / 2) * eps in one fused loop (mu, log_var read; z written).
template <class T>
void BM_rsample_fused(benchmark::State& state) {
  const auto n = static_cast<Eigen::Index>(state.range(0));
  using A = Eigen::Array<T, Eigen::Dynamic, 1>;
  const A mu = A::Random(n), log_var = A::Random(n);
  A z(n);
  latent::philox4x32 e(1);
  for (auto _ : state) {
    z = mu + (T(0.5) * log_var).exp() * latent::randn_like(mu, e);
    benchmark::DoNotOptimize(z.data());
    benchmark::ClobberMemory();
  }
  set_counters(state, n, 3 * sizeof(T));
}

// Peer: the standard library's normal distribution on a Mersenne twister.
template <class T>
void BM_std_normal_mt19937_64(benchmark::State& state) {
  const auto n = static_cast<Eigen::Index>(state.range(0));
  Eigen::Array<T, Eigen::Dynamic, 1> out(n);
  std::mt19937_64 gen(1);
  std::normal_distribution<T> dist;
  for (auto _ : state) {
    for (Eigen::Index i = 0; i < n; ++i) out[i] = dist(gen);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  set_counters(state, n, sizeof(T));
}

// Peer: the fused sample with the std:: normals drawn into a buffer first.
template <class T>
void BM_rsample_std(benchmark::State& state) {
  const auto n = static_cast<Eigen::Index>(state.range(0));
  using A = Eigen::Array<T, Eigen::Dynamic, 1>;
  const A mu = A::Random(n), log_var = A::Random(n);
  A z(n), eps(n);
  std::mt19937_64 gen(1);
  std::normal_distribution<T> dist;
  for (auto _ : state) {
    for (Eigen::Index i = 0; i < n; ++i) eps[i] = dist(gen);
    z = mu + (T(0.5) * log_var).exp() * eps;
    benchmark::DoNotOptimize(z.data());
    benchmark::ClobberMemory();
  }
  set_counters(state, n, 3 * sizeof(T));
}

// 4K (L1), 16K (a 4x64x64 latent, the size of the score and diffusion steps), 1M (L2/L3),
// 16M (DRAM) elements.
void sizes(benchmark::internal::Benchmark* b) {
  b->Arg(4096)->Arg(16384)->Arg(1 << 20)->Arg(16 << 20)->Unit(benchmark::kMicrosecond);
}

}  // namespace

// Names follow bench/README.md: <op>/<dtype>/<n>, one item per element (tools/bench_report.py).
BENCHMARK_TEMPLATE(BM_randn_expr, float)->Name("randn/float")->Apply(sizes);
BENCHMARK_TEMPLATE(BM_randn_expr, double)->Name("randn/double")->Apply(sizes);
BENCHMARK_TEMPLATE(BM_fill_randn, float)->Name("fill_randn/float")->Apply(sizes);
BENCHMARK_TEMPLATE(BM_fill_randn, double)->Name("fill_randn/double")->Apply(sizes);
BENCHMARK_TEMPLATE(BM_fill_rand_uniform, float)->Name("rand_uniform/float")->Apply(sizes);
BENCHMARK_TEMPLATE(BM_fill_rand_uniform, double)->Name("rand_uniform/double")->Apply(sizes);
BENCHMARK_TEMPLATE(BM_rsample_fused, float)->Name("rsample/float")->Apply(sizes);
BENCHMARK_TEMPLATE(BM_rsample_fused, double)->Name("rsample/double")->Apply(sizes);
BENCHMARK_TEMPLATE(BM_std_normal_mt19937_64, float)->Name("std_normal_mt19937/float")->Apply(sizes);
BENCHMARK_TEMPLATE(BM_std_normal_mt19937_64, double)->Name("std_normal_mt19937/double")->Apply(sizes);
BENCHMARK_TEMPLATE(BM_rsample_std, float)->Name("rsample_std_mt19937/float")->Apply(sizes);
BENCHMARK_TEMPLATE(BM_rsample_std, double)->Name("rsample_std_mt19937/double")->Apply(sizes);

BENCHMARK_MAIN();
