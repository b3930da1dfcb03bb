// Bug B8 (fixed): with finite squared norms the cross term -2 e^T z of the distance expansion
// could still overflow (|values| above ~9e153 in double, ~9e18 in float), and a -inf score then
// won: an exact match at distance 0 lost. The lookup now refuses such magnitudes with a
// domain_error, before writing anything.
#include <catch2/catch.hpp>

#include <Eigen/Dense>
#include <limits>

#include "latent/quantize/nearest.hpp"

TEMPLATE_TEST_CASE("VQ lookup refuses magnitudes whose distance expansion overflows",
                   "[reliability][vq][B8]", float, double) {
  using S = TestType;
  using M = Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic>;
  const S big = std::sqrt(std::numeric_limits<S>::max()) / S(1.5);
  M z(1, 1), e(1, 2);
  z << big;
  e << -big, big;  // code 1 is an exact match at distance 0
  CHECK_THROWS_AS(latent::quantize(z, e), std::domain_error);
  CHECK_THROWS_WITH(latent::quantize(z, e), Catch::Contains("would overflow"));
  // Below the bound the exact match wins.
  const S ok = std::sqrt(std::numeric_limits<S>::max()) / S(8);
  z << ok;
  e << -ok, ok;
  const auto r = latent::quantize(z, e);
  CHECK(r.indices(0) == 1);
}
