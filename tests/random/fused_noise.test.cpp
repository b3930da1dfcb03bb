// Steps that draw their noise from an engine evaluate their update inside the noise kernel
// (random/noise.hpp, assign_with_noise) when the output is a contiguous float/double array.
// These tests pin that this is only a schedule: every such step equals its noise-argument form
// with randn_like(out) from the same engine state, bit for bit, for every size (whole batches,
// partial batches, a final partial chunk, the OpenMP threshold), for row-major outputs, in
// place, into Maps and column blocks, and on the non-fused path (strided blocks); and the
// engine advances exactly as the noise-argument form's randn_like would advance it.
#include <catch2/catch.hpp>

#include <vector>

#include <Eigen/Core>

#include "latent/core/parallel.hpp"
#include "latent/random/noise.hpp"
#include "latent/random/philox.hpp"
#include "latent/score/langevin.hpp"
#include "latent/score/samplers.hpp"

namespace {

template <class A>
A fused_inputs(Eigen::Index rows, Eigen::Index cols, std::uint64_t seed) {
  latent::philox4x32 e(seed);
  return latent::rand_uniform<A>(rows, cols, e) * typename A::Scalar(4) - typename A::Scalar(2);
}

// Runs step(out, engine) (the engine form) and step_z(out, z) with z = randn_like(out) (the
// noise-argument form) from equal engines; checks equal outputs and equal engine states.
template <class Out, class Step, class StepZ>
void check_fused_equals_given(Out& fused, Out& given, const Step& step, const StepZ& step_z) {
  latent::philox4x32 e1(0x5eedull, 3), e2(0x5eedull, 3);
  e1.set_offset(1000);  // start away from block 0
  e2.set_offset(1000);
  step(fused, e1);
  const auto z = latent::randn_like(given, e2).eval();
  step_z(given, z);
  REQUIRE(fused.rows() == given.rows());
  CHECK((fused == given).all());
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
          f, g, [&](A& o, latent::philox4x32& e) { latent::langevin_step(x, s, 0.01, o, e); },
          [&](A& o, const A& z) { latent::langevin_step(x, s, 0.01, z, o); });
      check_fused_equals_given(
          f, g,
          [&](A& o, latent::philox4x32& e) {
            latent::euler_ancestral_step(x, s, 1.5, 0.7, o, 1.0, 1.0, e);
          },
          [&](A& o, const A& z) { latent::euler_ancestral_step(x, s, 1.5, 0.7, z, o); });
      // Row-major output and inputs.
      const R xr = x, sr = s;
      R fr(4, c), gr(4, c);
      check_fused_equals_given(
          fr, gr, [&](R& o, latent::philox4x32& e) { latent::langevin_step(xr, sr, 0.3, o, e); },
          [&](R& o, const R& z) { latent::langevin_step(xr, sr, 0.3, z, o); });
      // In place (out aliases x).
      A fi = x, gi = x;
      check_fused_equals_given(
          fi, gi, [&](A& o, latent::philox4x32& e) { latent::langevin_step(o, s, 0.01, o, e); },
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
  CHECK((mf == mg).all());
  A bf = A::Zero(8, c + 10), bg = A::Zero(8, c + 10);
  latent::langevin_step(x, d, 0.02, bf.middleCols(5, c), e1);
  latent::langevin_step(x, d, 0.02, latent::randn_like(bg.middleCols(5, c), e2).eval(),
                        bg.middleCols(5, c));
  CHECK((bf == bg).all());
  CHECK((bf.leftCols(5) == 0).all());
  CHECK((bf.rightCols(5) == 0).all());
  // The top rows of a taller array are strided: evaluated through the noise expression instead,
  // with the same values.
  A tf = A::Zero(16, c), tg = A::Zero(16, c);
  latent::langevin_step(x, d, 0.02, tf.topRows(8), e1);
  latent::langevin_step(x, d, 0.02, latent::randn_like(tg.topRows(8), e2).eval(), tg.topRows(8));
  CHECK((tf == tg).all());
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
  CHECK((out == z).all());
}
