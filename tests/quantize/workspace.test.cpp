// Steady-state quantize_into / residual_quantize_into / vq_ema_update allocate nothing,
// counted by tests/support/alloc_counter.hpp (skipped under the sanitizers).
#include <catch2/catch.hpp>

#include <cstddef>
#include <vector>

#include <Eigen/Dense>

#include "latent/quantize/ema.hpp"
#include "latent/quantize/hierarchical.hpp"
#include "latent/quantize/nearest.hpp"
#include "quantize/test_util.hpp"

#include "support/alloc_counter.hpp"

using vq_test::gaussian;
using vq_test::mat;

using alloc_counter::allocations_in;

TEMPLATE_TEST_CASE("steady-state calls allocate nothing", "[quantize][workspace]", float,
                   double) {
  using T = TestType;
#ifndef LATENT_COUNT_MALLOC
  WARN("malloc counting is disabled in this build (sanitizers); only the results are checked");
#endif
  // The counter itself works: an Eigen temporary is seen.
#ifdef LATENT_COUNT_MALLOC
  CHECK(allocations_in([] {
          mat<T> tmp(100, 100);
          tmp.setZero();
          REQUIRE(tmp.sum() == T(0));
        }) >= 1);
#endif
  const Eigen::Index d = 64, b = 700 / vq_test::shrink;
  const mat<T> z = gaussian<T>(d, b, 1001);
  const mat<T> e = gaussian<T>(d, 1500, 1002);  // several code blocks
  latent::vq_workspace<T> ws;
  latent::index_row idx(b);
  mat<T> q(d, b);
  Eigen::Array<T, 1, Eigen::Dynamic> dist(b);
  latent::quantize_into(z, e, idx, q, dist, ws);  // sizes the workspace
  const latent::index_row first = idx;
  CHECK(allocations_in([&] { latent::quantize_into(z, e, idx, q, dist, ws); }) <= 0);  // -1: counting disabled (sanitizers)
  CHECK(allocations_in([&] { latent::quantize_into(z, e, idx, q, ws); }) <= 0);  // -1: counting disabled (sanitizers)
  CHECK(allocations_in([&] { latent::nearest_codes_into(z, e, idx, ws); }) <= 0);  // -1: counting disabled (sanitizers)
  CHECK((idx == first).all());
  // Smaller shapes reuse the grown buffers.
  CHECK(allocations_in([&] {
          latent::quantize_into(z.leftCols(b / 2), e.leftCols(40), idx.head(b / 2), q.leftCols(b / 2),
                                ws);
        }) <= 0);  // -1: counting disabled (sanitizers)

  // Residual quantization with stages of different K.
  std::vector<mat<T>> books = {gaussian<T>(d, 600, 1003), gaussian<T>(d, 64, 1004),
                               gaussian<T>(d, 256, 1005)};
  Eigen::Array<Eigen::Index, Eigen::Dynamic, Eigen::Dynamic> ridx(3, b);
  latent::residual_quantize_into(z, books, ridx, q, ws);
  CHECK(allocations_in([&] { latent::residual_quantize_into(z, books, ridx, q, ws); }) <= 0);  // -1: counting disabled (sanitizers)

  // EMA update.
  mat<T> code = e;
  auto st = latent::make_vq_ema_state(code, 0.99, 1e-5);
  latent::vq_ema_update(st, z, first, code);
  CHECK(allocations_in([&] { latent::vq_ema_update(st, z, first, code); }) <= 0);  // -1: counting disabled (sanitizers)
}
