// Vector quantization benchmarks (docs/vq.md). Peers: bench/peers_vq.py (torch cdist + argmin
// and the addmm expansion + argmin with one thread, numpy), run in the same session.
//
//   vq_quantize/<T>/B/D/K       quantize_into with a reused workspace (steady state, no
//                               allocation): indices + quantized vectors + distances
//   vq_full_distances/<T>/B/D/K the whole K x B clamped distance matrix (squared_distances) and
//                               a column argmin: what cdist + argmin does, in Eigen
//   vq_brute_loop/<T>/B/D/K     a plain C++ double loop over codes and coordinates
//   vq_ema_update/<T>/n         EMA codebook step for a batch of n = B * D elements (D = 64,
//                               K = 512)
//   vq_loss/<T>/n               codebook + commitment loss rows for n = B * D elements
//   vq_lookup/<float|double>/<n> the report's op (docs/performance.md, bench/README.md):
//                               quantize_into (indices + quantized vectors, reused workspace)
//                               of a D x B batch, D = 64, K = 512, n = B * D elements; one item
//                               per element. Peer: bench/peers_vq.py --json (same op name).
// Counters: ns_per_sample (one column of z against all K codes), ns_per_pair (per z-code
// pair), GFLOPs (2 B K D flops of the cross term), and items (elements) per second.
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdint>
#include <random>

#include <Eigen/Dense>

#include "latent/quantize/ema.hpp"
#include "latent/quantize/losses.hpp"
#include "latent/quantize/nearest.hpp"

