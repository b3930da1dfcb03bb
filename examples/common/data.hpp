// examples/common/data.hpp: 2-D data sets and sample distances for the example programs.
#pragma once

#include <Eigen/Dense>
#include <cmath>
#include <vector>

#include "latent/core/constants.hpp"
#include "latent/random/noise.hpp"
#include "latent/random/philox.hpp"

namespace examples {

using matrix = Eigen::MatrixXf;

/// Swiss roll in 2-D, scaled to unit-ish variance (as in the DDPM tutorials' toy data).
inline matrix swiss_roll(Eigen::Index n, latent::philox4x32& engine) {
  const Eigen::ArrayXf u = latent::rand_uniform<Eigen::ArrayXf>(n, engine);
  const Eigen::ArrayXXf e = latent::randn<Eigen::ArrayXXf>(2, n, engine);
  matrix x(2, n);
  for (Eigen::Index i = 0; i < n; ++i) {
    const float t = 1.5f * latent::pi<float>() * (1.0f + 2.0f * u(i));
    x(0, i) = t * std::cos(t) / 6.0f + 0.05f * e(0, i);
    x(1, i) = t * std::sin(t) / 6.0f + 0.05f * e(1, i);
  }
  return x;
}

/// Mixture of 8 Gaussians on a circle of radius 2 (std 0.15), equal weights.
inline matrix ring_mixture(Eigen::Index n, latent::philox4x32& engine) {
  const Eigen::ArrayXf u = latent::rand_uniform<Eigen::ArrayXf>(n, engine);
  const Eigen::ArrayXXf e = latent::randn<Eigen::ArrayXXf>(2, n, engine);
  matrix x(2, n);
  for (Eigen::Index i = 0; i < n; ++i) {
    const int k = std::min(7, static_cast<int>(u(i) * 8));
    const float a = 2.0f * latent::pi<float>() * static_cast<float>(k) / 8.0f;
    x(0, i) = 2.0f * std::cos(a) + 0.15f * e(0, i);
    x(1, i) = 2.0f * std::sin(a) + 0.15f * e(1, i);
  }
  return x;
}

/// Energy distance (Szekely & Rizzo 2013) between two samples (columns):
/// 2 E|X - Y| - E|X - X'| - E|Y - Y'|, a metric on distributions; 0 iff equal in law.
/// V-statistic form, O(n m) in double.
inline double energy_distance(const matrix& a, const matrix& b) {
  auto mean_dist = [](const matrix& p, const matrix& q) {
    double s = 0;
    for (Eigen::Index j = 0; j < q.cols(); ++j)
      s += (p.colwise() - q.col(j)).colwise().norm().cast<double>().sum();
    return s / (static_cast<double>(p.cols()) * static_cast<double>(q.cols()));
  };
  return 2 * mean_dist(a, b) - mean_dist(a, a) - mean_dist(b, b);
}

/// Columns [first, first + n) of x as a new matrix.
inline matrix take(const matrix& x, Eigen::Index first, Eigen::Index n) {
  return x.middleCols(first, n);
}

inline std::vector<double> row(const matrix& x, Eigen::Index r) {
  std::vector<double> v(static_cast<std::size_t>(x.cols()));
  for (Eigen::Index i = 0; i < x.cols(); ++i) v[static_cast<std::size_t>(i)] = x(r, i);
  return v;
}

}  // namespace examples
