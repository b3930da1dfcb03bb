// Tests of latent/quantize/nearest.hpp: agreement with brute force (bit for bit, ties to the
// lowest index), block merging, near-tie re-ranking, expression inputs, AutoDiff, errors.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include <Eigen/Dense>
#include <unsupported/Eigen/AutoDiff>

#include "latent/quantize/nearest.hpp"
#include "quantize/test_util.hpp"

using vq_test::brute_nearest;
using vq_test::gaussian;
using vq_test::mat;

namespace {

template <class T>
void check_against_brute_force(const mat<T>& z, const mat<T>& e, latent::vq_workspace<T>& ws) {
  latent::index_row idx(z.cols());
  mat<T> q(z.rows(), z.cols());
  Eigen::Array<T, 1, Eigen::Dynamic> dist(z.cols());
  latent::quantize_into(z, e, idx, q, dist, ws);
  for (Eigen::Index b = 0; b < z.cols(); ++b) {
    T d_ref;
    const Eigen::Index k_ref = brute_nearest(z, e, b, &d_ref);
    INFO("column " << b << " of " << z.cols() << ", K = " << e.cols() << ", D = " << z.rows());
    REQUIRE(idx[b] == k_ref);
    REQUIRE(dist[b] == d_ref);  // bit-for-bit: same definition, same rounding
    REQUIRE(q.col(b) == e.col(k_ref));
  }
}

}  // namespace

TEMPLATE_TEST_CASE("quantize agrees exactly with brute force on random data", "[quantize]",
                   float, double) {
  using T = TestType;
  latent::vq_workspace<T> ws;
  const Eigen::Index shapes[][3] = {{1, 1, 1},  {1, 7, 13},  {3, 5, 40},   {16, 37, 300},
                                    {64, 600, 300}, {5, 1, 9}, {64, 513, 257}};
  std::uint64_t seed = 11;
  for (const auto& s : shapes) {
    // Keep every code block (K), shrink the batch under the sanitizers.
    const mat<T> z = gaussian<T>(s[0], std::max<Eigen::Index>(1, s[2] / vq_test::shrink), seed++);
    const mat<T> e = gaussian<T>(s[0], s[1], seed++);
    check_against_brute_force(z, e, ws);
  }
}

TEMPLATE_TEST_CASE("quantize merges code and column blocks correctly", "[quantize]", float,
                   double) {
  using T = TestType;
  // Tiny tiles force many K blocks and column blocks, including partial last blocks.
  const Eigen::Index blocks[][2] = {{1, 1}, {3, 2}, {4, 5}, {7, 64}, {64, 3}};
  const mat<T> z = gaussian<T>(6, 41, 101);
  const mat<T> e = gaussian<T>(6, 29, 102);
  for (const auto& bk : blocks) {
    latent::vq_workspace<T> ws;
    ws.k_block = bk[0];
    ws.b_block = bk[1];
    INFO("k_block " << bk[0] << " b_block " << bk[1]);
    check_against_brute_force(z, e, ws);
  }
}

TEMPLATE_TEST_CASE("duplicated codebook columns: ties go to the lowest index", "[quantize]",
                   float, double) {
  using T = TestType;
  const Eigen::Index d = 64, k0 = 50, b = 200 / vq_test::shrink;
  const mat<T> base = gaussian<T>(d, k0, 7);
  // Codebook = [base, base, base]: every column has three exact ties, spread over the rows
  // of different GEMM micro-kernel panels. Columns of z are noisy copies of codes of the
  // second and third copies, and some are exact copies (distance 0).
  mat<T> e(d, 3 * k0);
  e << base, base, base;
  mat<T> z = gaussian<T>(d, b, 8, 0.05);
  for (Eigen::Index j = 0; j < b; ++j) z.col(j) += base.col(j % k0);
  for (Eigen::Index j = 0; j < b; j += 5) z.col(j) = base.col(j % k0);
  for (const Eigen::Index kb : {Eigen::Index(0), Eigen::Index(16), Eigen::Index(50),
                                Eigen::Index(7)}) {
    latent::vq_workspace<T> ws;
    ws.k_block = kb;
    latent::index_row idx(b);
    mat<T> q(d, b);
    Eigen::Array<T, 1, Eigen::Dynamic> dist(b);
    latent::quantize_into(z, e, idx, q, dist, ws);
    for (Eigen::Index j = 0; j < b; ++j) {
      INFO("column " << j << ", k_block " << kb);
      CHECK(idx[j] == j % k0);  // first copy, never the equal code at j % k0 + k0 or + 2 k0
      if (j % 5 == 0) CHECK(dist[j] == T(0));
    }
    // Every column saw an exact tie, so the direct re-ranking ran for all of them.
    CHECK(ws.near_tie_blocks >= b);
    check_against_brute_force(z, e, ws);
  }
}

