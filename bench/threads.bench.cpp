// Thread scaling of latent's optional OpenMP paths at 16M elements (issue 9.4). This one
// binary is compiled with OpenMP when CMake finds it (bench/CMakeLists.txt); the results are
// bit-identical for any thread count (tests/core/parallel.test.cpp, tests/random/noise.test.cpp).
//
//   fill_randn_<k>t/<T>/<n>:  latent::fill_randn(out, engine) with omp_set_num_threads(k)
//   ddpm_assign_<k>t/<T>/<n>: a DDPM-like fused step with fresh noise through latent::assign,
//                             out = c1 x + c2 eps + sigma randn_like(x), on a 4 x (n / 4) batch,
//                             with k threads
// k = 1 and 2. Times are wall-clock (UseRealTime: the work of the other threads must count),
// best of the repetitions (tools/bench_report.py keeps the fastest repetition), since the
// machine may be shared. items_per_second counts one item per element.
#include <benchmark/benchmark.h>

#include <Eigen/Core>

#include "latent/core/parallel.hpp"
#include "latent/random/noise.hpp"
#include "latent/random/philox.hpp"

#if defined(_OPENMP)
#include <omp.h>
#endif

namespace {

bool set_threads(benchmark::State& state, int threads) {
#if defined(_OPENMP)
  (void)state;
  omp_set_num_threads(threads);
  return true;
#else
  if (threads == 1) return true;
  state.SkipWithError("bench_threads was built without OpenMP");
  return false;
#endif
}

template <class T, int Threads>
void fill_randn_threads(benchmark::State& state) {
  if (!set_threads(state, Threads)) return;
  const auto n = static_cast<Eigen::Index>(state.range(0));
  Eigen::Array<T, Eigen::Dynamic, 1> out(n);
  latent::philox4x32 e(1);
  for (auto _ : state) {
    latent::fill_randn(out, e);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * n);
  state.SetBytesProcessed(state.iterations() * n * static_cast<int64_t>(sizeof(T)));
}

template <class T, int Threads>
void ddpm_assign_threads(benchmark::State& state) {
  if (!set_threads(state, Threads)) return;
  using A = Eigen::Array<T, Eigen::Dynamic, Eigen::Dynamic>;
  const auto n = static_cast<Eigen::Index>(state.range(0));
  const A x = A::Random(4, n / 4), eps = A::Random(4, n / 4);
  A out(4, n / 4);
  latent::philox4x32 e(42);
  // Coefficients of the linear-schedule DDPM step t = 500 -> 499 (rounded; the arithmetic,
  // not the values, is what is timed).
  const T c1 = T(1.0050), c2 = T(-0.0120), sigma = T(0.1170);
  for (auto _ : state) {
    latent::assign(out, c1 * x + c2 * eps + sigma * latent::randn_like(x, e));
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * n);
  state.SetBytesProcessed(state.iterations() * n * 3 * static_cast<int64_t>(sizeof(T)));
}

void sizes(benchmark::internal::Benchmark* b) {
  b->Arg(1 << 24)->Unit(benchmark::kMillisecond)->UseRealTime()->Repetitions(5);
}

}  // namespace

BENCHMARK_TEMPLATE(fill_randn_threads, float, 1)->Name("fill_randn_1t/float")->Apply(sizes);
BENCHMARK_TEMPLATE(fill_randn_threads, float, 2)->Name("fill_randn_2t/float")->Apply(sizes);
BENCHMARK_TEMPLATE(fill_randn_threads, double, 1)->Name("fill_randn_1t/double")->Apply(sizes);
BENCHMARK_TEMPLATE(fill_randn_threads, double, 2)->Name("fill_randn_2t/double")->Apply(sizes);
BENCHMARK_TEMPLATE(ddpm_assign_threads, float, 1)->Name("ddpm_assign_1t/float")->Apply(sizes);
BENCHMARK_TEMPLATE(ddpm_assign_threads, float, 2)->Name("ddpm_assign_2t/float")->Apply(sizes);
BENCHMARK_TEMPLATE(ddpm_assign_threads, double, 1)->Name("ddpm_assign_1t/double")->Apply(sizes);
BENCHMARK_TEMPLATE(ddpm_assign_threads, double, 2)->Name("ddpm_assign_2t/double")->Apply(sizes);

BENCHMARK_MAIN();
