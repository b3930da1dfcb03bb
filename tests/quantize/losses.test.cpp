// Tests of latent/quantize/losses.hpp: loss values, analytic gradients vs central finite
// differences and vs AutoDiffScalar, stop-gradient and straight-through semantics, errors.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <stdexcept>

#include <Eigen/Dense>
#include <unsupported/Eigen/AutoDiff>

#include "latent/quantize/losses.hpp"
#include "latent/quantize/nearest.hpp"
#include "quantize/test_util.hpp"

using vq_test::gaussian;
using vq_test::mat;

TEMPLATE_TEST_CASE("VQ losses: values per sample", "[quantize][losses]", float, double) {
  using T = TestType;
  mat<T> z_e(2, 3), z_q(2, 3);
  z_e << 1, 0, 2,  //
      2, -1, 0;
  z_q << 0, 0, 1,  //
      0, 1, 0;
  const T beta = T(0.25);
  const auto cb = latent::vq_codebook_loss(z_e, z_q);
  const auto cm = latent::vq_commitment_loss(z_e, z_q, beta);
  const auto tot = latent::vq_loss(z_e, z_q, beta);
  // Column sums of squared differences: (1 + 4, 0 + 4, 1 + 0).
  const T ref[3] = {5, 4, 1};
  for (int b = 0; b < 3; ++b) {
    CHECK(cb[b] == ref[b]);
    CHECK(cm[b] == beta * ref[b]);
    CHECK(tot[b] == (T(1) + beta) * ref[b]);
  }
  // beta = 0 is allowed (codebook-only training, e.g. with EMA codebooks the other way round).
  CHECK((latent::vq_commitment_loss(z_e, z_q, T(0)) == T(0)).all());
  // The expression-returning functions.
  const mat<T> g = latent::vq_commitment_gradient(z_e, z_q, beta).matrix();
  CHECK(g.isApprox(T(2) * beta * (z_e - z_q)));
  const mat<T> st = latent::straight_through(z_e, z_q).matrix();
  CHECK(st == z_q);
  CHECK(latent::stop_gradient(z_e).matrix() == z_e);
  const mat<T> gq = gaussian<T>(2, 3, 5);
  CHECK(latent::straight_through_gradient(gq).matrix() == gq);
  const mat<T> ge = latent::vq_encoder_gradient(gq, z_e, z_q, beta).matrix();
  CHECK(ge.isApprox(gq + T(2) * beta * (z_e - z_q)));
}

TEMPLATE_TEST_CASE("VQ gradients match central finite differences", "[quantize][losses]", float,
                   double) {
  using T = TestType;
  // Finite differences in double on the double copy of the data, compared with the gradients
  // the library computes in T.
  const Eigen::Index d = 4, k = 6, b = 9;
  const mat<double> zd = gaussian<double>(d, b, 201);
  const mat<double> ed = gaussian<double>(d, k, 202);
  const mat<T> z = zd.cast<T>(), e = ed.cast<T>();
  const auto r = latent::quantize(z, e);
  const double beta = 0.25;
  // Codebook term as a function of E (indices fixed: they are piecewise constant in E).
  auto f_codebook = [&](const mat<double>& E) {
    double s = 0;
    for (Eigen::Index j = 0; j < b; ++j) s += (zd.col(j) - E.col(r.indices[j])).squaredNorm();
    return s;
  };
  // Commitment term as a function of z_e (the codes are constants: sg[e]).
  auto f_commit = [&](const mat<double>& Z) {
    double s = 0;
    for (Eigen::Index j = 0; j < b; ++j) s += beta * (Z.col(j) - ed.col(r.indices[j])).squaredNorm();
    return s;
  };
  mat<T> grad_e(d, k);
  latent::vq_codebook_gradient(z, r.indices, e, grad_e);
  const mat<T> grad_z = latent::vq_commitment_gradient(z, r.quantized, T(beta)).matrix();
  const double h = 1e-6;
  const double tol = std::is_same<T, float>::value ? 1e-5 : 1e-8;
  for (Eigen::Index j = 0; j < k; ++j)
    for (Eigen::Index i = 0; i < d; ++i) {
      mat<double> ep = ed, em = ed;
      ep(i, j) += h;
      em(i, j) -= h;
      const double fd = (f_codebook(ep) - f_codebook(em)) / (2 * h);
      CHECK(double(grad_e(i, j)) == Approx(fd).margin(tol * 10).epsilon(tol * 10));
    }
  for (Eigen::Index j = 0; j < b; ++j)
    for (Eigen::Index i = 0; i < d; ++i) {
      mat<double> zp = zd, zm = zd;
      zp(i, j) += h;
      zm(i, j) -= h;
      const double fd = (f_commit(zp) - f_commit(zm)) / (2 * h);
      CHECK(double(grad_z(i, j)) == Approx(fd).margin(tol * 10).epsilon(tol * 10));
    }
  // Unused codes have zero gradient.
  for (Eigen::Index j = 0; j < k; ++j)
    if (!(r.indices == j).any()) CHECK(grad_e.col(j).isZero(0));
}