TEMPLATE_TEST_CASE("exact ties between distinct codes go to the lowest index", "[quantize]",
                   float, double) {
  using T = TestType;
  // Integer data: every distance is computed exactly, so the ties are real ties.
  mat<T> e(2, 5);
  e << 3, 1, 0, -1, 0,  //
      0, 0, 1, 0, -1;
  mat<T> z(2, 3);
  z << 0, 0.5, 10,  //
      0, 0, 0;
  const auto r = latent::quantize(z, e);
  CHECK(r.indices[0] == 1);  // codes 1, 2, 3, 4 are all at distance 1
  CHECK(r.distances[0] == T(1));
  CHECK(r.indices[1] == 1);  // code 1 at 0.25
  CHECK(r.indices[2] == 0);
  CHECK(r.distances[2] == T(49));
}

TEMPLATE_TEST_CASE("near-ties from cancellation are re-ranked exactly", "[quantize]", float,
                   double) {
  using T = TestType;
  // Codes and latents sit at a large common offset with differences many orders smaller:
  // ||z||^2 and ||e||^2 are ~1e8 times the gaps between distances, so the expanded scores
  // are dominated by rounding error, and their argmin is (almost surely) wrong somewhere.
  const double offset = 1e4;
  const double spread = std::is_same<T, float>::value ? 1e-1 : 1e-7;
  const mat<T> e = gaussian<T>(32, 40, 21, spread, offset);
  const mat<T> z = gaussian<T>(32, 200, 22, spread, offset);
  latent::vq_workspace<T> ws;
  check_against_brute_force(z, e, ws);
  CHECK(ws.near_tie_blocks > 0);
  // The plain expansion argmin (what cdist + argmin does) disagrees with brute force.
  const mat<T> dd = latent::squared_distances(z, e);
  Eigen::Index disagree = 0;
  for (Eigen::Index b = 0; b < z.cols(); ++b) {
    Eigen::Index k;
    dd.col(b).minCoeff(&k);
    disagree += (k != brute_nearest(z, e, b, static_cast<T*>(nullptr))) ? 1 : 0;
  }
  CHECK(disagree > 0);
}

TEST_CASE("quantize agrees with a long-double brute force on double data", "[quantize]") {
  // An independent reference in higher precision: on continuous random data there are no
  // near-ties at the 1e-12 level, so the argmins must agree.
  const mat<double> z = gaussian<double>(64, 500 / vq_test::shrink, 31);
  const mat<double> e = gaussian<double>(64, 700, 32);
  const auto r = latent::quantize(z, e);
  for (Eigen::Index b = 0; b < z.cols(); ++b) {
    Eigen::Index best = -1;
    long double best_d = 0;
    for (Eigen::Index k = 0; k < e.cols(); ++k) {
      long double acc = 0;
      for (Eigen::Index i = 0; i < z.rows(); ++i) {
        const long double diff = (long double)z(i, b) - (long double)e(i, k);
        acc += diff * diff;
      }
      if (best < 0 || acc < best_d) {
        best = k;
        best_d = acc;
      }
    }
    REQUIRE(r.indices[b] == best);
    REQUIRE(std::abs((long double)r.distances[b] - best_d) <= 1e-12L * best_d);
  }
}

TEMPLATE_TEST_CASE("quantize accepts expressions, arrays, maps and blocks", "[quantize]", float,
                   double) {
  using T = TestType;
  const mat<T> z = gaussian<T>(8, 30, 41);
  const mat<T> e = gaussian<T>(8, 20, 42);
  const auto ref = latent::quantize(z, e);
  // Matrix and Array forms.
  const Eigen::Array<T, Eigen::Dynamic, Eigen::Dynamic> za = z.array();
  const auto ra = latent::quantize(za, e.array());
  CHECK((ra.indices == ref.indices).all());
  CHECK(ra.quantized == ref.quantized);
  // An expression equals its evaluated matrix.
  const mat<T> z2 = T(2) * z;
  const auto rx = latent::quantize(T(2) * z, e);
  const auto re = latent::quantize(z2, e);
  CHECK((rx.indices == re.indices).all());
  // Maps and column blocks of a larger buffer, written into blocks of caller buffers.
  Eigen::Map<const mat<T>> zm(z.data(), z.rows(), z.cols());
  Eigen::Matrix<Eigen::Index, 2, Eigen::Dynamic> idx2(2, 30);
  mat<T> qbig = mat<T>::Zero(8, 40);
  latent::vq_workspace<T> ws;
  latent::quantize_into(zm, e, idx2.row(1), qbig.middleCols(5, 30), ws);
  CHECK((idx2.row(1).array() == ref.indices).all());
  CHECK(qbig.middleCols(5, 30) == ref.quantized);
  CHECK(qbig.leftCols(5).isZero(0));
  // Indices as int, and the indices-only form.
  Eigen::VectorXi idx_int(30);
  latent::nearest_codes_into(z.middleCols(0, 30), e, idx_int, ws);
  for (Eigen::Index b = 0; b < 30; ++b) CHECK(idx_int[b] == ref.indices[b]);
}

