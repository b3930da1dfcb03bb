// Reliability: reproducibility. The same seed gives bitwise-identical results across two runs
// of whole sampling loops (DDPM, Euler ancestral, Heun with churn, Langevin, annealed
// Langevin), across evaluation splits (a step on the whole batch with engine noise equals the
// same step applied block by block with the matching blocks of the noise expression), and,
// when compiled with OpenMP, across thread counts (fills above the parallel threshold and a
// user-level parallel loop over column blocks).
#include <catch2/catch.hpp>

#include <Eigen/Core>
#include <cmath>
#include <cstring>
#include <vector>

#if defined(_OPENMP)
#include <omp.h>
#endif

#include "latent/diffusion/ddim.hpp"
#include "latent/diffusion/ddpm.hpp"
#include "latent/diffusion/schedule.hpp"
#include "latent/diffusion/sigma_schedules.hpp"
#include "latent/diffusion/timesteps.hpp"
#include "latent/random/noise.hpp"
#include "latent/random/philox.hpp"
#include "latent/score/langevin.hpp"
#include "latent/score/samplers.hpp"

namespace {
template <class S>
using A = Eigen::Array<S, Eigen::Dynamic, Eigen::Dynamic>;

template <class T>
bool same_bits(const T& a, const T& b) {
  if (a.rows() != b.rows() || a.cols() != b.cols()) return false;
  return a.size() == 0 ||
         std::memcmp(a.data(), b.data(), sizeof(typename T::Scalar) * std::size_t(a.size())) == 0;
}

template <class S>
void denoise(const A<S>& x, double sigma, A<S>& out) {
  out = x * S(1.0 / (1.0 + sigma * sigma)) + S(0.1) * x.tanh();
}

/// A full DDPM loop (50 leading-spaced steps, v prediction, fixed_small) with engine noise.
template <class S>
A<S> ddpm_loop(std::uint64_t seed, Eigen::Index d, Eigen::Index b) {
  const latent::noise_schedule s(latent::linear_betas(1000));
  const auto ts = latent::inference_timesteps(1000, 50, latent::timestep_spacing::leading, 1);
  latent::philox4x32 eng(seed);
  A<S> x = latent::randn<A<S>>(d, b, eng), m(d, b);
  latent::ddpm_options o;
  o.prediction = latent::prediction_type::v_prediction;
  for (std::size_t i = 0; i < ts.size(); ++i) {
    m = S(0.3) * x.sin();
    latent::ddpm_step(s, o, ts[i], latent::previous_timestep(ts, i), x, m, x, eng);
  }
  return x;
}

template <class S>
A<S> euler_ancestral_loop(std::uint64_t seed, Eigen::Index d, Eigen::Index b) {
  latent::philox4x32 eng(seed);
  A<S> x = S(80) * A<S>(latent::randn<A<S>>(d, b, eng));
  latent::sample_euler_ancestral([](const A<S>& xx, double sg, A<S>& o) { denoise<S>(xx, sg, o); }, x,
                                 latent::sigmas_karras(30, 0.002, 80.0), eng);
  return x;
}

template <class S>
A<S> heun_churn_loop(std::uint64_t seed, Eigen::Index d, Eigen::Index b) {
  latent::philox4x32 eng(seed);
  A<S> x = S(80) * A<S>(latent::randn<A<S>>(d, b, eng));
  latent::churn_options ch;
  ch.s_churn = 40;
  ch.s_tmin = 0.05;
  ch.s_tmax = 50;
  latent::sample_heun([](const A<S>& xx, double sg, A<S>& o) { denoise<S>(xx, sg, o); }, x,
                      latent::sigmas_karras(12, 0.002, 80.0), ch, eng);
  return x;
}

template <class S>
A<S> langevin_loop(std::uint64_t seed, Eigen::Index d, Eigen::Index b) {
  latent::philox4x32 eng(seed);
  A<S> x = latent::randn<A<S>>(d, b, eng);
  latent::langevin_dynamics([](const A<S>& xx, A<S>& o) { o = -xx; }, x, 0.01, 40, eng);
  latent::annealed_langevin([](const A<S>& xx, double sg, A<S>& o) { o = -xx / S(1 + sg * sg); }, x,
                            latent::sigmas_geometric(5, 0.01, 1.0), 2e-5, 5, true, eng);
  return x;
}
}  // namespace

TEMPLATE_TEST_CASE("same seed, same bits: two runs of whole sampling loops",
                   "[reliability][reproducibility]", float, double) {
  using S = TestType;
  CHECK(same_bits(ddpm_loop<S>(42, 8, 5), ddpm_loop<S>(42, 8, 5)));
  CHECK(same_bits(euler_ancestral_loop<S>(42, 8, 5), euler_ancestral_loop<S>(42, 8, 5)));
  CHECK(same_bits(heun_churn_loop<S>(42, 8, 5), heun_churn_loop<S>(42, 8, 5)));
  CHECK(same_bits(langevin_loop<S>(42, 8, 5), langevin_loop<S>(42, 8, 5)));
  // And a different seed gives different bits (the test can fail).
  CHECK_FALSE(same_bits(ddpm_loop<S>(42, 8, 5), ddpm_loop<S>(43, 8, 5)));
  CHECK_FALSE(same_bits(euler_ancestral_loop<S>(42, 8, 5), euler_ancestral_loop<S>(43, 8, 5)));
  CHECK_FALSE(same_bits(langevin_loop<S>(42, 8, 5), langevin_loop<S>(43, 8, 5)));
}

