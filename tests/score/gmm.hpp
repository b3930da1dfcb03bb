// tests/score/gmm.hpp: a 2-D Gaussian mixture with its exact score, log-density and
// denoiser at every noise level, an exact sampler, and moment checks, for the end-to-end
// tests of the score side.
//
// Under the forward process x_t = a x_0 + s z, the mixture sum_k w_k N(m_k, C_k) becomes
// sum_k w_k N(a m_k, a^2 C_k + s^2 I), so its score is exact at every t:
//     grad log p_t(x) = sum_k r_k(x) P_k (a m_k - x),  P_k = (a^2 C_k + s^2 I)^{-1},
// with responsibilities r_k(x) = softmax_k(log w_k + log N_k(x)). The sigma-space denoiser
// is Tweedie's formula D(x, sigma) = x + sigma^2 grad log p_sigma(x) (a = 1, s = sigma).
//
// Moment checks use soft assignments to the true components: for x ~ p,
//     E[r_k(x)] = w_k,  E[r_k(x)(x - m_k)] = 0,  E[r_k(x)((x - m_k)(x - m_k)^T - C_k)] = 0,
// exactly (E_p[r_k f] = w_k E_{N_k}[f]), for any overlap between components. Each of these
// sample means is compared with 0 using its own standard error.
#pragma once

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include <Eigen/Dense>

#include "latent/core/constants.hpp"
#include "latent/random/noise.hpp"

namespace latent_test {

struct gmm2 {
  std::vector<double> w;
  std::vector<Eigen::Vector2d> m;
  std::vector<Eigen::Matrix2d> C;

  int components() const { return static_cast<int>(w.size()); }

  /// Per-component Gaussian parameters at (a, s): means a m_k, precisions and log-normalizers.
  struct level {
    std::vector<Eigen::Vector2d> mean;
    std::vector<Eigen::Matrix2d> prec;
    std::vector<double> log_norm;  // log w_k - log(2 pi) - 1/2 log det
  };
  level at(double a, double s) const {
    level L;
    for (int k = 0; k < components(); ++k) {
      const Eigen::Matrix2d cov = a * a * C[k] + s * s * Eigen::Matrix2d::Identity();
      L.mean.push_back(a * m[k]);
      L.prec.push_back(cov.inverse());
      L.log_norm.push_back(std::log(w[k]) - latent::log_two_pi<double>() - 0.5 * std::log(cov.determinant()));
    }
    return L;
  }

  /// Writes grad log p_{a,s}(x) (and log p if log_prob != nullptr) for every column.
  template <class X, class O>
  void score(const X& x, double a, double s, O& out, Eigen::ArrayXd* log_prob = nullptr) const {
    using S = typename X::Scalar;
    const level L = at(a, s);
    const int K = components();
    double lw[8];
    Eigen::Vector2d g[8];
    for (Eigen::Index j = 0; j < x.cols(); ++j) {
      const Eigen::Vector2d xj(static_cast<double>(x(0, j)), static_cast<double>(x(1, j)));
      double mx = -INFINITY;
      for (int k = 0; k < K; ++k) {
        const Eigen::Vector2d d = xj - L.mean[k];
        g[k] = -(L.prec[k] * d);
        lw[k] = L.log_norm[k] + 0.5 * d.dot(g[k]);
        mx = std::max(mx, lw[k]);
      }
      double z = 0;
      Eigen::Vector2d sc = Eigen::Vector2d::Zero();
      for (int k = 0; k < K; ++k) {
        const double e = std::exp(lw[k] - mx);
        z += e;
        sc += e * g[k];
      }
      sc /= z;
      out(0, j) = static_cast<S>(sc(0));
      out(1, j) = static_cast<S>(sc(1));
      if (log_prob) (*log_prob)(j) = mx + std::log(z);
    }
  }

  /// Score of the data distribution itself.
  template <class X, class O>
  void score(const X& x, O& out) const { score(x, 1.0, 0.0, out); }

  /// log p(x) per column (writes a 1 x B row).
  template <class X, class R>
  void log_prob(const X& x, R& out) const {
    Eigen::ArrayXd lp(x.cols());
    Eigen::ArrayXXd tmp(2, x.cols());
    score(x, 1.0, 0.0, tmp, &lp);
    for (Eigen::Index j = 0; j < x.cols(); ++j) out(j) = static_cast<typename R::Scalar>(lp(j));
  }

  /// Tweedie denoiser D(x, sigma) = x + sigma^2 grad log p_sigma(x).
  template <class X, class O>
  void denoise(const X& x, double sigma, O& out) const {
    score(x, 1.0, sigma, out);
    out = x + static_cast<typename X::Scalar>(sigma * sigma) * out;
  }

  /// Exact samples into a 2 x B array.
  template <class X>
  void sample(X& out, latent::philox4x32& engine) const {
    const Eigen::ArrayXXd z = latent::randn<Eigen::ArrayXXd>(2, out.cols(), engine);
    const Eigen::ArrayXd u = latent::rand_uniform<Eigen::ArrayXd>(out.cols(), engine);
    std::vector<Eigen::Matrix2d> L;
    for (const auto& c : C) L.push_back(c.llt().matrixL());
    for (Eigen::Index j = 0; j < out.cols(); ++j) {
      int k = 0;
      double acc = w[0];
      while (u(j) > acc && k + 1 < components()) acc += w[++k];
      const Eigen::Vector2d v = m[k] + L[k] * z.col(j).matrix();
      out(0, j) = static_cast<typename X::Scalar>(v(0));
      out(1, j) = static_cast<typename X::Scalar>(v(1));
    }
  }

