// latent/latent.hpp: the umbrella header. Includes every public header of latent.
#pragma once

#include "latent/core/check.hpp"
#include "latent/core/constants.hpp"
#include "latent/core/math.hpp"
#include "latent/core/traits.hpp"
