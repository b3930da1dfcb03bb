// Tests of latent/core/math.hpp. Reference values: tools/core_reference.py (mpmath, 50 digits,
// evaluated at the exact double the test passes).
#include "latent/core/math.hpp"

#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>
#include <unsupported/Eigen/AutoDiff>

namespace {

struct ref_row {
  double x, f, df;
};

const ref_row log1p_table[] = {
    {-0.5, -6.9314718055994530942e-1, 2.0},
    {-1e-10, -1.0000000000500000364e-10, 1.0000000001},
    {1e-10, 9.9999999995000003644e-11, 9.9999999990000000001e-1},
    {1e-300, 1.0000000000000000251e-300, 1.0},
    {0.5, 4.0546510810816438198e-1, 6.6666666666666666667e-1},
    {3, 1.3862943611198906188, 2.5e-1},
    {1e10, 2.302585093004045684e+1, 9.9999999990000000001e-11},
};
const ref_row expm1_table[] = {
    {-50, -1.0, 1.928749847963917783e-22},
    {-1e-10, -9.9999999995000003643e-11, 9.999999999e-1},
    {1e-10, 1.0000000000500000364e-10, 1.0000000001},
    {1e-300, 1.0000000000000000251e-300, 1.0},
    {0.5, 6.4872127070012814685e-1, 1.6487212707001281468},
    {3, 1.9085536923187667741e+1, 2.0085536923187667741e+1},
    {50, 5.1847055285870724641e+21, 5.1847055285870724641e+21},
};
const ref_row softplus_table[] = {
    {-100, 3.720075976020835963e-44, 3.720075976020835963e-44},
    {-30, 9.3576229688397367794e-14, 9.3576229688392989538e-14},
    {-1, 3.1326168751822283405e-1, 2.6894142136999512075e-1},
    {0, 6.9314718055994530942e-1, 5.0e-1},
    {1e-8, 6.9314718555994532192e-1, 5.000000025e-1},
    {1, 1.313261687518222834, 7.3105857863000487925e-1},
    {30, 3.0000000000000093576e+1, 9.9999999999990642377e-1},
    {100, 1.0e+2, 1.0},
};
const ref_row sigmoid_table[] = {
    {-100, 3.720075976020835963e-44, 3.720075976020835963e-44},
    {-30, 9.3576229688392989538e-14, 9.3576229688384233028e-14},
    {-1, 2.6894142136999512075e-1, 1.9661193324148185254e-1},
    {0, 5.0e-1, 2.5e-1},
    {1, 7.3105857863000487925e-1, 1.9661193324148185254e-1},
    {30, 9.9999999999990642377e-1, 9.3576229688384233028e-14},
    {100, 1.0, 3.720075976020835963e-44},
};
const ref_row log_sigmoid_table[] = {
    {-100, -1.0e+2, 1.0},
    {-30, -3.0000000000000093576e+1, 9.9999999999990642377e-1},
    {-1, -1.313261687518222834, 7.3105857863000487925e-1},
    {0, -6.9314718055994530942e-1, 5.0e-1},
    {1, -3.1326168751822283405e-1, 2.6894142136999512075e-1},
    {30, -9.3576229688397367794e-14, 9.3576229688392989538e-14},
    {100, -3.720075976020835963e-44, 3.720075976020835963e-44},
};
const ref_row logit_table[] = {
    {1e-10, -2.3025850929840456804e+1, 1.0000000000999999636e+10},
    {0.001, -6.9067547786485534977, 1.0010010010010009802e+3},
    {0.25, -1.0986122886681096914, 5.3333333333333333333},
    {0.5, 0, 4.0},
    {0.75, 1.0986122886681096914, 5.3333333333333333333},
    {0.999999, 1.3815509557935018411e+1, 1.0000009999722443365e+6},
};

using ad = Eigen::AutoDiffScalar<Eigen::VectorXd>;
constexpr double inf = std::numeric_limits<double>::infinity();

ad variable(double x) { return ad(x, Eigen::VectorXd::Unit(1, 0)); }

// Relative error in units of double epsilon (abs error where the reference is 0).
double rel_err(double got, double want) {
  if (want == 0) return std::abs(got);
  return std::abs(got - want) / std::abs(want);
}

template <class F, class N>
void check_table(const char* name, const ref_row* rows, std::size_t n, F f, N, double tol_d) {
  for (std::size_t i = 0; i < n; ++i) {
    const auto& r = rows[i];
    INFO(name << "(" << r.x << ")");
    CHECK(rel_err(f(r.x), r.f) <= tol_d);
    // AutoDiffScalar: value identical to the double path, derivative against mpmath.
    const ad y = f(variable(r.x));
    CHECK(y.value() == f(r.x));
    CHECK(rel_err(y.derivatives()(0), r.df) <= 1e-14);
    // float: the float result against the reference at the float-rounded input.
    const float xf = static_cast<float>(r.x);
    if (static_cast<double>(xf) == r.x && std::abs(r.f) > 1e-30 && std::abs(r.f) < 1e30) {
      CHECK(rel_err(static_cast<double>(f(xf)), r.f) <= 4e-7);
    }
  }
}

}  // namespace

