// VAE-side hot paths (docs/vae.md), D x B batches with D = 64 latent dimensions, at
// 4K, 1M and 16M elements, float and double, each beside a same-run memory-bandwidth floor
// that streams exactly the same bytes with one multiply-add per element:
//
//   kl_std_normal:   latent::kl_diag_std_normal(mu, lv): 0.5 (mu^2 + e^lv - 1 - lv), colwise sum
//   floor_read2:     (a + s b).colwise().sum()        - reads the same two arrays, writes B
//   log_prob:        latent::diag_gaussian_log_prob(x, mu, lv)
//   floor_read3:     (a + s b + c).colwise().sum()    - reads the same three arrays, writes B
//   rsample:         z = latent::diag_gaussian_rsample(mu, lv, eps) into a preallocated z
//   floor_triad3:    z = a + b * c                    - reads three arrays, writes one
//   exp_eigen/<T>:   y = x.exp()                      - Eigen 3.4's vectorized exp
//   exp_fast/<T>:    y = latent::exp_fast(x)          - the exp of the three kernels above
//                    (x uniform in [-10, 10]; reads one array, writes one)
//
// Counters: ns_per_elem (time per element of the D x B input), bytes_per_second.
// Peers (torch.distributions, one thread, same shapes): bench/peers_vae.py.
// Report names (bench/README.md, docs/performance.md): kl_std_normal/<T>/<n>, log_prob/<T>/<n>,
// and rsample_noise/<T>/<n> for the given-eps rsample (the fused fresh-noise rsample is
// random.bench.cpp's rsample). items_per_second counts one item per element.
#include <benchmark/benchmark.h>

#include <cstdint>

#include <Eigen/Core>

#include "latent/distributions/diag_gaussian.hpp"
#include "latent/divergences/kl_gaussian.hpp"

