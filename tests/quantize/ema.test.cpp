// Tests of latent/quantize/ema.hpp: EMA codebook updates against numpy reference values
// (tools/vq_reference.py), usage counts, perplexity, dead-code restarts, errors.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <stdexcept>

#include <Eigen/Dense>

#include "latent/quantize/ema.hpp"
#include "latent/quantize/nearest.hpp"
#include "latent/random/philox.hpp"
#include "quantize/test_util.hpp"

using vq_test::gaussian;
using vq_test::mat;

namespace {
template <class T>
T rel_tol() {
  return std::is_same<T, float>::value ? T(2e-6) : T(1e-14);
}
}  // namespace

TEMPLATE_TEST_CASE("EMA codebook update matches the numpy reference", "[quantize][ema]", float,
                   double) {
  using T = TestType;
  // Example and values from tools/vq_reference.py ("EMA example: D = 2, K = 3, decay = 0.5,
  // eps = 0.1"). By hand, step 1 without debiasing: n = (2, 2, 0), N = (1, 1, 0),
  // m_0 = 0.5 * 0 + 0.5 * (0.5, 2) = (0.25, 1), n_tot = 2, N~_0 = 1.1 / 2.3 * 2 = 0.9565...,
  // e_0 = (0.26136..., 1.04545...). Code 2 is unused: N~_2 = 0.1 / 2.3 * 2, e_2 = 0.5 e_2 / N~_2
  // = (11.5, 5.75): the well-known blow-up of unused codes without restarts.
  mat<T> codebook(2, 3);
  codebook << 0, 1, 2,  //
      0, 0, 1;
  mat<T> z1(2, 4), z2(2, 2);
  z1 << 0.5, 1.0, 1.5, 0.0,  //
      0.0, 1.0, -1.0, 2.0;
  z2 << 2, 3,  //
      1, 1;
  latent::index_row i1(4), i2(2);
  i1 << 0, 1, 1, 0;
  i2 << 2, 2;
  const double ref[2][2][2][3] = {
      // zero_debias = false
      {{{0.2613636363636363, 1.8295454545454544, 11.499999999999998},
        {1.0454545454545452, 0.0, 5.749999999999999}},
       {{0.23958333333333334, 1.6770833333333335, 3.136363636363636},
        {0.9583333333333334, 0.0, 1.3068181818181817}}},
      // zero_debias = true
      {{{0.25595238095238093, 1.2797619047619047, 0.0},
        {1.0238095238095237, 0.0, 0.0}},
       {{0.24184782608695654, 1.2092391304347827, 2.5872093023255816},
        {0.9673913043478262, 0.0, 1.0348837209302326}}}};
  for (int debias = 0; debias < 2; ++debias) {
    auto st = latent::make_vq_ema_state(codebook, 0.5, 0.1, debias == 1);
    mat<T> e = codebook;
    latent::vq_ema_update(st, z1, i1, e);
    for (int r = 0; r < 2; ++r)
      for (int c = 0; c < 3; ++c) {
        INFO("debias " << debias << " step 1 (" << r << ", " << c << ")");
        CHECK(e(r, c) == Approx(ref[debias][0][r][c]).epsilon(rel_tol<T>()).margin(1e-12));
      }
    latent::vq_ema_update(st, z2, i2, e);
    for (int r = 0; r < 2; ++r)
      for (int c = 0; c < 3; ++c) {
        INFO("debias " << debias << " step 2 (" << r << ", " << c << ")");
        CHECK(e(r, c) == Approx(ref[debias][1][r][c]).epsilon(rel_tol<T>()).margin(1e-12));
      }
    CHECK(st.steps == 2);
    // Averaged counts: hidden (0.5, 0.5, 1) after two steps; debiased by 1 / (1 - 0.25).
    const auto n = latent::vq_ema_counts(st);
    const double c = debias ? 1.0 / 0.75 : 1.0;
    CHECK(n[0] == Approx(0.5 * c).epsilon(rel_tol<T>()));
    CHECK(n[2] == Approx(1.0 * c).epsilon(rel_tol<T>()));
  }
}