#define TABLE_CHECK(fn, tol)                                                                  \
  check_table(#fn, fn##_table, sizeof(fn##_table) / sizeof(ref_row),                          \
              [](const auto& x) { return latent::fn(x); }, 0, tol)

TEST_CASE("scalar stable math matches mpmath, with exact AutoDiff derivatives", "[core][math]") {
  TABLE_CHECK(log1p, 2e-16);
  TABLE_CHECK(expm1, 2e-16);
  TABLE_CHECK(softplus, 4e-16);
  TABLE_CHECK(sigmoid, 4e-16);
  TABLE_CHECK(log_sigmoid, 4e-16);
  TABLE_CHECK(logit, 4e-16);
}

TEST_CASE("spot values named in the issue", "[core][math]") {
  CHECK(latent::softplus(-100.0) == Approx(3.720075976020835963e-44).epsilon(1e-15));
  CHECK(latent::softplus(100.0) == 100.0);
  CHECK(latent::log1p(1e-10) == Approx(9.9999999995e-11).epsilon(1e-15));
  CHECK(std::isfinite(latent::softplus(1000.0)));
  CHECK(latent::softplus(1000.0) == 1000.0);
  CHECK(latent::softplus(-1000.0) == 0.0);
  CHECK(latent::sigmoid(-1000.0) == 0.0);
  CHECK(latent::sigmoid(1000.0) == 1.0);
  CHECK(latent::softplus(-100.0f) > 0.0f);  // float: subnormal, not 0 and not NaN
}

TEST_CASE("logit at the ends and outside [0, 1]", "[core][math][errors]") {
  CHECK(latent::logit(0.0) == -inf);
  CHECK(latent::logit(1.0) == inf);
  CHECK_THROWS_AS(latent::logit(1.5), std::domain_error);
  CHECK_THROWS_WITH(latent::logit(1.5),
                    "latent::logit: p is 1.5, but must be a probability in [0, 1]");
  CHECK_THROWS_WITH(latent::logit(std::nan("")),
                    "latent::logit: p is nan, but must be a probability in [0, 1]");
  CHECK_THROWS_AS(latent::logit(variable(-0.25)), std::domain_error);
}