namespace {

constexpr Eigen::Index kDim = 64;

template <class S>
using arr = Eigen::Array<S, Eigen::Dynamic, Eigen::Dynamic>;

template <class S>
arr<S> filled(Eigen::Index n, unsigned seed, S scale) {
  std::srand(seed);
  return arr<S>::Random(kDim, n / kDim) * scale;
}

void counters(benchmark::State& state, std::int64_t n, std::int64_t bytes_per_elem) {
  state.SetItemsProcessed(state.iterations() * n);
  state.SetBytesProcessed(state.iterations() * n * bytes_per_elem);
  state.counters["ns_per_elem"] = benchmark::Counter(
      double(n) * 1e-9, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}

template <class S>
void kl_std_normal(benchmark::State& state) {
  const Eigen::Index n = state.range(0);
  const arr<S> mu = filled<S>(n, 1, S(1)), lv = filled<S>(n, 2, S(0.5));
  latent::row_x<S> out(n / kDim);
  for (auto _ : state) {
    out = latent::kl_diag_std_normal(mu, lv);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  counters(state, n, 2 * sizeof(S));
}

template <class S>
void floor_read2(benchmark::State& state) {
  const Eigen::Index n = state.range(0);
  const arr<S> a = filled<S>(n, 1, S(1)), b = filled<S>(n, 2, S(0.5));
  latent::row_x<S> out(n / kDim);
  for (auto _ : state) {
    out = (a + S(0.5) * b).colwise().sum();
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  counters(state, n, 2 * sizeof(S));
}

template <class S>
void log_prob(benchmark::State& state) {
  const Eigen::Index n = state.range(0);
  const arr<S> x = filled<S>(n, 3, S(1)), mu = filled<S>(n, 1, S(1)), lv = filled<S>(n, 2, S(0.5));
  latent::row_x<S> out(n / kDim);
  for (auto _ : state) {
    out = latent::diag_gaussian_log_prob(x, mu, lv);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  counters(state, n, 3 * sizeof(S));
}

template <class S>
void floor_read3(benchmark::State& state) {
  const Eigen::Index n = state.range(0);
  const arr<S> a = filled<S>(n, 3, S(1)), b = filled<S>(n, 1, S(1)), c = filled<S>(n, 2, S(0.5));
  latent::row_x<S> out(n / kDim);
  for (auto _ : state) {
    out = (a + S(0.5) * b + c).colwise().sum();
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  counters(state, n, 3 * sizeof(S));
}

template <class S>
void rsample(benchmark::State& state) {
  const Eigen::Index n = state.range(0);
  const arr<S> mu = filled<S>(n, 1, S(1)), lv = filled<S>(n, 2, S(0.5)), eps = filled<S>(n, 4, S(1));
  arr<S> z(kDim, n / kDim);
  for (auto _ : state) {
    z = latent::diag_gaussian_rsample(mu, lv, eps);
    benchmark::DoNotOptimize(z.data());
    benchmark::ClobberMemory();
  }
  counters(state, n, 4 * sizeof(S));
}

template <class S>
void floor_triad3(benchmark::State& state) {
  const Eigen::Index n = state.range(0);
  const arr<S> a = filled<S>(n, 1, S(1)), b = filled<S>(n, 2, S(0.5)), c = filled<S>(n, 4, S(1));
  arr<S> z(kDim, n / kDim);
  for (auto _ : state) {
    z = a + b * c;
    benchmark::DoNotOptimize(z.data());
    benchmark::ClobberMemory();
  }
  counters(state, n, 4 * sizeof(S));
}

template <class S, bool Fast>
void exp_array(benchmark::State& state) {
  const Eigen::Index n = state.range(0);
  const arr<S> x = filled<S>(n, 5, S(10));
  arr<S> y(kDim, n / kDim);
  for (auto _ : state) {
    if constexpr (Fast) {
      y = latent::exp_fast(x);
    } else {
      y = x.exp();
    }
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  counters(state, n, 2 * sizeof(S));
}

void sizes(benchmark::internal::Benchmark* b) {
  b->Arg(4096)->Arg(1 << 20)->Arg(1 << 24);
  b->Unit(benchmark::kMicrosecond);
}

}  // namespace

BENCHMARK_TEMPLATE(kl_std_normal, float)->Name("kl_std_normal/float")->Apply(sizes);
BENCHMARK_TEMPLATE(floor_read2, float)->Apply(sizes);
BENCHMARK_TEMPLATE(kl_std_normal, double)->Name("kl_std_normal/double")->Apply(sizes);
BENCHMARK_TEMPLATE(floor_read2, double)->Apply(sizes);
BENCHMARK_TEMPLATE(log_prob, float)->Name("log_prob/float")->Apply(sizes);
BENCHMARK_TEMPLATE(floor_read3, float)->Apply(sizes);
BENCHMARK_TEMPLATE(log_prob, double)->Name("log_prob/double")->Apply(sizes);
BENCHMARK_TEMPLATE(floor_read3, double)->Apply(sizes);
BENCHMARK_TEMPLATE(rsample, float)->Name("rsample_noise/float")->Apply(sizes);
BENCHMARK_TEMPLATE(floor_triad3, float)->Apply(sizes);
BENCHMARK_TEMPLATE(rsample, double)->Name("rsample_noise/double")->Apply(sizes);
BENCHMARK_TEMPLATE(floor_triad3, double)->Apply(sizes);

BENCHMARK_TEMPLATE(exp_array, float, false)->Name("exp_eigen/float")->Apply(sizes);
BENCHMARK_TEMPLATE(exp_array, float, true)->Name("exp_fast/float")->Apply(sizes);
BENCHMARK_TEMPLATE(exp_array, double, false)->Name("exp_eigen/double")->Apply(sizes);
BENCHMARK_TEMPLATE(exp_array, double, true)->Name("exp_fast/double")->Apply(sizes);

BENCHMARK_MAIN();
