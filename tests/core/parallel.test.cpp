// latent::assign: equal to `out = expr` bit for bit, for any shape, with and without OpenMP
// (this file is compiled with -fopenmp when the build enables LATENT_OPENMP; the test then
// also runs 1, 2 and 3 threads).
#include "latent/core/parallel.hpp"

#include <catch2/catch.hpp>
#include <cstring>

#include "latent/random/noise.hpp"
#if defined(_OPENMP)
#include <omp.h>
#endif

namespace {
template <class A>
bool bit_equal(const A& a, const A& b) {
  return a.rows() == b.rows() && a.cols() == b.cols() &&
         std::memcmp(a.data(), b.data(), sizeof(typename A::Scalar) * std::size_t(a.size())) == 0;
}
}  // namespace

TEST_CASE("chunks are whole columns and multiples of 64 elements", "[core][parallel]") {
  for (Eigen::Index rows : {1, 2, 3, 7, 63, 64, 65, 100, 1000, 4097}) {
    const Eigen::Index k = latent::detail::parallel_chunk_cols(rows, 1 << 16);
    CHECK(k >= 1);
    CHECK((rows * k) % 64 == 0);
    CHECK(rows * k >= (1 << 16));
    CHECK(rows * k < (1 << 16) + 64 * rows);
  }
}

TEMPLATE_TEST_CASE("assign equals plain assignment bit for bit", "[core][parallel]", float, double) {
  using A = Eigen::Array<TestType, Eigen::Dynamic, Eigen::Dynamic>;
  for (auto shape : {std::pair<Eigen::Index, Eigen::Index>{3, 100001}, {64, 4096}, {7, 5}, {1000, 300}}) {
    const auto [rows, cols] = shape;
    latent::philox4x32 e1(9), e2(9);
    const A x = latent::randn<A>(rows, cols, e1);
    (void)latent::randn<A>(rows, cols, e2);
    A want(rows, cols), got(rows, cols);
    latent::philox4x32 n1(3), n2(3);
    want = TestType(0.9) * x + TestType(0.1) * (TestType(0.5) * x).exp() * latent::randn_like(x, n1);
    std::vector<int> threads = {1};
#if defined(_OPENMP)
    threads = {1, 2, 3};
#endif
    for (int t : threads) {
#if defined(_OPENMP)
      omp_set_num_threads(t);
#endif
      latent::philox4x32 nn(3);
      latent::assign(got, TestType(0.9) * x + TestType(0.1) * (TestType(0.5) * x).exp() *
                              latent::randn_like(x, nn));
      INFO("rows " << rows << " cols " << cols << " threads " << t);
      CHECK(bit_equal(got, want));
      CHECK(nn.offset() == n1.offset());
    }
    (void)n2;
  }
}
