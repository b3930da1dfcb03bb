// examples/common/gmm.hpp: an isotropic Gaussian mixture with its exact noised score and
// denoiser, for the examples that need a perfect model (no training).
//
// Data x0 ~ sum_k w_k N(mu_k, c_k^2 I). Noised x = a x0 + s eps (VP: a = sqrt(alpha_bar),
// s = sqrt(1 - alpha_bar); VE / sigma-space: a = 1, s = sigma). Then
//   x | k ~ N(a mu_k, v_k I),  v_k = a^2 c_k^2 + s^2,
//   E[x0 | x] = sum_k r_k(x) (mu_k + a c_k^2 / v_k (x - a mu_k)),  r_k = posterior weights,
//   score(x) = sum_k r_k (a mu_k - x) / v_k,   eps_hat = (x - a E[x0 | x]) / s.
#pragma once

#include <Eigen/Dense>
#include <cmath>
#include <vector>

#include "latent/core/math.hpp"
#include "latent/random/noise.hpp"
#include "latent/random/philox.hpp"

namespace examples {

struct gmm {
  Eigen::MatrixXd means;   // D x K
  Eigen::VectorXd stds;    // K
  Eigen::VectorXd weights; // K, sums to 1

  Eigen::Index dim() const { return means.rows(); }
  Eigen::Index components() const { return means.cols(); }

  /// n samples (D x n, float), component choice by inverse CDF of a uniform.
  Eigen::MatrixXf sample(Eigen::Index n, latent::philox4x32& engine) const {
    const Eigen::ArrayXd u = latent::rand_uniform<Eigen::ArrayXd>(n, engine);
    const Eigen::MatrixXd z = latent::randn<Eigen::MatrixXd>(dim(), n, engine);
    Eigen::MatrixXf x(dim(), n);
    for (Eigen::Index i = 0; i < n; ++i) {
      Eigen::Index k = 0;
      double c = weights(0);
      while (u(i) > c && k + 1 < components()) c += weights(++k);
      x.col(i) = (means.col(k) + stds(k) * z.col(i)).cast<float>();
    }
    return x;
  }

  /// Posterior component weights r_k(x) for x = a x0 + s eps (one column).
  template <class V>
  Eigen::VectorXd responsibilities(const V& x, double a, double s) const {
    const Eigen::Index K = components();
    Eigen::VectorXd logp(K);
    const double D = static_cast<double>(dim());
    for (Eigen::Index k = 0; k < K; ++k) {
      const double v = a * a * stds(k) * stds(k) + s * s;
      logp(k) = std::log(weights(k)) - 0.5 * D * std::log(v) -
                0.5 * (x.template cast<double>() - a * means.col(k)).squaredNorm() / v;
    }
    return latent::softmax_colwise(logp).matrix();
  }

  /// E[x0 | x] for each column of x (x = a x0 + s eps). Writes `out` (D x n).
  template <class X, class Out>
  void denoise(const X& x, double a, double s, Out& out) const {
    for (Eigen::Index i = 0; i < x.cols(); ++i) {
      const Eigen::VectorXd xi = x.col(i).template cast<double>();
      const Eigen::VectorXd r = responsibilities(xi, a, s);
      Eigen::VectorXd m = Eigen::VectorXd::Zero(dim());
      for (Eigen::Index k = 0; k < components(); ++k) {
        const double c2 = stds(k) * stds(k), v = a * a * c2 + s * s;
        m += r(k) * (means.col(k) + (a * c2 / v) * (xi - a * means.col(k)));
      }
      out.col(i) = m.cast<typename Out::Scalar>();
    }
  }

  /// eps_hat = (x - a E[x0|x]) / s for each column. Writes `out`.
  template <class X, class Out>
  void epsilon(const X& x, double a, double s, Out& out) const {
    denoise(x, a, s, out);
    for (Eigen::Index i = 0; i < x.cols(); ++i)
      out.col(i) = ((x.col(i).template cast<double>() - a * out.col(i).template cast<double>()) / s)
                       .template cast<typename Out::Scalar>();
  }

  /// Score of the noised density, grad log p(x), x = a x0 + s eps. Writes `out`.
  template <class X, class Out>
  void score(const X& x, double a, double s, Out& out) const {
    for (Eigen::Index i = 0; i < x.cols(); ++i) {
      const Eigen::VectorXd xi = x.col(i).template cast<double>();
      const Eigen::VectorXd r = responsibilities(xi, a, s);
      Eigen::VectorXd g = Eigen::VectorXd::Zero(dim());
      for (Eigen::Index k = 0; k < components(); ++k) {
        const double v = a * a * stds(k) * stds(k) + s * s;
        g += r(k) * (a * means.col(k) - xi) / v;
      }
      out.col(i) = g.cast<typename Out::Scalar>();
    }
  }

  /// Log-density of the clean data at each column (a 1 x n row).
  template <class X>
  Eigen::RowVectorXd log_density(const X& x) const {
    Eigen::RowVectorXd out(x.cols());
    for (Eigen::Index i = 0; i < x.cols(); ++i) {
      const Eigen::VectorXd xi = x.col(i).template cast<double>();
      Eigen::VectorXd lp(components());
      for (Eigen::Index k = 0; k < components(); ++k) {
        const double v = stds(k) * stds(k);
        lp(k) = std::log(weights(k)) - 0.5 * static_cast<double>(dim()) * std::log(2 * M_PI * v) -
                0.5 * (xi - means.col(k)).squaredNorm() / v;
      }
      out(i) = latent::log_sum_exp(lp);
    }
    return out;
  }
};

/// The demo's mixture: 3 components in 2-D with unequal weights.
inline gmm three_blobs() {
  gmm g;
  g.means.resize(2, 3);
  g.means << -2.0, 2.0, 0.0,
             -1.0, -1.0, 2.0;
  g.stds.resize(3);
  g.stds << 0.5, 0.35, 0.6;
  g.weights.resize(3);
  g.weights << 0.5, 0.3, 0.2;
  return g;
}

}  // namespace examples
