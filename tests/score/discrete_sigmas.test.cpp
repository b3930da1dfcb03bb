// Tests for latent/score/discrete_sigmas.hpp. Reference values: tools/score_reference.py
// (float64 torch; k-diffusion DiscreteSchedule.t_to_sigma / sigma_to_t logic, linear betas
// 1e-4 to 0.02 over T = 1000 as in Ho et al. 2020).
#include <catch2/catch.hpp>

#include <cmath>

#include "latent/score/discrete_sigmas.hpp"

using Catch::Contains;

namespace {
Eigen::ArrayXd linear_alpha_bar(int T) {
  Eigen::ArrayXd ab(T);
  double p = 1.0;
  for (int t = 0; t < T; ++t) {
    const double beta = 1e-4 + (0.02 - 1e-4) * t / (T - 1);
    p *= 1.0 - beta;
    ab(t) = p;
  }
  return ab;
}
}  // namespace

TEST_CASE("discrete sigmas match k-diffusion's DiscreteSchedule", "[discrete_sigmas]") {
  const latent::discrete_sigmas ds(linear_alpha_bar(1000));
  CHECK(ds.size() == 1000);
  CHECK(ds.sigma(0) == Approx(0.010000500037502575).epsilon(1e-12));
  CHECK(ds.sigma(999) == Approx(157.40728081040763).epsilon(1e-12));
  CHECK(ds.sigma(499.25) == Approx(3.4288345651318797).epsilon(1e-12));
  CHECK(ds.sigma(10.5) == Approx(0.04850545404821608).epsilon(1e-12));
  CHECK(ds.sigma_min() == Approx(0.010000500037502575).epsilon(1e-12));
  CHECK(ds.sigma_max() == Approx(157.40728081040763).epsilon(1e-12));
  CHECK(ds.timestep(1.0) == Approx(258.09301969495516).epsilon(1e-12));
  CHECK(ds.timestep(0.05) == Approx(10.946696346024705).epsilon(1e-12));
  CHECK(ds.timestep(50.0) == Approx(878.2144654450466).epsilon(1e-12));
  const Eigen::ArrayXd s5 = ds.sigmas(5);
  const double want[] = {157.40728081040763, 17.27979368156029, 3.4335389568437975,
                         0.9567566096521681, 0.010000500037502575, 0.0};
  REQUIRE(s5.size() == 6);
  for (int i = 0; i < 6; ++i) CHECK(s5(i) == Approx(want[i]).epsilon(1e-12));
  CHECK(ds.sigmas(5, false).size() == 5);
}

TEST_CASE("timestep and sigma are inverse; out-of-range sigmas clamp", "[discrete_sigmas]") {
  const latent::discrete_sigmas ds(linear_alpha_bar(1000));
  for (double t : {0.0, 0.3, 1.0, 17.75, 500.0, 998.9, 999.0}) {
    CHECK(ds.timestep(ds.sigma(t)) == Approx(t).margin(1e-9));
  }
  for (double s : {0.02, 0.5, 1.0, 7.0, 100.0}) CHECK(ds.sigma(ds.timestep(s)) == Approx(s).epsilon(1e-12));
  CHECK(ds.timestep(1e-5) == 0.0);
  CHECK(ds.timestep(1e5) == 999.0);
  // log sigma from alpha_bar keeps its digits near alpha_bar = 1 (log1p).
  Eigen::ArrayXd ab(2);
  ab << 1.0 - 1e-12, 0.5;
  const Eigen::ArrayXd ls = latent::log_sigmas_from_alpha_bar(ab);
  CHECK(ls(0) == Approx(0.5 * std::log(1e-12 / (1 - 1e-12))).epsilon(1e-6));
  CHECK(ls(1) == Approx(0.0).margin(1e-15));
  // A float table is accepted (cast to double).
  const Eigen::ArrayXf abf = linear_alpha_bar(10).cast<float>();
  CHECK(latent::discrete_sigmas(abf).size() == 10);
}

TEST_CASE("discrete sigmas validate their arguments", "[discrete_sigmas][errors]") {
  Eigen::ArrayXd bad(3);
  bad << 0.9, 0.95, 0.5;
  CHECK_THROWS_AS(latent::discrete_sigmas(bad), std::domain_error);
  CHECK_THROWS_WITH(latent::discrete_sigmas(bad),
                    Contains("latent::log_sigmas_from_alpha_bar: alpha_bar[1] = 0.95 is not below "
                             "alpha_bar[0] = 0.9; alpha_bar must be strictly decreasing"));
  bad << 0.9, 0.5, 0.0;
  CHECK_THROWS_WITH(latent::discrete_sigmas(bad),
                    Contains("alpha_bar[2] is 0, but must be in the open interval (0, 1)"));
  Eigen::ArrayXd one(1);
  one << 0.5;
  CHECK_THROWS_AS(latent::discrete_sigmas(one), std::invalid_argument);
  CHECK_THROWS_WITH(latent::discrete_sigmas(one), Contains("needs at least 2"));
  CHECK_THROWS_AS(latent::discrete_sigmas(Eigen::ArrayXd()), std::invalid_argument);
  const latent::discrete_sigmas ds(linear_alpha_bar(100));
  CHECK_THROWS_WITH(ds.sigma(99.5), Contains("latent::discrete_sigmas::sigma: t = 99.5 is out of range [0, 99]"));
  CHECK_THROWS_AS(ds.sigma(-1.0), std::domain_error);
  CHECK_THROWS_WITH(ds.timestep(0.0), Contains("latent::discrete_sigmas::timestep: sigma is 0"));
  CHECK_THROWS_WITH(ds.sigmas(0), Contains("latent::discrete_sigmas::sigmas: n = 0 must be at least 1"));
}
