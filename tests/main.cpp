// The one Catch2 main shared by every test executable.
//
// It also includes the umbrella header: every test executable then links two translation
// units that include latent, so a non-inline definition in any header fails to link (an ODR
// check on every build).
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>

#include "latent/latent.hpp"