TEMPLATE_TEST_CASE("the workspace is reusable across shapes", "[quantize]", float, double) {
  using T = TestType;
  latent::vq_workspace<T> ws;
  for (int rep = 0; rep < 3; ++rep) {
    for (const Eigen::Index k : {Eigen::Index(3), Eigen::Index(700), Eigen::Index(17)}) {
      const mat<T> z = gaussian<T>(10, 50 + rep, 51 + std::uint64_t(k));
      const mat<T> e = gaussian<T>(10, k, 52 + std::uint64_t(k));
      check_against_brute_force(z, e, ws);
    }
  }
}

TEST_CASE("quantize with AutoDiffScalar: values as double, derivatives of codes flow",
          "[quantize][autodiff]") {
  using AD = Eigen::AutoDiffScalar<Eigen::VectorXd>;
  const Eigen::Index d = 3, k = 4, b = 5;
  const mat<double> zv = gaussian<double>(d, b, 61);
  const mat<double> ev = gaussian<double>(d, k, 62);
  // Derivatives with respect to every codebook coefficient (d * k of them).
  mat<AD> e(d, k), z(d, b);
  for (Eigen::Index j = 0; j < k; ++j)
    for (Eigen::Index i = 0; i < d; ++i)
      e(i, j) = AD(ev(i, j), d * k, j * d + i);
  for (Eigen::Index j = 0; j < b; ++j)
    for (Eigen::Index i = 0; i < d; ++i) z(i, j) = AD(zv(i, j), Eigen::VectorXd::Zero(d * k));
  const auto r = latent::quantize(z, e);
  const auto rv = latent::quantize(zv, ev);
  CHECK((r.indices == rv.indices).all());
  for (Eigen::Index j = 0; j < b; ++j) {
    const Eigen::Index kk = r.indices[j];
    for (Eigen::Index i = 0; i < d; ++i) {
      CHECK(r.quantized(i, j).value() == ev(i, kk));
      CHECK(r.quantized(i, j).derivatives()[kk * d + i] == 1.0);
      CHECK(r.quantized(i, j).derivatives().sum() == 1.0);
      // d/de_ik ||z - e_k||^2 = -2 (z_i - e_ik)
      CHECK(r.distances[j].derivatives()[kk * d + i] ==
            Approx(-2.0 * (zv(i, j) - ev(i, kk))).margin(1e-14));
    }
    CHECK(r.distances[j].value() == Approx(rv.distances[j]).epsilon(1e-14));
  }
  // The caller-buffer form with an AutoDiff batch and a double workspace.
  latent::vq_workspace<double> ws;
  latent::index_row idx(b);
  mat<AD> q(d, b);
  latent::quantize_into(z, e, idx, q, ws);
  CHECK((idx == rv.indices).all());
  CHECK(latent::vq_squared_distance(z.col(0), e.col(0)) ==
        latent::vq_squared_distance(zv.col(0), ev.col(0)));
}

TEMPLATE_TEST_CASE("squared_distances is the clamped expansion", "[quantize]", float, double) {
  using T = TestType;
  const mat<T> e = gaussian<T>(16, 9, 71);
  mat<T> z = gaussian<T>(16, 12, 72);
  z.col(3) = e.col(4);  // exact zero distance: the expansion may round below 0; clamped
  const mat<T> dd = latent::squared_distances(z, e);
  REQUIRE(dd.rows() == 9);
  REQUIRE(dd.cols() == 12);
  CHECK((dd.array() >= T(0)).all());
  const T tol = std::is_same<T, float>::value ? T(1e-4) : T(1e-12);
  for (Eigen::Index b = 0; b < 12; ++b)
    for (Eigen::Index k = 0; k < 9; ++k) {
      const T ref = latent::vq_squared_distance(z.col(b), e.col(k));
      CHECK(dd(k, b) == Approx(ref).epsilon(tol).margin(tol * 64));
    }
  CHECK(dd(4, 3) <= tol * 64);
}

