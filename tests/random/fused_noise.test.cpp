// Steps that draw their noise from an engine evaluate their update inside the noise kernel
// (random/noise.hpp, assign_with_noise) when the output is a contiguous float/double array.
// These tests pin that this is only a schedule: every such step equals its noise-argument form
// with randn_like(out) from the same engine state, bit for bit, for every size (whole batches,
// partial batches, a final partial chunk, the OpenMP threshold), for row-major outputs, in
// place, into Maps and column blocks, and on the non-fused path (strided blocks); and the
// engine advances exactly as the noise-argument form's randn_like would advance it.
//
// Bit for bit needs a compiler that does not contract a multiply and an add of the step's
// expression differently in its two compiled copies: g++ does (its default -ffp-contract=fast
// decides per inlining context), so with g++ and clang++ this file is built with
// -ffp-contract=off (tests/CMakeLists.txt, LATENT_TEST_NO_CONTRACT); otherwise the forms are
// compared to within 4 ulp of each element's magnitude.
#include <catch2/catch.hpp>

#include <vector>

#include <Eigen/Core>

#include "latent/core/parallel.hpp"
#include "latent/diffusion/ddim.hpp"
#include "latent/diffusion/ddpm.hpp"
#include "latent/diffusion/schedule.hpp"
#include "latent/random/noise.hpp"
#include "latent/random/philox.hpp"
#include "latent/score/langevin.hpp"
#include "latent/score/samplers.hpp"

namespace {

template <class A, class B>
bool same_values(const A& a, const B& b) {
#if defined(LATENT_TEST_NO_CONTRACT)
  return (a == b).all();
#else
  using S = typename A::Scalar;
  return ((a - b).abs() <= S(4) * Eigen::NumTraits<S>::epsilon() * (a.abs() + S(1))).all();
#endif
}

template <class A>
A fused_inputs(Eigen::Index rows, Eigen::Index cols, std::uint64_t seed) {
  latent::philox4x32 e(seed);
  return latent::rand_uniform<A>(rows, cols, e) * typename A::Scalar(4) - typename A::Scalar(2);
}

// Runs step(out, engine) (the engine form) and step_z(out, z) with z = randn_like(out) (the
// noise-argument form) from equal engines; checks equal outputs and equal engine states.
template <class Out, class Step, class StepZ>
void check_fused_equals_given(const char* what, Out& fused, Out& given, const Step& step,
                              const StepZ& step_z) {
  INFO(what);
  latent::philox4x32 e1(0x5eedull, 3), e2(0x5eedull, 3);
  e1.set_offset(1000);  // start away from block 0
  e2.set_offset(1000);
  step(fused, e1);
  const auto z = latent::randn_like(given, e2).eval();
  step_z(given, z);
  REQUIRE(fused.rows() == given.rows());
  CHECK(same_values(fused, given));
  CHECK(e1.offset() == e2.offset());
}

}  // namespace

TEMPLATE_TEST_CASE("fused Langevin and Euler ancestral steps equal their noise-argument forms",
                   "[random][fused]", float, double) {
  using S = TestType;
  using A = Eigen::Array<S, Eigen::Dynamic, Eigen::Dynamic>;
  using R = Eigen::Array<S, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  // 4 x cols: sizes below a chunk, exactly one chunk, whole and partial batches, a final
  // partial chunk, and one above latent::parallel_threshold.
  const std::vector<Eigen::Index> cols = {1, 15, 16, 17, 64, 65, 100, 257, 1029,
                                          latent::parallel_threshold / 4 + 3};
  for (const Eigen::Index c : cols) {
    DYNAMIC_SECTION("4 x " << c) {
      const A x = fused_inputs<A>(4, c, 1), s = fused_inputs<A>(4, c, 2);
      A f(4, c), g(4, c);
      check_fused_equals_given(
          "langevin", f, g, [&](A& o, latent::philox4x32& e) { latent::langevin_step(x, s, 0.01, o, e); },
          [&](A& o, const A& z) { latent::langevin_step(x, s, 0.01, z, o); });
      check_fused_equals_given(
          "euler ancestral", f, g,
          [&](A& o, latent::philox4x32& e) {
            latent::euler_ancestral_step(x, s, 1.5, 0.7, o, 1.0, 1.0, e);
          },
          [&](A& o, const A& z) { latent::euler_ancestral_step(x, s, 1.5, 0.7, z, o); });
      // Row-major output and inputs.
      const R xr = x, sr = s;
      R fr(4, c), gr(4, c);
      check_fused_equals_given(
          "langevin row-major", fr, gr, [&](R& o, latent::philox4x32& e) { latent::langevin_step(xr, sr, 0.3, o, e); },
          [&](R& o, const R& z) { latent::langevin_step(xr, sr, 0.3, z, o); });
      // In place (out aliases x).
      A fi = x, gi = x;
      check_fused_equals_given(
          "langevin in place", fi, gi, [&](A& o, latent::philox4x32& e) { latent::langevin_step(o, s, 0.01, o, e); },
          [&](A& o, const A& z) { latent::langevin_step(o, s, 0.01, z, o); });
      CHECK(!(fi == x).all());
    }
  }
}

