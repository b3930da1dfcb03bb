// Tests for latent/diffusion/sigma_schedules.hpp. Reference values: tools/score_reference.py
// (float64 torch, the formulas of k-diffusion sampling.py get_sigmas_*).
#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "latent/diffusion/sigma_schedules.hpp"

namespace {
void check_close(const Eigen::ArrayXd& got, const std::vector<double>& want, double rel = 1e-13) {
  REQUIRE(got.size() == static_cast<Eigen::Index>(want.size()));
  for (std::size_t i = 0; i < want.size(); ++i) {
    INFO("i = " << i);
    CHECK(got(static_cast<Eigen::Index>(i)) ==
          Approx(want[i]).epsilon(rel).margin(want[i] == 0.0 ? 0.0 : 1e-300));
  }
}
}  // namespace

TEST_CASE("sigmas_karras matches k-diffusion get_sigmas_karras", "[sigma_schedules]") {
  check_close(latent::sigmas_karras(10, 0.002, 80.0),
              {80.0, 42.41518931851267, 21.10867673619376, 9.723201355260132, 4.066123602953759,
               1.501741979068008, 0.46997905799774714, 0.11663856352517864, 0.020435334553438746,
               0.002000000000000003, 0.0});
  check_close(latent::sigmas_karras(5, 0.1, 10.0, 3.0),
              {10.000000000000002, 5.1944869778298814, 2.2444725900224367, 0.6972219072037729,
               0.10000000000000005, 0.0});
  const Eigen::ArrayXd no_zero = latent::sigmas_karras(10, 0.002, 80.0, 7.0, false);
  CHECK(no_zero.size() == 10);
  CHECK(no_zero(9) == Approx(0.002).epsilon(1e-13));
  // A single level is sigma_max, as torch.linspace(0, 1, 1) = [0].
  const Eigen::ArrayXd one = latent::sigmas_karras(1, 0.002, 80.0);
  REQUIRE(one.size() == 2);
  CHECK(one(0) == Approx(80.0).epsilon(1e-14));
  CHECK(one(1) == 0.0);
}

TEST_CASE("sigmas_exponential and sigmas_polyexponential match k-diffusion", "[sigma_schedules]") {
  check_close(latent::sigmas_exponential(6, 0.03, 14.6),
              {14.600000000000001, 4.235518037414811, 1.228740619538781, 0.356462538175394,
               0.10341119932222922, 0.029999999999999995, 0.0});
  check_close(latent::sigmas_polyexponential(7, 0.05, 20.0, 2.5),
              {19.999999999999996, 2.231079722603946, 0.439769098568992, 0.14419611864996648,
               0.07343316224777358, 0.05351529993819947, 0.05000000000000001, 0.0});
  // rho = 1 is the exponential schedule.
  const Eigen::ArrayXd a = latent::sigmas_polyexponential(9, 0.01, 30.0, 1.0);
  const Eigen::ArrayXd b = latent::sigmas_exponential(9, 0.01, 30.0);
  CHECK(((a - b).abs() <= 1e-13 * b.abs()).all());
}

TEST_CASE("sigmas_geometric and append_zero", "[sigma_schedules]") {
  const Eigen::ArrayXd g = latent::sigmas_geometric(10, 0.01, 1.0);
  REQUIRE(g.size() == 10);
  CHECK(g(0) == Approx(1.0).epsilon(1e-15));
  CHECK(g(9) == Approx(0.01).epsilon(1e-14));
  for (Eigen::Index i = 1; i < 10; ++i) CHECK(g(i) / g(i - 1) == Approx(std::pow(0.01, 1.0 / 9)));
  const Eigen::ArrayXd z = latent::append_zero(g);
  REQUIRE(z.size() == 11);
  CHECK(z(10) == 0.0);
  CHECK((z.head(10) == g).all());
}

TEST_CASE("sigma schedules are strictly decreasing and finite", "[sigma_schedules]") {
  for (const Eigen::ArrayXd& s :
       {latent::sigmas_karras(200, 1e-4, 1e3), latent::sigmas_exponential(200, 1e-4, 1e3),
        latent::sigmas_polyexponential(200, 1e-4, 1e3, 3.0)}) {
    CHECK(s.allFinite());
    for (Eigen::Index i = 1; i < s.size(); ++i) CHECK(s(i) < s(i - 1));
  }
}

TEST_CASE("sigma schedules reject bad arguments", "[sigma_schedules]") {
  using Catch::Contains;
  CHECK_THROWS_AS(latent::sigmas_karras(0, 0.1, 1.0), std::invalid_argument);
  CHECK_THROWS_WITH(latent::sigmas_karras(0, 0.1, 1.0),
                    Contains("latent::sigmas_karras: n = 0 must be at least 1"));
  CHECK_THROWS_AS(latent::sigmas_karras(5, 0.0, 1.0), std::domain_error);
  CHECK_THROWS_WITH(latent::sigmas_karras(5, 0.0, 1.0),
                    Contains("sigma_min is 0, but must be positive and finite"));
  CHECK_THROWS_WITH(latent::sigmas_exponential(5, 2.0, 1.0),
                    Contains("latent::sigmas_exponential: sigma_min = 2 exceeds sigma_max = 1"));
  CHECK_THROWS_AS(latent::sigmas_exponential(5, 2.0, 1.0), std::domain_error);
  CHECK_THROWS_WITH(latent::sigmas_polyexponential(5, 0.1, 1.0, -1.0),
                    Contains("latent::sigmas_polyexponential: rho is -1"));
  CHECK_THROWS_WITH(latent::sigmas_karras(5, 0.1, INFINITY),
                    Contains("sigma_max is inf, but must be positive and finite"));
  CHECK_THROWS_WITH(latent::sigmas_geometric(-3, 0.1, 1.0),
                    Contains("latent::sigmas_geometric: n = -3 must be at least 1"));
}