TEST_CASE("VQ losses and straight-through with AutoDiffScalar match the analytic gradients",
          "[quantize][losses][autodiff]") {
  using AD = Eigen::AutoDiffScalar<Eigen::VectorXd>;
  const Eigen::Index d = 3, k = 5, b = 4, n = d * b + d * k;
  const mat<double> zv = gaussian<double>(d, b, 301);
  const mat<double> ev = gaussian<double>(d, k, 302);
  const mat<double> w = gaussian<double>(d, b, 303);  // a linear "decoder loss" sum(w .* x)
  mat<AD> z(d, b), e(d, k);
  for (Eigen::Index j = 0; j < b; ++j)
    for (Eigen::Index i = 0; i < d; ++i) z(i, j) = AD(zv(i, j), n, j * d + i);
  for (Eigen::Index j = 0; j < k; ++j)
    for (Eigen::Index i = 0; i < d; ++i) e(i, j) = AD(ev(i, j), n, d * b + j * d + i);
  const double beta = 0.25;
  const auto r = latent::quantize(z, e);  // z_q carries the codebook's derivatives

  // Total: decoder term through the straight-through estimator + both VQ terms.
  const Eigen::Array<AD, Eigen::Dynamic, Eigen::Dynamic> st = latent::straight_through(z, r.quantized);
  AD total = (st * w.cast<AD>().array()).sum() + latent::vq_loss(z, r.quantized, beta).sum();
  const Eigen::VectorXd& g = total.derivatives();

  // Forward value: the straight-through output is exactly z_q.
  for (Eigen::Index j = 0; j < b; ++j)
    for (Eigen::Index i = 0; i < d; ++i)
      CHECK(st(i, j).value() == ev(i, r.indices[j]));

  // Analytic gradients from the library in double.
  const mat<double> zq = r.quantized.unaryExpr([](const AD& x) { return x.value(); });
  const mat<double> g_enc = latent::vq_encoder_gradient(w, zv, zq, beta).matrix();
  mat<double> g_cb(d, k);
  latent::vq_codebook_gradient(zv, r.indices, ev, g_cb);
  for (Eigen::Index j = 0; j < b; ++j)
    for (Eigen::Index i = 0; i < d; ++i)
      CHECK(g[j * d + i] == Approx(g_enc(i, j)).epsilon(1e-13).margin(1e-13));
  for (Eigen::Index j = 0; j < k; ++j)
    for (Eigen::Index i = 0; i < d; ++i)
      CHECK(g[d * b + j * d + i] == Approx(g_cb(i, j)).epsilon(1e-13).margin(1e-13));

  // Each term alone: sg blocks exactly the paths the paper says it blocks.
  const AD cb = latent::vq_codebook_loss(z, r.quantized).sum();
  const AD cm = latent::vq_commitment_loss(z, r.quantized, beta).sum();
  CHECK(cb.derivatives().head(d * b).isZero(0));      // no encoder gradient from the codebook term
  CHECK(cm.derivatives().tail(d * k).isZero(0));      // no codebook gradient from commitment
  CHECK(cb.value() * beta == Approx(cm.value()).epsilon(1e-14));
  const AD sg = latent::stop_gradient(z)(1, 2);
  CHECK(sg.value() == zv(1, 2));
  CHECK(sg.derivatives().isZero(0));
}

