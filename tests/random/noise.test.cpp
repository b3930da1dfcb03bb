// Tests of latent/random/noise.hpp.
#include <catch2/catch.hpp>

#include <Eigen/Dense>
#include <unsupported/Eigen/AutoDiff>

#include "latent/random/noise.hpp"

TEMPLATE_TEST_CASE("randn: shape, reservation, reproducibility", "[random][noise]", float, double) {
  using T = TestType;
  using A = Eigen::Array<T, Eigen::Dynamic, Eigen::Dynamic>;
  latent::philox4x32 e(7);
  const A x = latent::randn<A>(5, 3, e);
  CHECK(x.rows() == 5);
  CHECK(x.cols() == 3);
  CHECK(e.offset() == 16);
  const A y = latent::randn_like(x, e);
  CHECK((x != y).all());
  latent::philox4x32 f(7);
  const A x2 = latent::randn<A>(5, 3, f);
  CHECK((x == x2).all());
  CHECK(x.allFinite());
}
