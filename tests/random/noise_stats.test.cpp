// Statistical tests of latent's normal and uniform noise, float and double, fixed seeds.
// Tolerances are 5 standard errors of the estimator (derived next to each check), so a wrong
// transform fails them; sample sizes shrink under sanitizers and the tolerances scale with them.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <vector>

#include <Eigen/Core>

#include "latent/random/noise.hpp"

namespace {
#if defined(LATENT_SANITIZER_BUILD)
constexpr Eigen::Index n_moments = 200000;
constexpr Eigen::Index n_ks = 100000;
#else
constexpr Eigen::Index n_moments = 10000000;
constexpr Eigen::Index n_ks = 1000000;
#endif
}  // namespace

TEMPLATE_TEST_CASE("normal moments and tails on 1e7 draws within 5 standard errors",
                   "[random][stats]", float, double) {
  using T = TestType;
  latent::philox4x32 e(20240607, 1);
  Eigen::Array<T, Eigen::Dynamic, 1> z(1 << 20);
  double s1 = 0, s2 = 0, s3 = 0, s4 = 0;
  long long t3 = 0, t4 = 0;
  Eigen::Index done = 0;
  while (done < n_moments) {
    const Eigen::Index m = std::min<Eigen::Index>(z.size(), n_moments - done);
    auto zs = z.head(m);
    latent::fill_randn(zs, e);
    for (Eigen::Index i = 0; i < m; ++i) {
      const double x = zs[i], x2 = x * x;
      s1 += x;
      s2 += x2;
      s3 += x2 * x;
      s4 += x2 * x2;
      t3 += std::abs(x) > 3;
      t4 += std::abs(x) > 4;
    }
    done += m;
  }
  const double n = static_cast<double>(n_moments);
  const double mean = s1 / n, var = s2 / n - mean * mean;
  const double m3 = s3 / n - 3 * mean * s2 / n + 2 * mean * mean * mean;
  const double m4 = s4 / n - 4 * mean * s3 / n + 6 * mean * mean * s2 / n - 3 * mean * mean * mean * mean;
  const double skew = m3 / std::pow(var, 1.5), kurt = m4 / (var * var) - 3;
  // Standard errors under N(0,1): mean 1/sqrt(n); variance sqrt(2/n) (Var z^2 = 2);
  // skewness sqrt(6/n); excess kurtosis sqrt(24/n).
  CHECK(std::abs(mean) < 5 / std::sqrt(n));
  CHECK(std::abs(var - 1) < 5 * std::sqrt(2 / n));
  CHECK(std::abs(skew) < 5 * std::sqrt(6 / n));
  CHECK(std::abs(kurt) < 5 * std::sqrt(24 / n));
  // Tail probabilities erfc(k / sqrt 2) (scipy.stats.norm.sf(k) * 2: 2.6997960632601866e-03 for
  // k = 3 and 6.334248366623996e-05 for k = 4); SE = sqrt(p (1 - p) / n).
  for (int k : {3, 4}) {
    const double p = std::erfc(k / std::sqrt(2.0));
    const double phat = static_cast<double>(k == 3 ? t3 : t4) / n;
    INFO("k = " << k << ", p = " << p << ", observed " << phat);
    CHECK(std::abs(phat - p) < 5 * std::sqrt(p * (1 - p) / n));
  }
}

TEMPLATE_TEST_CASE("Kolmogorov-Smirnov against the normal CDF on 1e6 draws at p = 1e-6",
                   "[random][stats]", float, double) {
  using T = TestType;
  latent::philox4x32 e(777, 5);
  const Eigen::Array<T, Eigen::Dynamic, 1> z = latent::randn<Eigen::Array<T, Eigen::Dynamic, 1>>(n_ks, e);
  std::vector<double> v(z.data(), z.data() + z.size());
  std::sort(v.begin(), v.end());
  double d = 0;
  const double n = static_cast<double>(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) {
    const double f = 0.5 * std::erfc(-v[i] / std::sqrt(2.0));
    d = std::max({d, f - static_cast<double>(i) / n, static_cast<double>(i + 1) / n - f});
  }
  // Asymptotic Kolmogorov distribution: P(sqrt(n) D > x) ~ 2 exp(-2 x^2) = 1e-6 at
  // x = sqrt(log(2e6) / 2) = 2.6936.
  const double critical = std::sqrt(std::log(2e6) / 2) / std::sqrt(n);
  INFO("D = " << d << ", critical " << critical);
  CHECK(d < critical);
}

