// Tests of latent/quantize/hierarchical.hpp: residual quantization against a sequential brute
// force, its properties, VQ-VAE-2 two-level quantization, AutoDiff, errors.
#include <catch2/catch.hpp>

#include <array>
#include <stdexcept>
#include <vector>

#include <Eigen/Dense>
#include <unsupported/Eigen/AutoDiff>

#include "latent/quantize/hierarchical.hpp"
#include "latent/quantize/losses.hpp"
#include "quantize/test_util.hpp"

using vq_test::brute_nearest;
using vq_test::gaussian;
using vq_test::mat;

TEMPLATE_TEST_CASE("residual quantization matches a sequential brute force", "[quantize][rq]",
                   float, double) {
  using T = TestType;
  const Eigen::Index d = 8, b = 150;
  const mat<T> z = gaussian<T>(d, b, 1101);
  std::vector<mat<T>> books;
  books.push_back(gaussian<T>(d, 32, 1102));
  books.push_back(gaussian<T>(d, 16, 1103, 0.5));
  books.push_back(gaussian<T>(d, 700, 1104, 0.25));  // more than one code block
  books.push_back(gaussian<T>(d, 5, 1105, 0.1));
  const auto r = latent::residual_quantize(z, books);
  REQUIRE(r.indices.rows() == 4);
  REQUIRE(r.indices.cols() == b);
  REQUIRE(r.stage_inputs.size() == 4);
  // Reference: the residual recursion with the independent brute force, residuals in T.
  mat<T> res = z, qsum = mat<T>::Zero(d, b);
  for (std::size_t n = 0; n < books.size(); ++n) {
    CHECK(r.stage_inputs[n] == res);
    for (Eigen::Index j = 0; j < b; ++j) {
      const Eigen::Index k = brute_nearest(res, books[n], j, static_cast<T*>(nullptr));
      REQUIRE(r.indices(Eigen::Index(n), j) == k);
      CHECK(r.stage_codes[n].col(j) == books[n].col(k));
    }
    for (Eigen::Index j = 0; j < b; ++j) {
      const Eigen::Index k = r.indices(Eigen::Index(n), j);
      qsum.col(j) += books[n].col(k);
      res.col(j) -= books[n].col(k);
    }
  }
  CHECK(r.quantized == qsum);
  // The caller-buffer form gives the same result, with int indices and a std::array.
  const std::array<mat<T>, 4> arr = {books[0], books[1], books[2], books[3]};
  latent::vq_workspace<T> ws;
  Eigen::ArrayXXi idx(4, b);
  mat<T> q(d, b);
  latent::residual_quantize_into(z, arr, idx, q, ws);
  CHECK((idx.template cast<Eigen::Index>() == r.indices).all());
  CHECK(q == r.quantized);
  // One stage is plain quantization.
  const auto r1 = latent::residual_quantize(z, std::vector<mat<T>>{books[0]});
  const auto q1 = latent::quantize(z, books[0]);
  CHECK((r1.indices.row(0) == q1.indices).all());
}

TEMPLATE_TEST_CASE("residual error never grows when every stage contains the zero code",
                   "[quantize][rq]", float, double) {
  using T = TestType;
  const Eigen::Index d = 6, b = 100;
  const mat<T> z = gaussian<T>(d, b, 1201);
  std::vector<mat<T>> books;
  double scale = 1.0;
  for (int n = 0; n < 5; ++n, scale *= 0.5) {
    mat<T> c = gaussian<T>(d, 24, 1202 + std::uint64_t(n), scale);
    c.col(7).setZero();
    books.push_back(c);
  }
  const auto r = latent::residual_quantize(z, books);
  for (Eigen::Index j = 0; j < b; ++j) {
    T prev = r.stage_inputs[0].col(j).squaredNorm();
    for (std::size_t n = 1; n < books.size(); ++n) {
      const T cur = r.stage_inputs[n].col(j).squaredNorm();
      CHECK(cur <= prev * (T(1) + T(64) * std::numeric_limits<T>::epsilon()));
      prev = cur;
    }
  }
  // More stages, smaller total error on average (strictly, for this data).
  const T err1 = (z - latent::residual_quantize(z, std::vector<mat<T>>{books[0]}).quantized).squaredNorm();
  const T err5 = (z - r.quantized).squaredNorm();
  CHECK(err5 < err1);
}

