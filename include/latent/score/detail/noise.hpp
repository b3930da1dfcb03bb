// latent/score/detail/noise.hpp: the score side's access to the noise engine
// (latent/random/noise.hpp), in one place so the samplers' engine overloads stay one line.
#pragma once

#include <Eigen/Core>

#include "latent/random/noise.hpp"
#include "latent/random/philox.hpp"

namespace latent {
namespace detail {

/// Standard normals shaped like x (an expression; fuses into the caller's update).
template <class Derived>
inline auto noise_like(const Eigen::DenseBase<Derived>& x, philox4x32& engine) {
  return randn_like(x, engine);
}

/// Writes standard normals into out.
template <class Derived>
inline void fill_noise(Eigen::DenseBase<Derived>& out, philox4x32& engine) {
  fill_randn(out, engine);
}

/// Writes uniforms in (0, 1) into out.
template <class Derived>
inline void fill_uniform(Eigen::DenseBase<Derived>& out, philox4x32& engine) {
  fill_rand_uniform(out, engine);
}

}  // namespace detail
}  // namespace latent