TEMPLATE_TEST_CASE("VQ loss error paths", "[quantize][losses][errors]", float, double) {
  using T = TestType;
  const mat<T> z = gaussian<T>(3, 4, 401);
  const mat<T> zq = gaussian<T>(3, 4, 402);
  const mat<T> bad = gaussian<T>(3, 5, 403);
  const mat<T> e = gaussian<T>(3, 6, 404);
  CHECK_THROWS_AS(latent::vq_codebook_loss(z, bad), std::invalid_argument);
  CHECK_THROWS_WITH(latent::vq_codebook_loss(z, bad),
                    Catch::Contains("latent::vq_codebook_loss: z_e is 3 x 4 but z_q is 3 x 5"));
  CHECK_THROWS_WITH(latent::vq_commitment_loss(z, bad, T(0.25)),
                    Catch::Contains("latent::vq_commitment_loss: z_e is 3 x 4"));
  CHECK_THROWS_WITH(latent::vq_loss(z, bad, T(0.25)), Catch::Contains("latent::vq_loss: z_e"));
  CHECK_THROWS_WITH(latent::straight_through(z, bad),
                    Catch::Contains("latent::straight_through: z_e is 3 x 4"));
  CHECK_THROWS_WITH(latent::vq_commitment_gradient(z, bad, T(1)),
                    Catch::Contains("latent::vq_commitment_gradient: z_e is 3 x 4"));
  CHECK_THROWS_WITH(latent::vq_encoder_gradient(bad, z, zq, T(1)),
                    Catch::Contains("latent::vq_encoder_gradient: grad_z_q is 3 x 5"));
  // beta
  CHECK_THROWS_AS(latent::vq_commitment_loss(z, zq, T(-0.5)), std::domain_error);
  CHECK_THROWS_WITH(latent::vq_commitment_loss(z, zq, T(-0.5)),
                    Catch::Contains("latent::vq_commitment_loss: beta is -0.5, but must be "
                                    "non-negative and finite"));
  CHECK_THROWS_WITH(latent::vq_loss(z, zq, std::numeric_limits<T>::quiet_NaN()),
                    Catch::Contains("latent::vq_loss: beta is nan"));
  CHECK_THROWS_WITH(latent::vq_commitment_gradient(z, zq, T(-1)),
                    Catch::Contains("latent::vq_commitment_gradient: beta is -1"));
  CHECK_THROWS_WITH(latent::vq_encoder_gradient(zq, z, zq, std::numeric_limits<T>::infinity()),
                    Catch::Contains("latent::vq_encoder_gradient: beta is inf"));
  // Codebook gradient: shapes and indices; nothing written on failure.
  latent::index_row idx(4);
  idx << 0, 5, 2, 1;
  mat<T> g = mat<T>::Constant(3, 6, T(9));
  latent::index_row idx3(3);
  idx3 << 0, 1, 2;
  CHECK_THROWS_WITH(latent::vq_codebook_gradient(z, idx3, e, g),
                    Catch::Contains("latent::vq_codebook_gradient: indices has 3 elements, but "
                                    "must have 4"));
  const mat<T> e2 = gaussian<T>(2, 6, 405);
  CHECK_THROWS_WITH(latent::vq_codebook_gradient(z, idx, e2, g),
                    Catch::Contains("codebook has 2 rows, but must have 3"));
  mat<T> g_bad(3, 5);
  CHECK_THROWS_WITH(latent::vq_codebook_gradient(z, idx, e, g_bad),
                    Catch::Contains("grad is 3 x 5 but codebook is 3 x 6"));
  idx[2] = 6;
  CHECK_THROWS_AS(latent::vq_codebook_gradient(z, idx, e, g), std::domain_error);
  CHECK_THROWS_WITH(latent::vq_codebook_gradient(z, idx, e, g),
                    Catch::Contains("latent::vq_codebook_gradient: indices[2] = 6 is out of "
                                    "range [0, 5]"));
  idx[2] = -1;
  CHECK_THROWS_WITH(latent::vq_codebook_gradient(z, idx, e, g),
                    Catch::Contains("indices[2] = -1 is out of range [0, 5]"));
  CHECK((g.array() == T(9)).all());
}