TEMPLATE_TEST_CASE("two-level quantization: bottom conditioned on the quantized top",
                   "[quantize][vqvae2]", float, double) {
  using T = TestType;
  const Eigen::Index d = 4, b = 60;
  const mat<T> z = gaussian<T>(d, b, 1301);
  const mat<T> top_book = gaussian<T>(d, 12, 1302);
  const mat<T> bottom_book = gaussian<T>(d, 20, 1303, 0.4);
  // With the conditioning "bottom latent = z - quantized top", two-level quantization is
  // two-stage residual quantization: a cross-check of the plumbing.
  int calls = 0;
  const auto r = latent::quantize_two_level(
      z, top_book,
      [&](const mat<T>& top_q) {
        ++calls;
        return mat<T>(z - top_q);
      },
      bottom_book);
  CHECK(calls == 1);
  const auto rq = latent::residual_quantize(z, std::vector<mat<T>>{top_book, bottom_book});
  CHECK((r.top.indices == rq.indices.row(0)).all());
  CHECK((r.bottom.indices == rq.indices.row(1)).all());
  CHECK(r.bottom_latent == rq.stage_inputs[1]);
  // A finer bottom map: each top column conditions 4 bottom columns (2 x 2 upsampling) and
  // the bottom latent lives in another dimension (D_bottom = 3).
  const mat<T> h_bottom = gaussian<T>(3, 4 * b, 1304);
  const mat<T> w = gaussian<T>(3, d, 1305);
  const mat<T> bottom3 = gaussian<T>(3, 9, 1306);
  const auto r2 = latent::quantize_two_level(
      z, top_book,
      [&](const mat<T>& top_q) {
        mat<T> h(3, 4 * b);
        for (Eigen::Index j = 0; j < 4 * b; ++j) h.col(j) = h_bottom.col(j) + w * top_q.col(j / 4);
        return h;
      },
      bottom3);
  REQUIRE(r2.bottom.indices.size() == 4 * b);
  for (Eigen::Index j = 0; j < 4 * b; ++j) {
    const mat<T> expect = h_bottom.col(j) + w * r2.top.quantized.col(j / 4);
    CHECK(r2.bottom_latent.col(j).isApprox(expect.col(0)));
    CHECK(r2.bottom.indices[j] ==
          brute_nearest(r2.bottom_latent, bottom3, j, static_cast<T*>(nullptr)));
  }
  // Both levels' losses are ordinary VQ losses on their own latents.
  const auto lt = latent::vq_loss(z, r2.top.quantized, T(0.25));
  const auto lb = latent::vq_loss(r2.bottom_latent, r2.bottom.quantized, T(0.25));
  CHECK(lt.size() == b);
  CHECK(lb.size() == 4 * b);
}

TEST_CASE("residual quantization with AutoDiffScalar: derivatives flow through the stages",
          "[quantize][rq][autodiff]") {
  using AD = Eigen::AutoDiffScalar<Eigen::VectorXd>;
  const Eigen::Index d = 3, b = 5;
  const mat<double> zv = gaussian<double>(d, b, 1401);
  const std::vector<mat<double>> books_v = {gaussian<double>(d, 6, 1402),
                                            gaussian<double>(d, 4, 1403, 0.3)};
  // Derivatives with respect to the coefficients of z.
  mat<AD> z(d, b);
  for (Eigen::Index j = 0; j < b; ++j)
    for (Eigen::Index i = 0; i < d; ++i) z(i, j) = AD(zv(i, j), d * b, j * d + i);
  std::vector<mat<AD>> books;
  for (const auto& c : books_v) books.push_back(c.cast<AD>());
  const auto r = latent::residual_quantize(z, books);
  const auto rv = latent::residual_quantize(zv, books_v);
  CHECK((r.indices == rv.indices).all());
  // d(stage 1 input)/dz = identity (the subtracted code is a constant).
  for (Eigen::Index j = 0; j < b; ++j)
    for (Eigen::Index i = 0; i < d; ++i) {
      const auto& x = r.stage_inputs[1](i, j);
      CHECK(x.value() == Approx(rv.stage_inputs[1](i, j)).epsilon(1e-15));
      CHECK(x.derivatives()[j * d + i] == 1.0);
      CHECK(x.derivatives().sum() == 1.0);
    }
  latent::vq_workspace<double> ws;
  Eigen::Array<Eigen::Index, Eigen::Dynamic, Eigen::Dynamic> idx(2, b);
  mat<AD> q(d, b);
  latent::residual_quantize_into(z, books, idx, q, ws);
  CHECK((idx == rv.indices).all());
}