TEMPLATE_TEST_CASE("array forms equal the scalar forms", "[core][math]", float, double) {
  using S = TestType;
  Eigen::Array<S, Eigen::Dynamic, 1> x(9);
  x << S(-100), S(-30), S(-1), S(-1e-6), S(0), S(1e-6), S(1), S(30), S(100);
  const Eigen::Array<S, Eigen::Dynamic, 1> sp = latent::softplus(x);
  const Eigen::Array<S, Eigen::Dynamic, 1> ls = latent::log_sigmoid(x);
  const Eigen::Array<S, Eigen::Dynamic, 1> sg = latent::sigmoid(x);
  const S tol = std::numeric_limits<S>::epsilon() * 8;
  for (Eigen::Index i = 0; i < x.size(); ++i) {
    INFO("x = " << x(i));
    CHECK(sp(i) == Approx(latent::softplus(x(i))).epsilon(tol).margin(1e-37));
    CHECK(ls(i) == Approx(latent::log_sigmoid(x(i))).epsilon(tol).margin(1e-37));
    CHECK(sg(i) == Approx(latent::sigmoid(x(i))).epsilon(tol).margin(1e-37));
    CHECK(std::isfinite(sp(i)));
    CHECK(std::isfinite(ls(i)));
  }
  Eigen::Array<S, Eigen::Dynamic, 1> p(4);
  p << S(0.001), S(0.25), S(0.5), S(0.75);
  const Eigen::Array<S, Eigen::Dynamic, 1> lg = latent::logit(p);
  for (Eigen::Index i = 0; i < p.size(); ++i) {
    CHECK(lg(i) == Approx(latent::logit(p(i))).epsilon(tol).margin(tol));
  }
}

TEMPLATE_TEST_CASE("log_sum_exp and log_mean_exp", "[core][math]", float, double) {
  using S = TestType;
  using V = Eigen::Array<S, Eigen::Dynamic, 1>;
  const S tol = std::numeric_limits<S>::epsilon() * 4;
  V a(2);
  a << S(1000), S(1000);
  CHECK(latent::log_sum_exp(a) == Approx(1000.6931471805599453).epsilon(tol));
  CHECK(latent::log_mean_exp(a) == Approx(1000.0).epsilon(tol));
  a << S(-1000), S(-1000);
  CHECK(latent::log_sum_exp(a) == Approx(-999.30685281944005469).epsilon(tol));
  V b(3);
  b << S(1), S(2), S(3);
  CHECK(latent::log_sum_exp(b) == Approx(3.4076059644443803045).epsilon(tol));
  CHECK(latent::log_mean_exp(b) == Approx(2.3089936757762706131).epsilon(tol));
  b << S(1e-3), S(-50), S(700);
  CHECK(latent::log_sum_exp(b) == Approx(700.0).epsilon(tol));
  a << -std::numeric_limits<S>::infinity(), -std::numeric_limits<S>::infinity();
  CHECK(latent::log_sum_exp(a) == -std::numeric_limits<S>::infinity());
  CHECK(latent::log_mean_exp(a) == -std::numeric_limits<S>::infinity());
  a << -std::numeric_limits<S>::infinity(), S(0);
  CHECK(latent::log_sum_exp(a) == Approx(0.0).margin(tol));
  CHECK(latent::log_mean_exp(a) == Approx(-0.69314718055994530942).epsilon(tol));
  a << std::numeric_limits<S>::infinity(), S(0);
  CHECK(latent::log_sum_exp(a) == std::numeric_limits<S>::infinity());
  a << std::numeric_limits<S>::quiet_NaN(), S(0);
  CHECK(std::isnan(latent::log_sum_exp(a)));
  CHECK(latent::log_sum_exp(V(0)) == -std::numeric_limits<S>::infinity());
  CHECK_THROWS_AS(latent::log_mean_exp(V(0)), std::invalid_argument);
  CHECK_THROWS_WITH(latent::log_mean_exp(V(0)),
                    "latent::log_mean_exp: x is empty (0 x 1), but must have at least one element");

  // Per column, and an expression argument equals its evaluated matrix.
  Eigen::Array<S, Eigen::Dynamic, Eigen::Dynamic> m(3, 2);
  m << S(1), S(1000), S(2), S(1000), S(3), -std::numeric_limits<S>::infinity();
  const auto lse = latent::log_sum_exp_colwise(m);
  REQUIRE(lse.cols() == 2);
  CHECK(lse(0) == Approx(3.4076059644443803045).epsilon(tol));
  CHECK(lse(1) == Approx(1000.6931471805599453).epsilon(tol));
  const auto lme = latent::log_mean_exp_colwise(m);
  CHECK(lme(0) == Approx(2.3089936757762706131).epsilon(tol));
  CHECK(lme(1) == Approx(1000.6931471805599453 - std::log(3.0)).epsilon(tol));
  const auto lse2 = latent::log_sum_exp_colwise(m * S(1));
  CHECK((lse2 == lse).all());
  CHECK_THROWS_WITH(latent::log_mean_exp_colwise(Eigen::Array<S, Eigen::Dynamic, Eigen::Dynamic>(0, 3)),
                    Catch::Contains("x has 0 rows"));

  // softmax columns sum to one; log_softmax is finite at large magnitudes.
  Eigen::Array<S, Eigen::Dynamic, Eigen::Dynamic> logits(3, 2);
  logits << S(100), S(-100), S(0), S(-100), S(-100), S(-100);
  const auto sm = latent::softmax_colwise(logits);
  CHECK(sm.col(0).sum() == Approx(1.0).epsilon(4 * tol));
  CHECK(sm.col(1).sum() == Approx(1.0).epsilon(4 * tol));
  CHECK(sm(0, 1) == Approx(1.0 / 3).epsilon(4 * tol));
  const auto lsm = latent::log_softmax_colwise(logits);
  CHECK(lsm.allFinite());
  CHECK(lsm(2, 0) == Approx(-200.0).epsilon(tol));
}