TEMPLATE_TEST_CASE("EMA with decay 0 is one k-means step (up to Laplace smoothing)",
                   "[quantize][ema]", float, double) {
  using T = TestType;
  const mat<T> z = gaussian<T>(5, 400, 501);
  const mat<T> e0 = gaussian<T>(5, 8, 502);
  const auto r = latent::quantize(z, e0);
  auto st = latent::make_vq_ema_state(e0, 0.0, 1e-9);
  mat<T> e = e0;
  latent::vq_ema_update(st, z, r.indices, e);
  const auto counts = latent::code_usage(r.indices, 8);
  for (Eigen::Index k = 0; k < 8; ++k) {
    if (counts[k] == 0) continue;
    Eigen::Matrix<double, Eigen::Dynamic, 1> mean = Eigen::VectorXd::Zero(5);
    for (Eigen::Index b = 0; b < 400; ++b)
      if (r.indices[b] == k) mean += z.col(b).template cast<double>();
    mean /= double(counts[k]);
    for (Eigen::Index i = 0; i < 5; ++i)
      CHECK(double(e(i, k)) == Approx(mean[i]).epsilon(1e-5).margin(1e-5));
  }
}

TEST_CASE("code usage and perplexity match the numpy reference", "[quantize][ema]") {
  // Values from tools/vq_reference.py ("# perplexity").
  latent::index_row idx(10);
  idx << 0, 2, 0, 3, 2, 0, 0, 2, 3, 0;  // counts (5, 0, 3, 2)
  const auto counts = latent::code_usage(idx, 4);
  CHECK(counts[0] == 5);
  CHECK(counts[1] == 0);
  CHECK(counts[2] == 3);
  CHECK(counts[3] == 2);
  CHECK(latent::perplexity(counts) == Approx(2.800094072853831).epsilon(1e-15));
  CHECK(latent::perplexity(idx, 4) == Approx(2.800094072853831).epsilon(1e-15));
  CHECK(latent::perplexity(Eigen::Array4i(1, 1, 1, 1)) == Approx(4.0).epsilon(1e-15));
  CHECK(latent::perplexity(Eigen::Array<int, 1, 1>(7)) == 1.0);
  CHECK(latent::perplexity(Eigen::Array3d(0.5, 1.5, 2.0)) ==
        Approx(2.649351128562104).epsilon(1e-15));
  Eigen::ArrayXf c8(8);
  c8 << 1, 2, 3, 4, 5, 6, 7, 8;
  CHECK(latent::perplexity(c8) == Approx(6.936503791002586).epsilon(1e-6));
  // Counts into an existing double buffer.
  Eigen::ArrayXd cd(4);
  latent::code_usage_into(idx, cd);
  CHECK(cd[2] == 3.0);
}

TEMPLATE_TEST_CASE("dead codes are re-initialized from chosen batch columns", "[quantize][ema]",
                   float, double) {
  using T = TestType;
  const mat<T> z = gaussian<T>(3, 6, 601);
  mat<T> e = gaussian<T>(3, 5, 602);
  const mat<T> e_before = e;
  Eigen::Array<double, 1, Eigen::Dynamic> usage(5);
  usage << 4, 0, 2, 0.5, 0;  // threshold 1: codes 1, 3, 4 are dead
  Eigen::Array<int, 1, Eigen::Dynamic> chosen(4);
  chosen << 5, 0, 2, 1;  // the last entry is unused
  CHECK(latent::vq_reinit_dead_codes(e, usage, 1.0, z, chosen) == 3);
  CHECK(e.col(0) == e_before.col(0));
  CHECK(e.col(1) == z.col(5));
  CHECK(e.col(2) == e_before.col(2));
  CHECK(e.col(3) == z.col(0));
  CHECK(e.col(4) == z.col(2));
  // Nothing dead: nothing happens, chosen may be empty.
  const Eigen::Array<int, 1, Eigen::Dynamic> none(0);
  CHECK(latent::vq_reinit_dead_codes(e, usage, 0.0, z, none) == 0);
}