TEMPLATE_TEST_CASE("uniforms: open interval, mean, variance, KS against U(0,1)", "[random][stats]",
                   float, double) {
  using T = TestType;
  latent::philox4x32 e(31337);
  const Eigen::Array<T, Eigen::Dynamic, 1> u =
      latent::rand_uniform<Eigen::Array<T, Eigen::Dynamic, 1>>(n_ks, e);
  CHECK(u.minCoeff() > T(0));
  CHECK(u.maxCoeff() < T(1));
  const double n = static_cast<double>(n_ks);
  const double mean = u.template cast<double>().mean();
  const double var = (u.template cast<double>() - mean).square().mean();
  // Var U = 1/12, SE(mean) = sqrt(1/(12 n)); Var (U - 1/2)^2 = 1/80 - 1/144, SE(var) = sqrt(that / n).
  CHECK(std::abs(mean - 0.5) < 5 * std::sqrt(1 / (12 * n)));
  CHECK(std::abs(var - 1.0 / 12) < 5 * std::sqrt((1.0 / 80 - 1.0 / 144) / n));
  std::vector<double> v(u.data(), u.data() + u.size());
  std::sort(v.begin(), v.end());
  double d = 0;
  for (std::size_t i = 0; i < v.size(); ++i)
    d = std::max({d, v[i] - static_cast<double>(i) / n, static_cast<double>(i + 1) / n - v[i]});
  CHECK(d < std::sqrt(std::log(2e6) / 2) / std::sqrt(n));
}

TEMPLATE_TEST_CASE("neighbouring streams, substreams and chunks are uncorrelated", "[random][stats]",
                   float, double) {
  using T = TestType;
  const Eigen::Index n = n_ks;
  latent::philox4x32 a(1, 0), b(1, 1);
  const latent::philox4x32 parent(1, 0);
  latent::philox4x32 c = parent.substream(0), d = parent.substream(1);
  using A = Eigen::Array<T, Eigen::Dynamic, 1>;
  const A za = latent::randn<A>(n, a), zb = latent::randn<A>(n, b);
  const A zc = latent::randn<A>(n, c), zd = latent::randn<A>(n, d);
  // Sample correlation of independent normals has SE 1/sqrt(n).
  const double tol = 5 / std::sqrt(static_cast<double>(n));
  const auto corr = [](const A& x, const A& y) {
    return (x.template cast<double>() * y.template cast<double>()).mean();
  };
  CHECK(std::abs(corr(za, zb)) < tol);
  CHECK(std::abs(corr(zc, zd)) < tol);
  CHECK(std::abs(corr(za, zc)) < tol);
  // Lag-1 and lag-16 (neighbouring blocks) autocorrelation inside one stream.
  CHECK(std::abs(corr(za.head(n - 1), za.tail(n - 1))) < tol);
  CHECK(std::abs(corr(za.head(n - 16), za.tail(n - 16))) < tol);
  // The cos and sin outputs of one Box-Muller pair are uncorrelated, and so are their squares
  // (E z0^2 z1^2 = 1 for independent normals; SE sqrt(Var(z0^2 z1^2) / m) = sqrt(8 / m)).
  const Eigen::Index E = latent::detail::chunk_elems<T>;
  const Eigen::Index pair_offset = sizeof(T) == 4 ? 16 : 8;
  double s = 0, s2 = 0;
  Eigen::Index m = 0;
  for (Eigen::Index c0 = 0; c0 + E <= n; c0 += E)
    for (Eigen::Index i = 0; i < pair_offset; ++i) {
      const double x = za[c0 + i], y = za[c0 + i + pair_offset];
      s += x * y;
      s2 += x * x * y * y;
      ++m;
    }
  CHECK(std::abs(s / static_cast<double>(m)) < 5 / std::sqrt(static_cast<double>(m)));
  CHECK(std::abs(s2 / static_cast<double>(m) - 1) < 5 * std::sqrt(8 / static_cast<double>(m)));
}
