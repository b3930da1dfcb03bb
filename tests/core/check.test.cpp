#include "latent/core/check.hpp"
#include <catch2/catch.hpp>
TEST_CASE("placeholder compiles") { CHECK_NOTHROW(latent::check_finite("latent::f", "x", 1.0)); }