TEMPLATE_TEST_CASE("dead-code restarts from the engine", "[quantize][ema]", float, double) {
  using T = TestType;
  const mat<T> z = gaussian<T>(2, 7, 701);
  const mat<T> e0 = gaussian<T>(2, 6, 702);
  Eigen::Array<Eigen::Index, 1, Eigen::Dynamic> usage(6);
  usage << 0, 3, 0, 0, 9, 0;
  mat<T> e1 = e0, e2 = e0;
  latent::philox4x32 g1(42), g2(42);
  CHECK(latent::vq_reinit_dead_codes(e1, usage, 1.0, z, g1) == 4);
  CHECK(latent::vq_reinit_dead_codes(e2, usage, 1.0, z, g2) == 4);
  CHECK(e1 == e2);  // same seed, same restarts
  for (const Eigen::Index k : {0, 2, 3, 5}) {
    bool found = false;
    for (Eigen::Index b = 0; b < 7; ++b) found = found || (e1.col(k) == z.col(b));
    CHECK(found);
  }
  CHECK(e1.col(1) == e0.col(1));
  // The engine advances by K uniforms whatever the number of dead codes.
  latent::philox4x32 g3(42);
  Eigen::Array<Eigen::Index, 1, Eigen::Dynamic> all_used = Eigen::Array<Eigen::Index, 1, 6>::Constant(5);
  mat<T> e3 = e0;
  CHECK(latent::vq_reinit_dead_codes(e3, all_used, 1.0, z, g3) == 0);
  CHECK(g3.offset() == g1.offset());
}

TEST_CASE("dead-code restarts choose batch columns uniformly (chi-square)", "[quantize][ema]") {
  // K = 500 dead codes per call, 20 calls: N = 10000 draws over B = 10 columns, expected 1000
  // each. Pearson's statistic has 9 degrees of freedom; the test fails at p = 1e-6, i.e. above
  // chi2.isf(1e-6, 9) = 44.81 (scipy).
  const Eigen::Index b = 10, k = 500;
  mat<double> z(1, b);
  for (Eigen::Index j = 0; j < b; ++j) z(0, j) = double(j);
  const Eigen::ArrayXd usage = Eigen::ArrayXd::Zero(k);
  latent::philox4x32 gen(2024, 3);
  Eigen::ArrayXd hist = Eigen::ArrayXd::Zero(b);
  for (int rep = 0; rep < 20; ++rep) {
    mat<double> e = mat<double>::Constant(1, k, -1.0);
    REQUIRE(latent::vq_reinit_dead_codes(e, usage, 0.5, z, gen) == k);
    for (Eigen::Index j = 0; j < k; ++j) hist[Eigen::Index(e(0, j))] += 1;
  }
  const double expected = 20.0 * k / b;
  const double chi2 = ((hist - expected).square() / expected).sum();
  CHECK(chi2 < 44.81);
}

TEMPLATE_TEST_CASE("EMA dead-code restarts reset the statistics", "[quantize][ema]", float,
                   double) {
  using T = TestType;
  for (const bool debias : {false, true}) {
    const mat<T> e0 = gaussian<T>(3, 4, 801);
    mat<T> z = gaussian<T>(3, 5, 802);
    auto st = latent::make_vq_ema_state(e0, 0.9, 1e-5, debias);
    mat<T> e = e0;
    latent::index_row idx(5);
    idx << 0, 0, 2, 2, 0;  // codes 1 and 3 unused
    latent::vq_ema_update(st, z, idx, e);
    Eigen::Array<int, 1, Eigen::Dynamic> chosen(2);
    chosen << 4, 1;
    // Averaged counts: N_0 = 0.3 (0.1 * 3), N_2 = 0.2 (debiased: 3 and 2); threshold 0.1 kills
    // 1 and 3 only.
    CHECK(latent::vq_ema_reinit_dead_codes(st, e, 0.1, z, chosen) == 2);
    CHECK(e.col(1) == z.col(4));
    CHECK(e.col(3) == z.col(1));
    const auto n = latent::vq_ema_counts(st);
    CHECK(double(n[1]) == Approx(1.0).epsilon(1e-6));
    CHECK(double(n[3]) == Approx(1.0).epsilon(1e-6));
    // An update in which the restarted codes win nothing keeps them near their new value
    // (no blow-up): m and N decay together.
    latent::index_row idx2(5);
    idx2 << 0, 0, 2, 2, 0;
    mat<T> e_next = e;
    latent::vq_ema_update(st, z, idx2, e_next);
    // e_1 = m_1 / N~_1 with m_1 = N_1 z_4 (both decayed by the same factor):
    // e_1 = z_4 N_1 / ((N_1 + eps) n / (n + K eps)).
    const auto counts = latent::vq_ema_counts(st);
    const double n_tot = double(counts.sum());
    const double n1 = double(counts[1]);
    CHECK(n1 == Approx(debias ? 0.9 * 0.1 / (1 - 0.81) : 0.9).epsilon(1e-6));
    const double ratio = (n_tot + 4 * 1e-5) / n_tot;
    for (Eigen::Index i = 0; i < 3; ++i)
      CHECK(double(e_next(i, 1)) ==
            Approx(double(z(i, 4)) * n1 / (n1 + 1e-5) * ratio).epsilon(1e-6));
    // Engine form: same seed, same result.
    auto st_a = latent::make_vq_ema_state(e0, 0.9, 1e-5, debias);
    auto st_b = st_a;
    mat<T> ea = e0, eb = e0;
    latent::vq_ema_update(st_a, z, idx, ea);
    latent::vq_ema_update(st_b, z, idx, eb);
    latent::philox4x32 ga(9), gb(9);
    CHECK(latent::vq_ema_reinit_dead_codes(st_a, ea, 0.1, z, ga) == 2);
    CHECK(latent::vq_ema_reinit_dead_codes(st_b, eb, 0.1, z, gb) == 2);
    CHECK(ea == eb);
  }
}

