// A linear-Gaussian VAE whose marginal likelihood is exact, shared by the ELBO and IWAE tests:
//   p(z) = N(0, I_2),  p(x|z) = N(W z + c, s^2 I_3),  so  p(x) = N(c, W W^T + s^2 I).
// The encoder q(z|x) = N(m, diag(v)) is deliberately not the exact posterior, so that
// ELBO < log p(x) by a visible gap.
#pragma once

#include <cmath>

#include <Eigen/Cholesky>
#include <Eigen/LU>
#include <Eigen/Core>

#include "latent/objectives/likelihoods.hpp"

namespace vae_test {

struct linear_gaussian {
  Eigen::MatrixXd W{(Eigen::MatrixXd(3, 2) << 1.0, -0.5, 0.3, 0.8, -0.7, 0.4).finished()};
  Eigen::VectorXd c{(Eigen::VectorXd(3) << 0.2, -0.1, 0.5).finished()};
  double s = 0.7;
  Eigen::VectorXd x{(Eigen::VectorXd(3) << 1.1, 0.4, -0.6).finished()};

  /// Exact posterior N(mu_post, Sigma_post): Sigma = (I + W^T W / s^2)^-1, mu = Sigma W^T (x-c)/s^2.
  Eigen::MatrixXd post_cov() const {
    return (Eigen::MatrixXd::Identity(2, 2) + W.transpose() * W / (s * s)).inverse();
  }
  Eigen::VectorXd post_mean() const { return post_cov() * W.transpose() * (x - c) / (s * s); }
  /// The mismatched encoder: shifted mean, inflated diagonal variance.
  Eigen::VectorXd q_mean() const { return post_mean() + Eigen::Vector2d(0.6, -0.5); }
  Eigen::VectorXd q_log_var() const { return (1.5 * post_cov().diagonal().array()).log(); }

  double log_px() const {
    const Eigen::MatrixXd C = W * W.transpose() + s * s * Eigen::MatrixXd::Identity(3, 3);
    Eigen::LLT<Eigen::MatrixXd> llt(C);
    const Eigen::VectorXd r = x - c;
    const double quad = r.dot(llt.solve(r));
    const double logdet = 2 * Eigen::MatrixXd(llt.matrixL()).diagonal().array().log().sum();
    return -0.5 * (quad + logdet + 3 * std::log(2 * M_PI));
  }
  /// Exact ELBO of q: E_q log p(x|z) - KL(q || N(0, I)).
  double exact_elbo() const {
    const Eigen::VectorXd m = q_mean();
    const Eigen::VectorXd v = q_log_var().array().exp();
    const Eigen::VectorXd r = x - W * m - c;
    double tr = 0;
    for (int j = 0; j < 2; ++j) tr += v(j) * W.col(j).squaredNorm();
    const double rec = -0.5 / (s * s) * (r.squaredNorm() + tr) - 3 * std::log(s) -
                       1.5 * std::log(2 * M_PI);
    const double kl = 0.5 * (m.squaredNorm() + v.sum() - 2 - v.array().log().sum());
    return rec - kl;
  }

  /// log p(x|z) for each column of z (2 x B), any scalar type: a 1 x B row.
  template <class Z>
  auto log_likelihood(const Z& z) const {
    using S = typename Z::Scalar;
    const Eigen::Array<S, Eigen::Dynamic, Eigen::Dynamic> mean =
        ((W.cast<S>() * z.matrix()).colwise() + c.cast<S>()).array();
    const Eigen::Array<S, Eigen::Dynamic, Eigen::Dynamic> xs =
        x.cast<S>().replicate(1, z.cols()).array();
    return latent::gaussian_fixed_log_likelihood(xs, mean, s);
  }
  /// log p(x, z) = log p(x|z) + log N(z; 0, I).
  template <class Z>
  auto log_joint(const Z& z) const {
    using S = typename Z::Scalar;
    return Eigen::Array<S, 1, Eigen::Dynamic>(log_likelihood(z) +
                                              latent::standard_normal_log_prob(z.array()));
  }
  /// d log p(x|z) / dz = W^T (x - W z - c) / s^2 for each column.
  Eigen::ArrayXXd grad_log_likelihood(const Eigen::ArrayXXd& z) const {
    const Eigen::MatrixXd r = (-(W * z.matrix())).colwise() + (x - c);
    return (W.transpose() * r / (s * s)).array();
  }
};

}  // namespace vae_test