TEST_CASE("array forms work for AutoDiffScalar arrays, with exact derivatives", "[core][math][autodiff]") {
  Eigen::Array<ad, 4, 1> x;
  const double v[4] = {-100.0, -1.0, 0.5, 100.0};
  for (int i = 0; i < 4; ++i) x(i) = variable(v[i]);
  const Eigen::Array<ad, 4, 1> sp = latent::softplus(x);
  const Eigen::Array<ad, 4, 1> ls = latent::log_sigmoid(x);
  const Eigen::Array<ad, 4, 1> sg = latent::sigmoid(x);
  for (int i = 0; i < 4; ++i) {
    INFO("x = " << v[i]);
    CHECK(sp(i).value() == Approx(latent::softplus(v[i])).epsilon(1e-15));
    CHECK(sp(i).derivatives()(0) == Approx(latent::sigmoid(v[i])).epsilon(1e-14));
    CHECK(ls(i).value() == Approx(latent::log_sigmoid(v[i])).epsilon(1e-15));
    CHECK(ls(i).derivatives()(0) == Approx(latent::sigmoid(-v[i])).epsilon(1e-14));
    CHECK(sg(i).value() == Approx(latent::sigmoid(v[i])).epsilon(1e-14));
  }
  Eigen::Array<ad, 2, 1> p;
  p(0) = variable(0.25);
  p(1) = variable(0.999);
  const Eigen::Array<ad, 2, 1> lg = latent::logit(p);
  CHECK(lg(0).value() == Approx(-1.0986122886681098).epsilon(1e-15));
  CHECK(lg(0).derivatives()(0) == Approx(1.0 / (0.25 * 0.75)).epsilon(1e-14));
  CHECK(lg(1).derivatives()(0) == Approx(1.0 / (0.999 * 0.001)).epsilon(1e-12));
}

TEST_CASE("log_sum_exp derivatives through AutoDiffScalar are the softmax weights",
          "[core][math][autodiff]") {
  Eigen::Array<ad, 3, 1> x;
  const double v[3] = {1000.0, 999.0, -5.0};
  for (int i = 0; i < 3; ++i) x(i) = ad(v[i], Eigen::VectorXd::Unit(3, i));
  const ad y = latent::log_sum_exp(x);
  const double z = std::exp(0.0) + std::exp(-1.0) + std::exp(-1005.0);
  CHECK(y.value() == Approx(1000.0 + std::log(z)).epsilon(1e-15));
  CHECK(y.derivatives()(0) == Approx(1.0 / z).epsilon(1e-14));
  CHECK(y.derivatives()(1) == Approx(std::exp(-1.0) / z).epsilon(1e-14));
  CHECK(y.derivatives()(2) == Approx(std::exp(-1005.0) / z).margin(1e-300));
  CHECK(y.derivatives().sum() == Approx(1.0).epsilon(1e-15));
}