TEMPLATE_TEST_CASE("EMA and usage error paths", "[quantize][ema][errors]", float, double) {
  using T = TestType;
  const mat<T> e = gaussian<T>(3, 4, 901);
  const mat<T> z = gaussian<T>(3, 5, 902);
  latent::index_row idx(5);
  idx << 0, 1, 2, 3, 0;
  // make_vq_ema_state
  CHECK_THROWS_AS(latent::make_vq_ema_state(e, 1.0), std::domain_error);
  CHECK_THROWS_WITH(latent::make_vq_ema_state(e, 1.0),
                    Catch::Contains("latent::make_vq_ema_state: decay is 1, but must be in [0, 1)"));
  CHECK_THROWS_WITH(latent::make_vq_ema_state(e, -0.1), Catch::Contains("decay is -0.1"));
  CHECK_THROWS_WITH(latent::make_vq_ema_state(e, std::nan("")), Catch::Contains("decay is nan"));
  CHECK_THROWS_AS(latent::make_vq_ema_state(e, 0.99, 0.0), std::domain_error);
  CHECK_THROWS_WITH(latent::make_vq_ema_state(e, 0.99, 0.0),
                    Catch::Contains("epsilon is 0, but must be positive and finite"));
  CHECK_THROWS_WITH(latent::make_vq_ema_state(e, 0.99, -1e-5), Catch::Contains("epsilon is -1e-05"));
  const mat<T> empty(3, 0);
  CHECK_THROWS_AS(latent::make_vq_ema_state(empty), std::invalid_argument);
  CHECK_THROWS_WITH(latent::make_vq_ema_state(empty), Catch::Contains("codebook is empty (3 x 0)"));
  // vq_ema_update
  auto st = latent::make_vq_ema_state(e);
  mat<T> out = mat<T>::Constant(3, 4, T(7));
  const mat<T> z2 = gaussian<T>(2, 5, 903);
  CHECK_THROWS_AS(latent::vq_ema_update(st, z2, idx, out), std::invalid_argument);
  CHECK_THROWS_WITH(latent::vq_ema_update(st, z2, idx, out),
                    Catch::Contains("latent::vq_ema_update: z has 2 rows, but must have 3"));
  latent::index_row idx4(4);
  idx4 << 0, 1, 2, 3;
  CHECK_THROWS_WITH(latent::vq_ema_update(st, z, idx4, out),
                    Catch::Contains("indices has 4 elements, but must have 5"));
  mat<T> out_bad(3, 5);
  CHECK_THROWS_WITH(latent::vq_ema_update(st, z, idx, out_bad),
                    Catch::Contains("codebook is 3 x 5 but the state is for 3 x 4 codebooks"));
  CHECK_THROWS_WITH(latent::vq_ema_update(st, empty, latent::index_row(0), out),
                    Catch::Contains("latent::vq_ema_update: z is empty (3 x 0)"));
  latent::index_row idx_bad = idx;
  idx_bad[3] = 4;
  CHECK_THROWS_AS(latent::vq_ema_update(st, z, idx_bad, out), std::domain_error);
  CHECK_THROWS_WITH(latent::vq_ema_update(st, z, idx_bad, out),
                    Catch::Contains("latent::vq_ema_update: indices[3] = 4 is out of range [0, 3]"));
  latent::vq_ema_state<T> blank;
  CHECK_THROWS_WITH(latent::vq_ema_update(blank, z, idx, out),
                    Catch::Contains("state is not initialized"));
  CHECK(st.steps == 0);
  CHECK((out.array() == T(7)).all());
  // usage and perplexity
  CHECK_THROWS_AS(latent::code_usage(idx, 0), std::domain_error);
  CHECK_THROWS_WITH(latent::code_usage(idx, 0),
                    Catch::Contains("latent::code_usage: K = 0 is out of range [1, inf)"));
  CHECK_THROWS_WITH(latent::code_usage(idx, 3),
                    Catch::Contains("latent::code_usage_into: indices[3] = 3 is out of range [0, 2]"));
  Eigen::ArrayXd no_counts(0);
  CHECK_THROWS_AS(latent::code_usage_into(idx, no_counts), std::invalid_argument);
  CHECK_THROWS_AS(latent::perplexity(Eigen::Array3d(1, -1, 2)), std::domain_error);
  CHECK_THROWS_WITH(latent::perplexity(Eigen::Array3d(1, -1, 2)),
                    Catch::Contains("latent::perplexity: counts[1] is -1, but must be non-negative"));
  CHECK_THROWS_WITH(latent::perplexity(Eigen::Array3d(0, 0, 0)),
                    Catch::Contains("latent::perplexity: the total count is 0, but must be positive"));
  CHECK_THROWS_WITH(latent::perplexity(Eigen::ArrayXd(0)),
                    Catch::Contains("latent::perplexity: counts is empty"));
  CHECK_THROWS_WITH(latent::perplexity(latent::index_row(0), 4),
                    Catch::Contains("latent::perplexity: indices is empty"));
  // dead-code restarts
  mat<T> e_mut = e;
  Eigen::ArrayXd usage(4);
  usage << 0, 1, 0, 5;
  Eigen::ArrayXi chosen(1);
  chosen << 2;
  CHECK_THROWS_AS(latent::vq_reinit_dead_codes(e_mut, usage, 0.5, z, chosen),
                  std::invalid_argument);
  CHECK_THROWS_WITH(latent::vq_reinit_dead_codes(e_mut, usage, 0.5, z, chosen),
                    Catch::Contains("latent::vq_reinit_dead_codes: chosen has 1 elements but 2 "
                                    "codes are dead"));
  Eigen::ArrayXi chosen_bad(2);
  chosen_bad << 2, 5;
  CHECK_THROWS_AS(latent::vq_reinit_dead_codes(e_mut, usage, 0.5, z, chosen_bad),
                  std::domain_error);
  CHECK_THROWS_WITH(latent::vq_reinit_dead_codes(e_mut, usage, 0.5, z, chosen_bad),
                    Catch::Contains("chosen[1] = 5 is out of range [0, 4]"));
  CHECK_THROWS_WITH(latent::vq_reinit_dead_codes(e_mut, usage, std::nan(""), z, chosen_bad),
                    Catch::Contains("latent::vq_reinit_dead_codes: threshold is nan"));
  CHECK_THROWS_WITH(latent::vq_reinit_dead_codes(e_mut, Eigen::ArrayXd::Zero(3), 0.5, z, chosen_bad),
                    Catch::Contains("usage has 3 elements, but must have 4"));
  CHECK_THROWS_WITH(latent::vq_reinit_dead_codes(e_mut, usage, 0.5, z2, chosen_bad),
                    Catch::Contains("z has 2 rows, but must have 3"));
  latent::philox4x32 gen(1);
  CHECK_THROWS_WITH(latent::vq_reinit_dead_codes(e_mut, usage, 0.5, empty, gen),
                    Catch::Contains("latent::vq_reinit_dead_codes: z is empty"));
  CHECK(e_mut == e);
  mat<T> e_wrong(3, 5);
  CHECK_THROWS_WITH(latent::vq_ema_reinit_dead_codes(st, e_wrong, 0.5, z, chosen_bad),
                    Catch::Contains("latent::vq_ema_reinit_dead_codes: codebook is 3 x 5"));
  CHECK_THROWS_WITH(latent::vq_ema_reinit_dead_codes(blank, e_mut, 0.5, z, gen),
                    Catch::Contains("state is not initialized"));
}
