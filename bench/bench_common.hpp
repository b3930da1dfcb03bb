// bench/bench_common.hpp: counters shared by latent's benchmarks (bench/README.md).
#pragma once

#include <benchmark/benchmark.h>

#include <Eigen/Core>
#include <cstdint>

namespace bench {

/// One item per element (tools/bench_report.py reads ns per element as 1e9 / items_per_second)
/// and the bytes the operation must move: `arrays` arrays of n elements of T.
template <class T>
inline void set_element_counters(benchmark::State& state, Eigen::Index n, int arrays) {
  state.SetItemsProcessed(state.iterations() * n);
  state.SetBytesProcessed(state.iterations() * n * arrays * static_cast<std::int64_t>(sizeof(T)));
}

}  // namespace bench