// ---------------------------------------------------------------------------------------
// latent::exp_fast against std::exp (glibc's exp and expf are correctly rounded in almost all
// cases, so their results are the reference to within half an ulp).

namespace {

// Distance in units in the last place between two finite or infinite values of the same sign
// (the difference of their bit patterns read as integers; 0 and the smallest subnormal are
// 1 apart, inf and the largest finite value are 1 apart).
template <class S>
double ulp_distance(S a, S b) {
  using I = std::conditional_t<sizeof(S) == 4, std::int32_t, std::int64_t>;
  I ia = 0, ib = 0;
  std::memcpy(&ia, &a, sizeof a);
  std::memcpy(&ib, &b, sizeof b);
  // The difference in integers (as doubles, 2^62-sized patterns would lose the low bits).
  return ia > ib ? static_cast<double>(ia - ib) : static_cast<double>(ib - ia);
}

template <class S>
using col = Eigen::Array<S, Eigen::Dynamic, 1>;

// Max ulp error of exp_fast over n evenly spaced points of [lo, hi].
template <class S>
double max_ulp_error(double lo, double hi, Eigen::Index n, double* where) {
  col<S> x(n);
  for (Eigen::Index i = 0; i < n; ++i) x(i) = static_cast<S>(lo + (hi - lo) * double(i) / double(n - 1));
  const col<S> y = latent::exp_fast(x);
  double worst = 0;
  for (Eigen::Index i = 0; i < n; ++i) {
    const double e = ulp_distance(y(i), static_cast<S>(std::exp(x(i))));
    if (e > worst) {
      worst = e;
      *where = static_cast<double>(x(i));
    }
  }
  return worst;
}

}  // namespace

TEMPLATE_TEST_CASE("exp_fast is within 1 ulp of std::exp over the whole range", "[core][math][exp_fast]",
                   float, double) {
  using S = TestType;
  const bool is_float = std::is_same<S, float>::value;
  // The whole range where exp is neither 0 nor inf, a little beyond both ends, subnormal
  // results included; then the range a VAE log-variance lives in, more densely.
#ifdef LATENT_SANITIZER_BUILD
  const Eigen::Index n_wide = 200001, n_narrow = 100001;
#else
  const Eigen::Index n_wide = 4000001, n_narrow = 1000001;
#endif
  double where = 0;
  const double wide = is_float ? max_ulp_error<S>(-104.5, 89.0, n_wide, &where)
                               : max_ulp_error<S>(-745.5, 709.9, n_wide, &where);
  INFO("worst at x = " << where);
  CHECK(wide <= 1);
  const double narrow = max_ulp_error<S>(-20, 20, n_narrow, &where);
  INFO("worst at x = " << where);
  CHECK(narrow <= 1);
}