TEMPLATE_TEST_CASE("hierarchical error paths", "[quantize][rq][errors]", float, double) {
  using T = TestType;
  const mat<T> z = gaussian<T>(4, 6, 1501);
  latent::vq_workspace<T> ws;
  Eigen::Array<Eigen::Index, Eigen::Dynamic, Eigen::Dynamic> idx =
      Eigen::Array<Eigen::Index, Eigen::Dynamic, Eigen::Dynamic>::Constant(2, 6, -3);
  mat<T> q = mat<T>::Constant(4, 6, T(5));
  const std::vector<mat<T>> none;
  CHECK_THROWS_AS(latent::residual_quantize(z, none), std::invalid_argument);
  CHECK_THROWS_WITH(latent::residual_quantize(z, none),
                    Catch::Contains("latent::residual_quantize: codebooks is empty"));
  const std::vector<mat<T>> bad_d = {gaussian<T>(4, 3, 1502), gaussian<T>(5, 3, 1503)};
  CHECK_THROWS_WITH(latent::residual_quantize(z, bad_d),
                    Catch::Contains("codebook of stage 1 has 5 rows but z has 4"));
  CHECK_THROWS_WITH(latent::residual_quantize_into(z, bad_d, idx, q, ws),
                    Catch::Contains("latent::residual_quantize_into: codebook of stage 1 has 5 rows"));
  const std::vector<mat<T>> empty_stage = {gaussian<T>(4, 3, 1504), mat<T>(4, 0)};
  CHECK_THROWS_WITH(latent::residual_quantize(z, empty_stage),
                    Catch::Contains("codebook of stage 1 is empty (4 x 0)"));
  const std::vector<mat<T>> ok = {gaussian<T>(4, 3, 1505), gaussian<T>(4, 2, 1506)};
  Eigen::Array<Eigen::Index, Eigen::Dynamic, Eigen::Dynamic> idx_bad(3, 6);
  CHECK_THROWS_WITH(latent::residual_quantize_into(z, ok, idx_bad, q, ws),
                    Catch::Contains("indices is 3 x 6 but must be 2 x 6 (stages x batch)"));
  mat<T> q_bad(4, 5);
  CHECK_THROWS_WITH(latent::residual_quantize_into(z, ok, idx, q_bad, ws),
                    Catch::Contains("quantized is 4 x 5 but z is 4 x 6"));
  mat<T> zn = z;
  zn(1, 3) = std::numeric_limits<T>::quiet_NaN();
  CHECK_THROWS_AS(latent::residual_quantize_into(zn, ok, idx, q, ws), std::domain_error);
  CHECK_THROWS_WITH(latent::residual_quantize_into(zn, ok, idx, q, ws),
                    Catch::Contains("the squared norm of z column 3 is nan"));
  std::vector<mat<T>> inf_book = ok;
  inf_book[1](0, 1) = std::numeric_limits<T>::infinity();
  CHECK_THROWS_WITH(latent::residual_quantize_into(z, inf_book, idx, q, ws),
                    Catch::Contains("column 1 of the codebook of stage 1 is inf"));
  CHECK((idx == -3).all());
  CHECK((q.array() == T(5)).all());
  CHECK_THROWS_WITH(latent::residual_quantize(z, inf_book),
                    Catch::Contains("latent::residual_quantize: stage 1: latent::quantize: the "
                                    "squared norm of codebook column 1 is inf"));
  // Two-level.
  const mat<T> top = gaussian<T>(4, 3, 1507);
  const mat<T> bottom = gaussian<T>(2, 3, 1508);
  auto identity = [](const mat<T>& x) { return x; };
  CHECK_THROWS_AS(latent::quantize_two_level(z, top, identity, bottom), std::invalid_argument);
  CHECK_THROWS_WITH(latent::quantize_two_level(z, top, identity, bottom),
                    Catch::Contains("latent::quantize_two_level: the bottom latent has 4 rows but "
                                    "bottom_codebook has 2"));
  CHECK_THROWS_WITH(latent::quantize_two_level(z, bottom, identity, top),
                    Catch::Contains("latent::quantize_two_level: z has 4 rows (D) but codebook has 2"));
  CHECK_THROWS_WITH(latent::quantize_two_level(z, top, identity, mat<T>(4, 0)),
                    Catch::Contains("bottom_codebook is empty (4 x 0)"));
}