TEMPLATE_TEST_CASE("evaluation splits: whole-batch step with engine noise == block-by-block step",
                   "[reliability][reproducibility][split]", float, double) {
  using S = TestType;
  const Eigen::Index D = 6, B = 11;
  const latent::noise_schedule s(latent::cosine_betas(1000));
  latent::philox4x32 e0(2024);
  const A<S> x = latent::randn<A<S>>(D, B, e0), m = S(0.5) * A<S>(latent::randn<A<S>>(D, B, e0));
  for (Eigen::Index blk : {1, 3, 4, 11}) {
    INFO("block of " << blk << " columns");
    // DDPM
    latent::philox4x32 a(7, 1), b(7, 1);
    A<S> whole(D, B), split(D, B);
    latent::ddpm_step(s, latent::ddpm_options{}, 500, 480, x, m, whole, a);
    const auto z = latent::randn_like(split, b);  // the same counters the step reserved
    for (Eigen::Index c = 0; c < B; c += blk) {
      const Eigen::Index w = std::min(blk, B - c);
      auto out = split.middleCols(c, w);
      latent::ddpm_step(s, latent::ddpm_options{}, 500, 480, x.middleCols(c, w), m.middleCols(c, w),
                        out, z.middleCols(c, w));
    }
    CHECK(same_bits(whole, split));
    CHECK(a.offset() == b.offset());
    // DDIM with eta = 1
    latent::ddim_options o;
    o.eta = 1.0;
    latent::ddim_step(s, o, 500, 400, x, m, whole, a);
    const auto z2 = latent::randn_like(split, b);
    for (Eigen::Index c = 0; c < B; c += blk) {
      const Eigen::Index w = std::min(blk, B - c);
      auto out = split.middleCols(c, w);
      latent::ddim_step(s, o, 500, 400, x.middleCols(c, w), m.middleCols(c, w), out, z2.middleCols(c, w));
    }
    CHECK(same_bits(whole, split));
    // Euler ancestral and Langevin
    latent::euler_ancestral_step(x, m, 2.0, 1.0, whole, a);
    const auto z3 = latent::randn_like(x, b);
    for (Eigen::Index c = 0; c < B; c += blk) {
      const Eigen::Index w = std::min(blk, B - c);
      auto out = split.middleCols(c, w);
      latent::euler_ancestral_step(x.middleCols(c, w), m.middleCols(c, w), 2.0, 1.0, z3.middleCols(c, w), out);
    }
    CHECK(same_bits(whole, split));
    latent::langevin_step(x, m, 0.05, whole, a);
    const auto z4 = latent::randn_like(x, b);
    for (Eigen::Index c = 0; c < B; c += blk) {
      const Eigen::Index w = std::min(blk, B - c);
      auto out = split.middleCols(c, w);
      latent::langevin_step(x.middleCols(c, w), m.middleCols(c, w), 0.05, z4.middleCols(c, w), out);
    }
    CHECK(same_bits(whole, split));
  }
}

TEMPLATE_TEST_CASE("thread counts: loops above the parallel threshold give the same bits",
                   "[reliability][reproducibility][openmp]", float, double) {
  using S = TestType;
  // 512 x 300 = 153600 > 2^17 elements: the churn noise fill is split across threads when
  // latent is compiled with OpenMP (LATENT_OPENMP=ON).
  const Eigen::Index D = 512, B = 300;
  const A<S> ref = heun_churn_loop<S>(77, D, B);
  CHECK(ref.allFinite());
#if defined(_OPENMP)
  const int saved = omp_get_max_threads();
  for (int threads : {1, 2, 3, 4}) {
    omp_set_num_threads(threads);
    INFO("threads = " << threads);
    CHECK(same_bits(heun_churn_loop<S>(77, D, B), ref));
    // A user-level parallel loop over column blocks: each block takes its block of one
    // noise expression, so the result does not depend on the thread count or schedule.
    const latent::noise_schedule s(latent::linear_betas(1000));
    latent::philox4x32 a(5), b(5);
    const A<S> x = latent::randn<A<S>>(64, 256, a);
    A<S> whole(64, 256), split(64, 256);
    latent::ddpm_step(s, latent::ddpm_options{}, 300, 299, x, S(0.5) * x, whole, a);
    (void)latent::randn<A<S>>(64, 256, b);
    const auto z = latent::randn_like(split, b);
#pragma omp parallel for schedule(dynamic, 1)
    for (int c = 0; c < 256; c += 16) {
      auto out = split.middleCols(c, 16);
      latent::ddpm_step(s, latent::ddpm_options{}, 300, 299, x.middleCols(c, 16),
                        S(0.5) * x.middleCols(c, 16), out, z.middleCols(c, 16));
    }
    CHECK(same_bits(whole, split));
  }
  omp_set_num_threads(saved);
#else
  WARN("compiled without OpenMP: the thread-count part is skipped (build with -DLATENT_OPENMP=ON)");
  CHECK(same_bits(heun_churn_loop<S>(77, D, B), ref));
#endif
}