namespace {

template <class T>
using mat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>;

template <class T>
mat<T> gaussian(Eigen::Index r, Eigen::Index c, std::uint64_t seed) {
  std::mt19937_64 gen(seed);
  std::normal_distribution<double> nd;
  mat<T> m(r, c);
  for (Eigen::Index i = 0; i < m.size(); ++i) m.data()[i] = T(nd(gen));
  return m;
}

void set_pair_counters(benchmark::State& state, Eigen::Index b, Eigen::Index d, Eigen::Index k) {
  const double it = double(state.iterations());
  state.counters["ns_per_sample"] = benchmark::Counter(
      it * double(b) * 1e-9, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.counters["ns_per_pair"] = benchmark::Counter(
      it * double(b) * double(k) * 1e-9, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.counters["GFLOPs"] = benchmark::Counter(it * 2.0 * double(b) * double(k) * double(d) * 1e-9,
                                                benchmark::Counter::kIsRate);
  state.SetItemsProcessed(state.iterations() * b);
}

template <class T>
void vq_quantize(benchmark::State& state) {
  const Eigen::Index b = state.range(0), d = state.range(1), k = state.range(2);
  const mat<T> z = gaussian<T>(d, b, 1);
  const mat<T> e = gaussian<T>(d, k, 2);
  latent::vq_workspace<T> ws;
  latent::index_row idx(b);
  mat<T> q(d, b);
  Eigen::Array<T, 1, Eigen::Dynamic> dist(b);
  for (auto _ : state) {
    latent::quantize_into(z, e, idx, q, dist, ws);
    benchmark::DoNotOptimize(idx.data());
    benchmark::DoNotOptimize(q.data());
    benchmark::ClobberMemory();
  }
  state.counters["near_tie_blocks"] = double(ws.near_tie_blocks);
  set_pair_counters(state, b, d, k);
}

template <class T>
void vq_full_distances(benchmark::State& state) {
  const Eigen::Index b = state.range(0), d = state.range(1), k = state.range(2);
  const mat<T> z = gaussian<T>(d, b, 1);
  const mat<T> e = gaussian<T>(d, k, 2);
  latent::index_row idx(b);
  for (auto _ : state) {
    const mat<T> dd = latent::squared_distances(z, e);
    for (Eigen::Index j = 0; j < b; ++j) dd.col(j).minCoeff(&idx[j]);
    benchmark::DoNotOptimize(idx.data());
    benchmark::ClobberMemory();
  }
  set_pair_counters(state, b, d, k);
}

template <class T>
void vq_brute_loop(benchmark::State& state) {
  const Eigen::Index b = state.range(0), d = state.range(1), k = state.range(2);
  const mat<T> z = gaussian<T>(d, b, 1);
  const mat<T> e = gaussian<T>(d, k, 2);
  latent::index_row idx(b);
  for (auto _ : state) {
    for (Eigen::Index j = 0; j < b; ++j) {
      const T* zc = z.col(j).data();
      T best = T(0);
      Eigen::Index bi = -1;
      for (Eigen::Index c = 0; c < k; ++c) {
        const T* ec = e.col(c).data();
        T acc = T(0);
        for (Eigen::Index i = 0; i < d; ++i) {
          const T diff = zc[i] - ec[i];
          acc += diff * diff;
        }
        if (bi < 0 || acc < best) {
          best = acc;
          bi = c;
        }
      }
      idx[j] = bi;
    }
    benchmark::DoNotOptimize(idx.data());
    benchmark::ClobberMemory();
  }
  set_pair_counters(state, b, d, k);
}

template <class T>
void vq_ema_update(benchmark::State& state) {
  const Eigen::Index n = state.range(0), d = 64, k = 512, b = n / d;
  const mat<T> z = gaussian<T>(d, b, 3);
  mat<T> e = gaussian<T>(d, k, 4);
  latent::index_row idx(b);
  for (Eigen::Index j = 0; j < b; ++j) idx[j] = (j * 7919) % k;
  auto st = latent::make_vq_ema_state(e);
  for (auto _ : state) {
    latent::vq_ema_update(st, z, idx, e);
    benchmark::DoNotOptimize(e.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * n);
  state.SetBytesProcessed(state.iterations() * n * Eigen::Index(sizeof(T)));
}

template <class T>
void vq_loss(benchmark::State& state) {
  const Eigen::Index n = state.range(0), d = 64, b = n / d;
  const mat<T> z = gaussian<T>(d, b, 5);
  const mat<T> q = gaussian<T>(d, b, 6);
  Eigen::Array<T, 1, Eigen::Dynamic> out(b);
  for (auto _ : state) {
    out = latent::vq_loss(z, q, T(0.25));
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * n);
  state.SetBytesProcessed(state.iterations() * n * 2 * Eigen::Index(sizeof(T)));
}

// The report's op: per element of the D x B input, D = 64, K = 512 (a VQ-VAE-sized codebook).
template <class T>
void vq_lookup(benchmark::State& state) {
  const Eigen::Index n = state.range(0), d = 64, k = 512, b = n / d;
  const mat<T> z = gaussian<T>(d, b, 1);
  const mat<T> e = gaussian<T>(d, k, 2);
  latent::vq_workspace<T> ws;
  latent::index_row idx(b);
  mat<T> q(d, b);
  for (auto _ : state) {
    latent::quantize_into(z, e, idx, q, ws);
    benchmark::DoNotOptimize(idx.data());
    benchmark::DoNotOptimize(q.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * n);
  state.SetBytesProcessed(state.iterations() * n * 2 * Eigen::Index(sizeof(T)));
}

void issue_sizes(benchmark::internal::Benchmark* bm) {
  bm->Args({64, 64, 64})->Args({4096, 64, 512})->Args({4096, 64, 8192});
  bm->Unit(benchmark::kMillisecond);
}
void brute_sizes(benchmark::internal::Benchmark* bm) {
  bm->Args({64, 64, 64})->Args({4096, 64, 512})->Unit(benchmark::kMillisecond);
}
void elem_sizes(benchmark::internal::Benchmark* bm) {
  bm->Arg(4096)->Arg(1 << 20)->Arg(1 << 24)->Unit(benchmark::kMicrosecond);
}

}  // namespace

BENCHMARK_TEMPLATE(vq_quantize, float)->Apply(issue_sizes);
BENCHMARK_TEMPLATE(vq_quantize, double)->Apply(issue_sizes);
BENCHMARK_TEMPLATE(vq_full_distances, float)->Apply(issue_sizes);
BENCHMARK_TEMPLATE(vq_full_distances, double)->Apply(issue_sizes);
BENCHMARK_TEMPLATE(vq_brute_loop, float)->Apply(brute_sizes);
BENCHMARK_TEMPLATE(vq_brute_loop, double)->Apply(brute_sizes);
BENCHMARK_TEMPLATE(vq_lookup, float)->Name("vq_lookup/float")->Apply(elem_sizes);
BENCHMARK_TEMPLATE(vq_lookup, double)->Name("vq_lookup/double")->Apply(elem_sizes);
BENCHMARK_TEMPLATE(vq_ema_update, float)->Apply(elem_sizes);
BENCHMARK_TEMPLATE(vq_ema_update, double)->Apply(elem_sizes);
BENCHMARK_TEMPLATE(vq_loss, float)->Apply(elem_sizes);
BENCHMARK_TEMPLATE(vq_loss, double)->Apply(elem_sizes);

BENCHMARK_MAIN();
