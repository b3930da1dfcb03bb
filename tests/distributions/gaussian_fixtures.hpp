// Full-covariance and low-rank fixtures shared by the tests; the same numbers as FMU_Q, FL_Q,
// ... in tools/vae_reference.py (section "full").
#pragma once

#include <Eigen/Core>

namespace vae_test {

template <class S>
struct full_fixture {
  using V = Eigen::Matrix<S, Eigen::Dynamic, 1>;
  using M = Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic>;
  V mu_q = (V(3) << 0.3, -0.2, 1.0).finished();
  M l_q = (M(3, 3) << 1.2, 0, 0, 0.3, 0.8, 0, -0.5, 0.4, 0.6).finished();
  V mu_p = (V(3) << -0.1, 0.5, 0.2).finished();
  M l_p = (M(3, 3) << 0.9, 0, 0, -0.2, 1.1, 0, 0.1, 0.3, 0.7).finished();
  M x = (M(3, 2) << 0.5, 1.5, 0.1, -2.0, -0.3, 0.4).finished();  // two points (columns)
  M w = (M(3, 2) << 0.5, -0.3, 1.0, 0.2, -0.4, 0.8).finished();
  V d = (V(3) << 0.3, 0.5, 0.2).finished();
  V dp_mu = (V(3) << 0.1, -0.4, 0.3).finished();
  V dp_lv = (V(3) << 0.2, -0.5, 0.1).finished();
};

}  // namespace vae_test
