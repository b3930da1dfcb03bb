// Per-call cost of latent's hot operations on a 64-element batch (a 64 x 1 array, one sample
// of dimension 64), issue 9.2 "per-call cost at 64 elements <= 100 ns". At this size the
// cost is the fixed overhead of a call (argument checks, schedule lookups, setting up the
// noise stream, the loop prologue), not memory traffic.
//
//   <op>_call64/<float|double>/64, for op in
//     randn            out = latent::randn<A>(64, 1, engine)
//     fill_randn       latent::fill_randn(out, engine)
//     rand_uniform     out = latent::rand_uniform<A>(64, 1, engine)
//     rsample          z = latent::diag_gaussian_rsample(mu, lv, latent::randn_like(mu, engine))
//     kl_std_normal    row = latent::kl_diag_std_normal(mu, lv)           (one column of 64)
//     log_prob         row = latent::diag_gaussian_log_prob(x, mu, lv)
//     ddpm_step        latent::ddpm_step(schedule, options, 500, 499, x, eps, out, engine)
//     ddim_step        latent::ddim_step(..., eta = 1, out, engine)
//     langevin_step    latent::langevin_step(x, s, tau, out, engine)
//     euler_ancestral_step latent::euler_ancestral_step(x, denoised, 1.5, 1.2, out, engine)
//     vq_lookup        latent::quantize_into of one 64-D vector against K = 512 codes (not an
//                      element-wise op: 64 K multiply-adds; listed for completeness)
// Counter: items_per_second with one item per element (the report's convention), so
// ns per call = 64 * 1e9 / items_per_second; Google Benchmark's CPU column is ns per call.
// The torch peer for the same calls is bench/peers_small.py.
#include <benchmark/benchmark.h>

#include <Eigen/Core>

#include "latent/diffusion/ddim.hpp"
#include "latent/diffusion/ddpm.hpp"
#include "latent/distributions/diag_gaussian.hpp"
#include "latent/divergences/kl_gaussian.hpp"
#include "latent/quantize/nearest.hpp"
#include "latent/random/noise.hpp"
#include "latent/random/philox.hpp"
#include "latent/score/langevin.hpp"
#include "latent/score/samplers.hpp"

namespace {

constexpr Eigen::Index kN = 64;

template <class T>
using A = Eigen::Array<T, Eigen::Dynamic, Eigen::Dynamic>;

template <class T>
A<T> input(unsigned seed, T scale) {
  std::srand(seed);
  return A<T>::Random(kN, 1) * scale;
}

void counters(benchmark::State& state) {
  state.SetItemsProcessed(state.iterations() * kN);
}

const latent::noise_schedule& schedule() {
  static const latent::noise_schedule s(latent::linear_betas(1000));
  return s;
}

template <class T>
void randn_call64(benchmark::State& state) {
  A<T> out(kN, 1);
  latent::philox4x32 e(1);
  for (auto _ : state) {
    out = latent::randn<A<T>>(kN, 1, e);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  counters(state);
}

template <class T>
void fill_randn_call64(benchmark::State& state) {
  A<T> out(kN, 1);
  latent::philox4x32 e(1);
  for (auto _ : state) {
    latent::fill_randn(out, e);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  counters(state);
}

template <class T>
void rand_uniform_call64(benchmark::State& state) {
  A<T> out(kN, 1);
  latent::philox4x32 e(1);
  for (auto _ : state) {
    out = latent::rand_uniform<A<T>>(kN, 1, e);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  counters(state);
}

template <class T>
void rsample_call64(benchmark::State& state) {
  const A<T> mu = input<T>(1, T(1)), lv = input<T>(2, T(0.5));
  A<T> z(kN, 1);
  latent::philox4x32 e(1);
  for (auto _ : state) {
    z = latent::diag_gaussian_rsample(mu, lv, latent::randn_like(mu, e));
    benchmark::DoNotOptimize(z.data());
    benchmark::ClobberMemory();
  }
  counters(state);
}

template <class T>
void kl_std_normal_call64(benchmark::State& state) {
  const A<T> mu = input<T>(1, T(1)), lv = input<T>(2, T(0.5));
  latent::row_x<T> out(1);
  for (auto _ : state) {
    out = latent::kl_diag_std_normal(mu, lv);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  counters(state);
}

template <class T>
void log_prob_call64(benchmark::State& state) {
  const A<T> x = input<T>(3, T(1)), mu = input<T>(1, T(1)), lv = input<T>(2, T(0.5));
  latent::row_x<T> out(1);
  for (auto _ : state) {
    out = latent::diag_gaussian_log_prob(x, mu, lv);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  counters(state);
}

template <class T>
void ddpm_step_call64(benchmark::State& state) {
  const A<T> x = input<T>(1, T(1)), eps = input<T>(2, T(1));
  A<T> out(kN, 1);
  latent::philox4x32 engine(42);
  const latent::ddpm_options o;
  for (auto _ : state) {
    latent::ddpm_step(schedule(), o, 500, 499, x, eps, out, engine);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  counters(state);
}

template <class T>
void ddim_step_call64(benchmark::State& state) {
  const A<T> x = input<T>(1, T(1)), eps = input<T>(2, T(1));
  A<T> out(kN, 1);
  latent::philox4x32 engine(42);
  latent::ddim_options o;
  o.eta = 1.0;
  for (auto _ : state) {
    latent::ddim_step(schedule(), o, 500, 480, x, eps, out, engine);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  counters(state);
}

template <class T>
void langevin_step_call64(benchmark::State& state) {
  const A<T> x = input<T>(1, T(1)), s = input<T>(2, T(1));
  A<T> out(kN, 1);
  latent::philox4x32 engine(42);
  for (auto _ : state) {
    latent::langevin_step(x, s, 0.01, out, engine);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  counters(state);
}

template <class T>
void euler_ancestral_step_call64(benchmark::State& state) {
  const A<T> x = input<T>(1, T(1)), d = input<T>(2, T(1));
  A<T> out(kN, 1);
  latent::philox4x32 engine(42);
  for (auto _ : state) {
    latent::euler_ancestral_step(x, d, 1.5, 1.2, out, engine);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  counters(state);
}

template <class T>
void vq_lookup_call64(benchmark::State& state) {
  using M = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>;
  std::srand(5);
  const M z = M::Random(kN, 1), codes = M::Random(kN, 512);
  latent::vq_workspace<T> ws;
  latent::index_row idx(1);
  M q(kN, 1);
  for (auto _ : state) {
    latent::quantize_into(z, codes, idx, q, ws);
    benchmark::DoNotOptimize(idx.data());
    benchmark::DoNotOptimize(q.data());
    benchmark::ClobberMemory();
  }
  counters(state);
}

}  // namespace

#define LATENT_CALL64(op)                                                               \
  BENCHMARK_TEMPLATE(op##_call64, float)->Name(#op "_call64/float/64")->Unit(benchmark::kNanosecond); \
  BENCHMARK_TEMPLATE(op##_call64, double)->Name(#op "_call64/double/64")->Unit(benchmark::kNanosecond)

LATENT_CALL64(randn);
LATENT_CALL64(fill_randn);
LATENT_CALL64(rand_uniform);
LATENT_CALL64(rsample);
LATENT_CALL64(kl_std_normal);
LATENT_CALL64(log_prob);
LATENT_CALL64(ddpm_step);
LATENT_CALL64(ddim_step);
LATENT_CALL64(langevin_step);
LATENT_CALL64(euler_ancestral_step);
LATENT_CALL64(vq_lookup);

BENCHMARK_MAIN();
