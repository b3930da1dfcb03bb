// examples/common/mlp.hpp: a small multilayer perceptron with hand-written backpropagation
// and Adam, in plain Eigen, for the example programs.
//
// Layers: Linear -> SiLU -> ... -> Linear. Batches are D x B (one sample per column), as
// everywhere in latent. Float throughout: this is the network a user would bring.
#pragma once

#include <Eigen/Dense>
#include <cmath>
#include <random>
#include <vector>

namespace examples {

class mlp {
 public:
  using matrix = Eigen::MatrixXf;
  using vector = Eigen::VectorXf;

  /// sizes = {in, hidden..., out}. He-style initialization from a fixed seed.
  explicit mlp(const std::vector<int>& sizes, unsigned seed = 1) {
    std::mt19937 gen(seed);
    for (std::size_t l = 0; l + 1 < sizes.size(); ++l) {
      const int in = sizes[l], out = sizes[l + 1];
      std::normal_distribution<float> nd(0.0f, std::sqrt(2.0f / static_cast<float>(in)));
      matrix w(out, in);
      for (Eigen::Index i = 0; i < w.size(); ++i) w.data()[i] = nd(gen);
      if (l + 2 == sizes.size()) w *= 0.1f;  // small last layer: start near a zero output
      W_.push_back(w);
      b_.push_back(vector::Zero(out));
    }
    const std::size_t L = W_.size();
    gW_.resize(L); gb_.resize(L);
    mW_.resize(L); vW_.resize(L); mb_.resize(L); vb_.resize(L);
    for (std::size_t l = 0; l < L; ++l) {
      mW_[l] = matrix::Zero(W_[l].rows(), W_[l].cols()); vW_[l] = mW_[l];
      mb_[l] = vector::Zero(b_[l].size()); vb_[l] = mb_[l];
    }
    pre_.resize(L); act_.resize(L + 1);
  }

  /// Forward pass; keeps the activations for backward().
  const matrix& forward(const matrix& x) {
    act_[0] = x;
    const std::size_t L = W_.size();
    for (std::size_t l = 0; l < L; ++l) {
      pre_[l].noalias() = W_[l] * act_[l];
      pre_[l].colwise() += b_[l];
      if (l + 1 < L) {
        // SiLU: z * sigmoid(z)
        act_[l + 1] = pre_[l].array() / (1.0f + (-pre_[l].array()).exp());
      } else {
        act_[l + 1] = pre_[l];
      }
    }
    return act_[L];
  }

  /// Backward pass from dLoss/dOutput (same shape as the output); fills the gradients.
  void backward(const matrix& grad_out) {
    const std::size_t L = W_.size();
    matrix g = grad_out;
    for (std::size_t l = L; l-- > 0;) {
      if (l + 1 < L) {
        const auto z = pre_[l].array();
        const auto s = 1.0f / (1.0f + (-z).exp());
        g = (g.array() * (s * (1.0f + z * (1.0f - s)))).matrix();  // SiLU'
      }
      gW_[l].noalias() = g * act_[l].transpose();
      gb_[l] = g.rowwise().sum();
      if (l > 0) {
        matrix next = W_[l].transpose() * g;
        g.swap(next);
      }
    }
  }

  /// One Adam step (Kingma & Ba 2015, Algorithm 1) with learning rate lr.
  void adam_step(float lr, float beta1 = 0.9f, float beta2 = 0.999f, float eps = 1e-8f) {
    ++t_;
    const float c1 = 1.0f - std::pow(beta1, static_cast<float>(t_));
    const float c2 = 1.0f - std::pow(beta2, static_cast<float>(t_));
    for (std::size_t l = 0; l < W_.size(); ++l) {
      update(W_[l], gW_[l], mW_[l], vW_[l], lr, beta1, beta2, eps, c1, c2);
      update(b_[l], gb_[l], mb_[l], vb_[l], lr, beta1, beta2, eps, c1, c2);
    }
  }

  std::size_t parameter_count() const {
    std::size_t n = 0;
    for (std::size_t l = 0; l < W_.size(); ++l) n += W_[l].size() + b_[l].size();
    return n;
  }

 private:
  template <class P>
  static void update(P& p, const P& g, P& m, P& v, float lr, float b1, float b2, float eps,
                     float c1, float c2) {
    m = b1 * m + (1.0f - b1) * g;
    v = (b2 * v.array() + (1.0f - b2) * g.array().square()).matrix();
    p.array() -= lr * (m.array() / c1) / ((v.array() / c2).sqrt() + eps);
  }

  std::vector<matrix> W_, gW_, mW_, vW_;
  std::vector<vector> b_, gb_, mb_, vb_;
  std::vector<matrix> pre_, act_;
  long t_ = 0;
};

}  // namespace examples
