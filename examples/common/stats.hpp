// examples/common/stats.hpp: small statistics helpers for the example programs (sample mean,
// variance, standard error, histograms as step lines for svg.hpp) and an Adam optimizer for
// plain Eigen parameter blocks.
#pragma once

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <vector>

#include "common/svg.hpp"

namespace examples {

/// Mean, unbiased variance and standard error of the mean of a sample.
struct summary {
  double mean = 0, variance = 0, std_error = 0;
  long n = 0;
};

template <class V>
inline summary summarize(const V& v) {
  summary s;
  s.n = static_cast<long>(v.size());
  if (s.n == 0) return s;
  double m = 0;
  for (Eigen::Index i = 0; i < v.size(); ++i) m += static_cast<double>(v(i));
  m /= static_cast<double>(s.n);
  double q = 0;
  for (Eigen::Index i = 0; i < v.size(); ++i) q += (static_cast<double>(v(i)) - m) * (static_cast<double>(v(i)) - m);
  s.mean = m;
  s.variance = s.n > 1 ? q / static_cast<double>(s.n - 1) : 0.0;
  s.std_error = std::sqrt(s.variance / static_cast<double>(s.n));
  return s;
}

/// A density histogram of v over [lo, hi] with `bins` bins, drawn as a step polyline.
template <class V>
inline series histogram(const std::string& name, const V& v, double lo, double hi, int bins,
                        const std::string& color) {
  std::vector<double> count(static_cast<std::size_t>(bins), 0.0);
  const double w = (hi - lo) / bins;
  for (Eigen::Index i = 0; i < v.size(); ++i) {
    const double x = static_cast<double>(v(i));
    if (x < lo || x > hi) continue;
    const int b = std::min(bins - 1, static_cast<int>((x - lo) / w));
    count[static_cast<std::size_t>(b)] += 1;
  }
  series s;
  s.name = name;
  s.color = color;
  s.line = true;
  const double norm = 1.0 / (static_cast<double>(v.size()) * w);
  s.x.push_back(lo);
  s.y.push_back(0);
  for (int b = 0; b < bins; ++b) {
    s.x.push_back(lo + b * w);
    s.y.push_back(count[static_cast<std::size_t>(b)] * norm);
    s.x.push_back(lo + (b + 1) * w);
    s.y.push_back(count[static_cast<std::size_t>(b)] * norm);
  }
  s.x.push_back(hi);
  s.y.push_back(0);
  return s;
}

/// A straight line from (x0, y) to (x1, y).
inline series hline(const std::string& name, double x0, double x1, double y, const std::string& color) {
  series s;
  s.name = name;
  s.color = color;
  s.line = true;
  s.x = {x0, x1};
  s.y = {y, y};
  return s;
}

/// Adam (Kingma & Ba 2015, Algorithm 1) for one parameter block: call step(param, grad, lr)
/// with the gradient of the loss to minimize.
class adam {
 public:
  explicit adam(double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8)
      : b1_(beta1), b2_(beta2), eps_(eps) {}
  template <class P, class G>
  void step(P& param, const G& grad, double lr) {
    if (m_.size() != param.size()) {
      m_ = Eigen::ArrayXXd::Zero(param.rows(), param.cols());
      v_ = m_;
      t_ = 0;
    }
    ++t_;
    const Eigen::ArrayXXd g = grad.array();
    m_ = b1_ * m_ + (1 - b1_) * g;
    v_ = b2_ * v_ + (1 - b2_) * g.square();
    const double c1 = 1 - std::pow(b1_, t_), c2 = 1 - std::pow(b2_, t_);
    param.array() -= lr * (m_ / c1) / ((v_ / c2).sqrt() + eps_);
  }

 private:
  double b1_, b2_, eps_;
  Eigen::ArrayXXd m_, v_;
  long t_ = 0;
};

}  // namespace examples