  /// Overall mixture mean and covariance (for printing).
  Eigen::Vector2d mean() const {
    Eigen::Vector2d mu = Eigen::Vector2d::Zero();
    for (int k = 0; k < components(); ++k) mu += w[k] * m[k];
    return mu;
  }
};

/// Overlapping three-component mixture: chains of ULA/MALA cross between modes quickly.
inline gmm2 near_mixture() {
  gmm2 g;
  g.w = {0.5, 0.3, 0.2};
  g.m = {Eigen::Vector2d(-1.0, 0.0), Eigen::Vector2d(1.0, 0.5), Eigen::Vector2d(0.3, -1.2)};
  Eigen::Matrix2d c0, c1, c2;
  c0 << 0.5, 0.1, 0.1, 0.4;
  c1 << 0.3, -0.05, -0.05, 0.5;
  c2 << 0.4, 0.0, 0.0, 0.2;
  g.C = {c0, c1, c2};
  return g;
}

/// Well-separated mixture (modes about 9 standard deviations apart): the weights are only
/// right if the sampler moves mass globally (annealing, SDE/ODE samplers).
inline gmm2 far_mixture() {
  gmm2 g;
  g.w = {0.7, 0.3};
  g.m = {Eigen::Vector2d(-2.5, 0.0), Eigen::Vector2d(2.5, 1.0)};
  Eigen::Matrix2d c0, c1;
  c0 << 0.3, 0.1, 0.1, 0.25;
  c1 << 0.2, -0.05, -0.05, 0.35;
  g.C = {c0, c1};
  return g;
}

/// One moment statistic: sample mean of a quantity whose exact mean is 0, its standard
/// error, and the bias allowance added to 5 standard errors.
struct moment_check {
  std::string name;
  double error, se, allowance;
  bool ok() const { return std::abs(error) <= 5.0 * se + allowance; }
};

/// Soft-assignment moment checks of samples x (2 x N) against the mixture: for each
/// component k, the weight (error of mean r_k), the mean (error divided by w_k, i.e. in the
/// units of m_k) and the three covariance entries (in the units of C_k). Allowances are
/// absolute, in the same units: weight, mean, covariance.
template <class X>
std::vector<moment_check> check_moments(const gmm2& g, const X& x, double allow_w,
                                        double allow_m, double allow_c) {
  const Eigen::Index N = x.cols();
  const int K = g.components();
  const gmm2::level L = g.at(1.0, 0.0);
  Eigen::ArrayXXd r(K, N);
  for (Eigen::Index j = 0; j < N; ++j) {
    const Eigen::Vector2d xj(static_cast<double>(x(0, j)), static_cast<double>(x(1, j)));
    double mx = -INFINITY;
    for (int k = 0; k < K; ++k) {
      const Eigen::Vector2d d = xj - L.mean[k];
      r(k, j) = L.log_norm[k] - 0.5 * d.dot(L.prec[k] * d);
      mx = std::max(mx, r(k, j));
    }
    r.col(j) = (r.col(j) - mx).exp();
    r.col(j) /= r.col(j).sum();
  }
  std::vector<moment_check> out;
  auto add = [&](const std::string& name, const Eigen::ArrayXd& v, double scale, double allow) {
    const double mean = v.mean();
    const double sd = std::sqrt((v - mean).square().sum() / static_cast<double>(N - 1));
    out.push_back({name, mean / scale, sd / std::sqrt(static_cast<double>(N)) / scale, allow});
  };
  for (int k = 0; k < K; ++k) {
    const std::string c = "component " + std::to_string(k) + " ";
    const Eigen::ArrayXd rk = r.row(k).transpose();
    Eigen::ArrayXd d0(N), d1(N);
    for (Eigen::Index j = 0; j < N; ++j) {
      d0(j) = static_cast<double>(x(0, j)) - g.m[k](0);
      d1(j) = static_cast<double>(x(1, j)) - g.m[k](1);
    }
    add(c + "weight", rk - g.w[k], 1.0, allow_w);
    add(c + "mean[0]", rk * d0, g.w[k], allow_m);
    add(c + "mean[1]", rk * d1, g.w[k], allow_m);
    add(c + "cov(0,0)", rk * (d0 * d0 - g.C[k](0, 0)), g.w[k], allow_c);
    add(c + "cov(0,1)", rk * (d0 * d1 - g.C[k](0, 1)), g.w[k], allow_c);
    add(c + "cov(1,1)", rk * (d1 * d1 - g.C[k](1, 1)), g.w[k], allow_c);
  }
  return out;
}

/// Largest |error| / (5 se + allowance) over the checks (<= 1 passes), for messages.
inline double worst_ratio(const std::vector<moment_check>& checks) {
  double worst = 0;
  for (const auto& c : checks) worst = std::max(worst, std::abs(c.error) / (5.0 * c.se + c.allowance));
  return worst;
}

inline std::string describe(const std::vector<moment_check>& checks) {
  std::string s;
  char buf[160];
  for (const auto& c : checks) {
    std::snprintf(buf, sizeof buf, "%-22s error %+.5f  se %.5f  allowance %.4f %s\n",
                  c.name.c_str(), c.error, c.se, c.allowance, c.ok() ? "" : "FAIL");
    s += buf;
  }
  return s;
}

}  // namespace latent_test