TEMPLATE_TEST_CASE("fused steps into Maps and blocks, and the non-fused path", "[random][fused]",
                   float, double) {
  using S = TestType;
  using A = Eigen::Array<S, Eigen::Dynamic, Eigen::Dynamic>;
  const Eigen::Index c = 300;
  const A x = fused_inputs<A>(8, c, 5), d = fused_inputs<A>(8, c, 6);
  // A Map over a buffer, and a block of whole columns: contiguous, so fused.
  std::vector<S> buf_f(8 * c), buf_g(8 * c);
  Eigen::Map<A> mf(buf_f.data(), 8, c), mg(buf_g.data(), 8, c);
  latent::philox4x32 e1(11), e2(11);
  latent::euler_ancestral_step(x, d, 2.0, 1.0, mf, 0.5, 1.2, e1);
  latent::euler_ancestral_step(x, d, 2.0, 1.0, latent::randn_like(mg, e2).eval(), mg, 0.5, 1.2);
  CHECK(same_values(mf, mg));
  A bf = A::Zero(8, c + 10), bg = A::Zero(8, c + 10);
  latent::langevin_step(x, d, 0.02, bf.middleCols(5, c), e1);
  latent::langevin_step(x, d, 0.02, latent::randn_like(bg.middleCols(5, c), e2).eval(),
                        bg.middleCols(5, c));
  CHECK(same_values(bf, bg));
  CHECK((bf.leftCols(5) == 0).all());
  CHECK((bf.rightCols(5) == 0).all());
  // The top rows of a taller array are strided: evaluated through the noise expression instead,
  // with the same values.
  A tf = A::Zero(16, c), tg = A::Zero(16, c);
  latent::langevin_step(x, d, 0.02, tf.topRows(8), e1);
  latent::langevin_step(x, d, 0.02, latent::randn_like(tg.topRows(8), e2).eval(), tg.topRows(8));
  CHECK(same_values(tf, tg));
  CHECK((tf.bottomRows(8) == 0).all());
  CHECK(e1.offset() == e2.offset());
}

TEMPLATE_TEST_CASE("a fused step's noise is the engine's standard normal noise", "[random][fused]",
                   float, double) {
  // With x = 0, score = 0 and tau = 1/2, the Langevin step writes exactly sqrt(2 tau) z = z:
  // the values fill_randn writes from the same engine state.
  using S = TestType;
  using A = Eigen::Array<S, Eigen::Dynamic, Eigen::Dynamic>;
  const A zero = A::Zero(3, 1111);
  A out(3, 1111), z(3, 1111);
  latent::philox4x32 e1(99), e2(99);
  latent::langevin_step(zero, zero, 0.5, out, e1);
  latent::fill_randn(z, e2);
  CHECK((out == z).all());  // exact in any build: 0 + 0 * 0 + 1 * z
}

TEMPLATE_TEST_CASE("fused DDPM and DDIM steps equal their noise-argument forms",
                   "[random][fused][diffusion]", float, double) {
  using S = TestType;
  using A = Eigen::Array<S, Eigen::Dynamic, Eigen::Dynamic>;
  const latent::noise_schedule sched(latent::linear_betas(1000));
  for (const Eigen::Index c : {Eigen::Index(3), Eigen::Index(1029)}) {
    DYNAMIC_SECTION("4 x " << c) {
      const A x = fused_inputs<A>(4, c, 7), m = fused_inputs<A>(4, c, 8);
      const A v = fused_inputs<A>(4, c, 9) * S(0.5);  // learned-range variance channel in [-1, 1]
      A f(4, c), g(4, c);
      latent::ddpm_options o;
      // Fixed variances (fused), clipping (the transformed path), learned variances.
      for (const auto variance : {latent::variance_type::fixed_small, latent::variance_type::fixed_large}) {
        o.variance = variance;
        for (const bool clip : {false, true}) {
          o.clip_sample = clip;
          check_fused_equals_given(
          "ddpm fixed", f, g, [&](A& out, latent::philox4x32& e) { latent::ddpm_step(sched, o, 500, 480, x, m, out, e); },
              [&](A& out, const A& z) { latent::ddpm_step(sched, o, 500, 480, x, m, out, z); });
        }
      }
      o.clip_sample = false;
      o.variance = latent::variance_type::learned_range;
      check_fused_equals_given(
          "ddpm learned_range", f, g, [&](A& out, latent::philox4x32& e) { latent::ddpm_step(sched, o, 260, 240, x, m, v, out, e); },
          [&](A& out, const A& z) { latent::ddpm_step(sched, o, 260, 240, x, m, v, out, z); });
      latent::ddim_options d;
      d.eta = 0.7;
      check_fused_equals_given(
          "ddim eta 0.7", f, g, [&](A& out, latent::philox4x32& e) { latent::ddim_step(sched, d, 500, 480, x, m, out, e); },
          [&](A& out, const A& z) { latent::ddim_step(sched, d, 500, 480, x, m, out, z); });
      // The last DDPM step draws nothing: the engine does not move.
      latent::philox4x32 e(5);
      const auto before = e.offset();
      o.variance = latent::variance_type::fixed_small;
      latent::ddpm_step(sched, o, 0, -1, x, m, f, e);
      CHECK(e.offset() == before);
    }
  }
}
