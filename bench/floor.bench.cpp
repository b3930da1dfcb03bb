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
//   simd_fma_rate/<T>:    the machine's vector multiply-add throughput: 12 independent chains
//                         of a = a * m + c on Eigen's widest packet, held in registers. Items
//                         are lanes, so 1e9 / items_per_second is ns per lane multiply-add.
//                         Not a floor of any op: it tells how wide the vector units really are
//                         (a core that runs 512-bit operations as two 256-bit halves, such as
//                         AMD Zen 4, shows half the lanes per ns of one with full 512-bit units,
//                         such as Zen 5), which the noise kernels, bound by vector arithmetic
//                         and not by memory, follow (docs/performance_notes.md).
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

template <class T>
void simd_fma_rate(benchmark::State& state) {
  using Packet = typename Eigen::internal::packet_traits<T>::type;
  constexpr int P = Eigen::internal::packet_traits<T>::size;
  constexpr int chains = 12;  // more than latency x throughput of any current core's FMA units
  constexpr int inner = 256;
  Packet a[chains];
  for (int k = 0; k < chains; ++k) a[k] = Eigen::internal::pset1<Packet>(T(1) + T(k) / T(64));
  const Packet m = Eigen::internal::pset1<Packet>(T(0.999)), c = Eigen::internal::pset1<Packet>(T(0.001));
  for (auto _ : state) {
    for (int i = 0; i < inner; ++i) {
#pragma GCC unroll 12
      for (int k = 0; k < chains; ++k) a[k] = Eigen::internal::pmadd(a[k], m, c);
    }
    // The chains stay in registers inside the loop; once per iteration they are made visible.
    for (int k = 0; k < chains; ++k) benchmark::DoNotOptimize(a[k]);
  }
  state.SetItemsProcessed(state.iterations() * inner * chains * P);
  state.counters["lanes"] = P;
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

BENCHMARK_TEMPLATE(simd_fma_rate, float)->Name("simd_fma_rate/float");
BENCHMARK_TEMPLATE(simd_fma_rate, double)->Name("simd_fma_rate/double");

BENCHMARK_MAIN();
