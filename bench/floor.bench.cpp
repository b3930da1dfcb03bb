// Memory-bandwidth floors measured in the same run as latent's kernels (docs/performance.md).
//
//   floor_read2/<T>/<n>:  s += b[i] * c[i]     reads 2 arrays (the bytes of a KL or log_prob
//                                             reduction over mu and log_var)
//   floor_read3/<T>/<n>:  s += (a[i] + b[i]) * c[i]  reads 3 arrays (the bytes of a diagonal
//                                             Gaussian log_prob over x, mu and log_var)
//   floor_triad/<T>/<n>:  a[i] = b[i] + s c[i] reads 2 arrays, writes 1 (the bytes of a
//                                             DDPM/DDIM/Langevin step: x and model output in,
//                                             x_prev out)
//   floor_read1_write1/<T>/<n>: a[i] = s b[i]  (the bytes of a noise fill plus one input)
// Counters: items_per_second (ns per element = 1e9 / items_per_second) and bytes_per_second. Sizes: 4K (L1), 1M (L2/L3), 16M (DRAM).
#include <benchmark/benchmark.h>

#include <Eigen/Core>

#include "bench_common.hpp"

namespace {

template <class T>
void floor_read2(benchmark::State& state) {
  const auto n = static_cast<Eigen::Index>(state.range(0));
  using A = Eigen::Array<T, Eigen::Dynamic, 1>;
  A b = A::Random(n), c = A::Random(n);
  for (auto _ : state) {
    T s = (b * c).sum();
    benchmark::DoNotOptimize(s);
    benchmark::ClobberMemory();
  }
  bench::set_element_counters<T>(state, n, 2);
}

template <class T>
void floor_read3(benchmark::State& state) {
  const auto n = static_cast<Eigen::Index>(state.range(0));
  using A = Eigen::Array<T, Eigen::Dynamic, 1>;
  A a = A::Random(n), b = A::Random(n), c = A::Random(n);
  for (auto _ : state) {
    T s = ((a + b) * c).sum();
    benchmark::DoNotOptimize(s);
    benchmark::ClobberMemory();
  }
  bench::set_element_counters<T>(state, n, 3);
}

template <class T>
void floor_triad(benchmark::State& state) {
  const auto n = static_cast<Eigen::Index>(state.range(0));
  using A = Eigen::Array<T, Eigen::Dynamic, 1>;
  A a(n), b = A::Random(n), c = A::Random(n);
  const T s = T(0.5);
  for (auto _ : state) {
    a = b + s * c;
    benchmark::DoNotOptimize(a.data());
    benchmark::ClobberMemory();
  }
  bench::set_element_counters<T>(state, n, 3);
}

template <class T>
void floor_read1_write1(benchmark::State& state) {
  const auto n = static_cast<Eigen::Index>(state.range(0));
  using A = Eigen::Array<T, Eigen::Dynamic, 1>;
  A a(n), b = A::Random(n);
  const T s = T(0.5);
  for (auto _ : state) {
    a = s * b;
    benchmark::DoNotOptimize(a.data());
    benchmark::ClobberMemory();
  }
  bench::set_element_counters<T>(state, n, 2);
}

void sizes(benchmark::internal::Benchmark* b) {
  b->Arg(4096)->Arg(16384)->Arg(1 << 20)->Arg(1 << 24)->Unit(benchmark::kMicrosecond);
}

}  // namespace

BENCHMARK_TEMPLATE(floor_read2, float)->Name("floor_read2/float")->Apply(sizes);
BENCHMARK_TEMPLATE(floor_read2, double)->Name("floor_read2/double")->Apply(sizes);
BENCHMARK_TEMPLATE(floor_read3, float)->Name("floor_read3/float")->Apply(sizes);
BENCHMARK_TEMPLATE(floor_read3, double)->Name("floor_read3/double")->Apply(sizes);
BENCHMARK_TEMPLATE(floor_triad, float)->Name("floor_triad/float")->Apply(sizes);
BENCHMARK_TEMPLATE(floor_triad, double)->Name("floor_triad/double")->Apply(sizes);
BENCHMARK_TEMPLATE(floor_read1_write1, float)->Name("floor_read1_write1/float")->Apply(sizes);
BENCHMARK_TEMPLATE(floor_read1_write1, double)->Name("floor_read1_write1/double")->Apply(sizes);

BENCHMARK_MAIN();
