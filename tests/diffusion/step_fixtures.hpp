// tests/diffusion/step_fixtures.hpp: the fixed inputs and schedules shared by the DDPM and DDIM
// step tests (the "steps" section of tools/diffusion_reference.py), and their comparison.
#pragma once

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <initializer_list>

#include <catch2/catch.hpp>

#include "latent/diffusion/schedule.hpp"

namespace {
using A = Eigen::ArrayXXd;
// Fixed inputs of tools/diffusion_reference.py (section "steps"), D = 4, B = 2.
A fixed(std::initializer_list<double> v) {
  A a(4, 2);
  auto it = v.begin();
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 2; ++j) a(i, j) = *it++;
  return a;
}
const A X = fixed({0.3, -1.2, 1.5, 0.7, -0.4, 2.1, 0.05, -0.6});
const A M = fixed({0.8, -0.3, -1.1, 0.25, 0.6, 1.9, -0.2, 0.45});
const A Z = fixed({-0.7, 0.4, 0.2, -1.3, 1.1, 0.9, -0.5, 0.15});
const A PV = fixed({0.2, -0.5, 0.9, 0.1, -0.8, 0.4, 0.0, 0.7});
const A PVL = fixed({0.01, 0.02, 0.03, 0.005, 0.015, 0.04, 0.008, 0.012});

const latent::noise_schedule& linear() {
  static const latent::noise_schedule s(latent::linear_betas(1000));
  return s;
}
const latent::noise_schedule& zero_snr() {
  static const latent::noise_schedule s(latent::rescale_zero_terminal_snr(latent::linear_betas(1000)));
  return s;
}
void check_close(const A& got, const A& want, double rel = 1e-12) {
  for (Eigen::Index i = 0; i < want.size(); ++i) {
    INFO("element " << i << ": got " << got(i) << " want " << want(i));
    CHECK(std::abs(got(i) - want(i)) <= rel * std::max(1.0, std::abs(want(i))));
  }
}
}  // namespace