TEMPLATE_TEST_CASE("exp_fast: overflow, underflow, subnormals, infinities and NaN", "[core][math][exp_fast]",
                   float, double) {
  using S = TestType;
  using lim = std::numeric_limits<S>;
  const S inf_s = lim::infinity();
  // The largest x with a finite e^x is just below log(max) (88.72 / 709.78).
  const S ln_max = std::nextafter(std::log(lim::max()), S(0));
  const S ln_min_sub = std::log(lim::denorm_min());  // -103.28 / -744.44
  col<S> x(14);
  x << S(0), S(1), S(-1), inf_s, -inf_s, lim::quiet_NaN(), ln_max, std::nextafter(ln_max, inf_s) * S(1.0001),
      lim::max(), lim::lowest(), ln_min_sub, std::log(lim::min()) - S(3), S(-1e30), lim::epsilon();
  const col<S> y = latent::exp_fast(x);
  CHECK(y(0) == S(1));
  CHECK(ulp_distance(y(1), S(std::exp(S(1)))) <= 1);
  CHECK(ulp_distance(y(2), S(std::exp(S(-1)))) <= 1);
  CHECK(y(3) == inf_s);
  CHECK(y(4) == S(0));
  CHECK(std::isnan(y(5)));
  REQUIRE(std::isfinite(std::exp(x(6))));
  CHECK(std::isfinite(y(6)));
  CHECK(ulp_distance(y(6), std::exp(x(6))) <= 1);
  CHECK(y(7) == inf_s);
  CHECK(y(8) == inf_s);
  CHECK(y(9) == S(0));
  // Gradual underflow: subnormal results, not flushed to zero.
  CHECK(y(10) > S(0));
  CHECK(y(10) < lim::min());
  CHECK(ulp_distance(y(10), std::exp(x(10))) <= 1);
  CHECK(y(11) > S(0));
  CHECK(y(11) < lim::min());
  CHECK(ulp_distance(y(11), std::exp(x(11))) <= 1);
  CHECK(y(12) == S(0));
  CHECK(ulp_distance(y(13), std::exp(x(13))) <= 1);
  // NaN with a payload stays NaN.
  col<S> nan_payload(3);
  nan_payload << -lim::quiet_NaN(), lim::signaling_NaN(), std::nan("0x7ff");
  const col<S> yn = latent::exp_fast(nan_payload);
  CHECK(std::isnan(yn(0)));
  CHECK(std::isnan(yn(1)));
  CHECK(std::isnan(yn(2)));
}

TEMPLATE_TEST_CASE("exp_fast: vectorized lanes and the scalar tail give the same bits", "[core][math][exp_fast]",
                   float, double) {
  using S = TestType;
  // Sizes that are not multiples of any packet size put the same inputs both in full packets
  // and in the scalar tail; blocks at an odd offset shift which elements are peeled.
  const S base[7] = {S(-0.7), S(3.25), S(-80), S(40), S(-1e-3), S(0.3466), S(-87.5)};
  for (const Eigen::Index n : {1, 3, 7, 17, 33, 67}) {
    col<S> x(n);
    for (Eigen::Index i = 0; i < n; ++i) x(i) = base[i % 7];
    const col<S> y = latent::exp_fast(x);
    // Writing at offset 1 makes Eigen peel the first elements (scalar path) to align stores.
    col<S> shifted(n + 1);
    shifted.segment(1, n) = latent::exp_fast(x);
    for (Eigen::Index i = 0; i < n; ++i) {
      INFO("n = " << n << ", i = " << i);
      const S one = latent::exp_fast(col<S>::Constant(1, x(i)))(0);  // the scalar path
      CHECK(ulp_distance(y(i), one) == 0);
      CHECK(ulp_distance(shifted(i + 1), one) == 0);
      CHECK(ulp_distance(y(i), S(std::exp(x(i)))) <= 1);
    }
  }
  // A column-major matrix and a strided map (no packet access) agree with the plain array.
  Eigen::Array<S, Eigen::Dynamic, Eigen::Dynamic> m(5, 3);
  for (Eigen::Index i = 0; i < m.size(); ++i) m(i) = base[i % 7];
  const Eigen::Array<S, Eigen::Dynamic, Eigen::Dynamic> ym = latent::exp_fast(m);
  const Eigen::Array<S, Eigen::Dynamic, Eigen::Dynamic> yt = latent::exp_fast(m.transpose());
  for (Eigen::Index j = 0; j < 3; ++j) {
    for (Eigen::Index i = 0; i < 5; ++i) {
      CHECK(ulp_distance(ym(i, j), yt(j, i)) == 0);
    }
  }
}

TEST_CASE("exp_fast on AutoDiffScalar arrays is the standard exp with its derivative",
          "[core][math][exp_fast][autodiff]") {
  Eigen::Array<ad, 3, 1> x;
  const double v[3] = {-2.0, 0.5, 30.0};
  for (int i = 0; i < 3; ++i) x(i) = variable(v[i]);
  const Eigen::Array<ad, 3, 1> y = latent::exp_fast(x);
  for (int i = 0; i < 3; ++i) {
    CHECK(y(i).value() == std::exp(v[i]));
    CHECK(y(i).derivatives()(0) == std::exp(v[i]));
  }
}