TEMPLATE_TEST_CASE("quantize error paths", "[quantize][errors]", float, double) {
  using T = TestType;
  const mat<T> z = gaussian<T>(4, 6, 81);
  const mat<T> e = gaussian<T>(4, 5, 82);
  latent::vq_workspace<T> ws;
  latent::index_row idx = latent::index_row::Constant(6, -7);
  mat<T> q = mat<T>::Constant(4, 6, T(3));
  Eigen::Array<T, 1, Eigen::Dynamic> dist(6);

  // Dimension mismatch.
  const mat<T> e3 = gaussian<T>(3, 5, 83);
  CHECK_THROWS_AS(latent::quantize(z, e3), std::invalid_argument);
  CHECK_THROWS_WITH(latent::quantize(z, e3),
                    Catch::Contains("latent::quantize: z has 4 rows (D) but codebook has 3"));
  CHECK_THROWS_WITH(latent::quantize_into(z, e3, idx, q, ws),
                    Catch::Contains("latent::quantize_into: z has 4 rows (D)"));
  CHECK_THROWS_WITH(latent::squared_distances(z, e3),
                    Catch::Contains("latent::squared_distances: z has 4 rows"));
  // Empty codebook.
  const mat<T> e0(4, 0);
  CHECK_THROWS_AS(latent::quantize(z, e0), std::invalid_argument);
  CHECK_THROWS_WITH(latent::quantize(z, e0),
                    Catch::Contains("codebook is empty (4 x 0)"));
  CHECK_THROWS_WITH(latent::nearest_codes_into(z, e0, idx, ws),
                    Catch::Contains("latent::nearest_codes_into: codebook is empty"));
  // Output shapes.
  latent::index_row idx5(5);
  CHECK_THROWS_AS(latent::quantize_into(z, e, idx5, q, ws), std::invalid_argument);
  CHECK_THROWS_WITH(latent::quantize_into(z, e, idx5, q, ws),
                    Catch::Contains("indices has 5 elements, but must have 6"));
  mat<T> q_bad(4, 5);
  CHECK_THROWS_WITH(latent::quantize_into(z, e, idx, q_bad, ws),
                    Catch::Contains("quantized is 4 x 5 but z is 4 x 6"));
  Eigen::Array<T, 1, Eigen::Dynamic> dist_bad(2);
  CHECK_THROWS_WITH(latent::quantize_into(z, e, idx, q, dist_bad, ws),
                    Catch::Contains("distances has 2 elements, but must have 6"));
  // Non-finite data: domain_error naming the column, and nothing written.
  mat<T> zn = z;
  zn(2, 4) = std::numeric_limits<T>::quiet_NaN();
  CHECK_THROWS_AS(latent::quantize_into(zn, e, idx, q, ws), std::domain_error);
  CHECK_THROWS_WITH(latent::quantize_into(zn, e, idx, q, ws),
                    Catch::Contains("the squared norm of z column 4 is nan"));
  mat<T> en = e;
  en(0, 2) = std::numeric_limits<T>::infinity();
  CHECK_THROWS_WITH(latent::quantize(z, en),
                    Catch::Contains("the squared norm of codebook column 2 is inf"));
  mat<T> zbig = z;
  zbig(0, 0) = std::numeric_limits<T>::max() / T(2);  // finite, but its square overflows
  CHECK_THROWS_WITH(latent::quantize_into(zbig, e, idx, q, dist, ws),
                    Catch::Contains("latent::quantize_into: the squared norm of z column 0 is inf"));
  CHECK((idx == -7).all());
  CHECK((q.array() == T(3)).all());
  // vq_squared_distance sizes.
  CHECK_THROWS_AS(latent::vq_squared_distance(z.col(0), e3.col(0)), std::invalid_argument);
  CHECK_THROWS_WITH(latent::vq_squared_distance(z.col(0), e3.col(0)),
                    Catch::Contains("latent::vq_squared_distance: z has 4 elements but e has 3"));
}

TEST_CASE("an empty batch is valid and writes nothing", "[quantize]") {
  const mat<float> z(4, 0);
  const mat<float> e = gaussian<float>(4, 3, 91);
  const auto r = latent::quantize(z, e);
  CHECK(r.indices.size() == 0);
  CHECK(r.quantized.cols() == 0);
}
