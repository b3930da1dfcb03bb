// latent/diffusion/timesteps.hpp: inference timestep sequences (descending).
//
// The three spacings of Lin et al. 2023, Table 2, as implemented by diffusers'
// DDPMScheduler.set_timesteps / DDIMScheduler.set_timesteps (timestep_spacing = "leading",
// "linspace", "trailing", and steps_offset for "leading"), plus validated user-given
// descending timesteps. The previous timestep of a step is the next entry of the sequence
// (-1 after the last one), never t - 1.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "latent/core/check.hpp"

namespace latent {

/// How inference timesteps are spread over [0, T - 1] (Lin et al. 2023, Table 2).
enum class timestep_spacing { leading, linspace, trailing };

namespace timesteps_detail {
inline void check_counts(const char* fn, std::int64_t T, std::int64_t n) {
  if (T < 1)
    throw std::domain_error(std::string(fn) + ": num_train_timesteps = " + std::to_string(T) +
                            " is out of range [1, inf)");
  if (n < 1 || n > T)
    throw std::domain_error(std::string(fn) + ": num_inference_steps = " + std::to_string(n) +
                            " is out of range [1, " + std::to_string(T) +
                            "] (it cannot exceed num_train_timesteps)");
}
}  // namespace timesteps_detail

/// Validates a user-given timestep sequence: non-empty, strictly descending, every entry in
/// [0, T - 1] (diffusers DDPMScheduler.set_timesteps(timesteps=...)). Returns a copy.
inline std::vector<std::int64_t> custom_timesteps(std::int64_t num_train_timesteps,
                                                  const std::vector<std::int64_t>& timesteps) {
  const char* fn = "latent::custom_timesteps";
  if (num_train_timesteps < 1)
    throw std::domain_error(std::string(fn) + ": num_train_timesteps = " +
                            std::to_string(num_train_timesteps) + " is out of range [1, inf)");
  if (timesteps.empty()) detail::throw_shape(fn, "timesteps is empty, but must have at least one element");
  for (std::size_t i = 0; i < timesteps.size(); ++i) {
    const std::string name = "timesteps[" + std::to_string(i) + "]";
    check_index(fn, name.c_str(), timesteps[i], num_train_timesteps);
    if (i > 0 && !(timesteps[i] < timesteps[i - 1])) {
      throw std::domain_error(std::string(fn) + ": timesteps must be strictly descending, but " +
                              name + " = " + std::to_string(timesteps[i]) + " follows " +
                              std::to_string(timesteps[i - 1]));
    }
  }
  return timesteps;
}

/// The descending inference timesteps of diffusers' set_timesteps:
///   leading:  i * (T / n) + steps_offset (integer division), i = n-1..0;
///   linspace: round-half-even(linspace(0, T - 1, n)), reversed;
///   trailing: round-half-even(T - i T / n) - 1, i = 0..n-1.
/// Throws if n is not in [1, T] or if the offset pushes a timestep outside [0, T - 1].
/// Returns an evaluated std::vector of length n.
inline std::vector<std::int64_t> inference_timesteps(std::int64_t num_train_timesteps,
                                                     std::int64_t num_inference_steps,
                                                     timestep_spacing spacing,
                                                     std::int64_t steps_offset = 0) {
  const char* fn = "latent::inference_timesteps";
  timesteps_detail::check_counts(fn, num_train_timesteps, num_inference_steps);
  const std::int64_t T = num_train_timesteps, n = num_inference_steps;
  if (steps_offset != 0 && spacing != timestep_spacing::leading)
    throw std::invalid_argument(std::string(fn) +
                                ": steps_offset applies to leading spacing only");
  if (spacing != timestep_spacing::leading && T > (std::int64_t(1) << 53)) {
    throw std::domain_error(std::string(fn) + ": num_train_timesteps = " + std::to_string(T) +
                            " is out of range [1, 2^53] for linspace and trailing spacing "
                            "(they are computed in double)");
  }
  if (steps_offset < 0 || steps_offset >= T) {
    throw std::domain_error(std::string(fn) + ": steps_offset = " + std::to_string(steps_offset) +
                            " is out of range [0, " + std::to_string(T - 1) + "]");
  }
  std::vector<std::int64_t> ts(static_cast<std::size_t>(n));
  switch (spacing) {
    case timestep_spacing::leading: {
      const std::int64_t ratio = T / n;
      for (std::int64_t i = 0; i < n; ++i) {
        const std::int64_t base = (n - 1 - i) * ratio;  // <= T - ratio: no overflow
        if (base > T - 1 - steps_offset) {
          throw std::domain_error(std::string(fn) + ": timestep " + std::to_string(base) + " + " +
                                  std::to_string(steps_offset) + " (steps_offset = " +
                                  std::to_string(steps_offset) + ") is out of range [0, " +
                                  std::to_string(T - 1) + "]");
        }
        ts[std::size_t(i)] = base + steps_offset;
      }
      break;
    }
    case timestep_spacing::linspace: {
      const double step = n > 1 ? double(T - 1) / double(n - 1) : 0.0;
      for (std::int64_t i = 0; i < n; ++i) {
        const double v = (i == n - 1 && n > 1) ? double(T - 1) : double(i) * step;
        ts[std::size_t(n - 1 - i)] = static_cast<std::int64_t>(std::nearbyint(v));
      }
      break;
    }
    case timestep_spacing::trailing: {
      const double ratio = double(T) / double(n);
      for (std::int64_t i = 0; i < n; ++i)
        ts[std::size_t(i)] = static_cast<std::int64_t>(std::nearbyint(double(T) - double(i) * ratio)) - 1;
      break;
    }
  }
  for (std::size_t i = 0; i < ts.size(); ++i) {
    if (ts[i] < 0 || ts[i] >= T) {
      throw std::domain_error(std::string(fn) + ": timestep " + std::to_string(ts[i]) +
                              " (steps_offset = " + std::to_string(steps_offset) +
                              ") is out of range [0, " + std::to_string(T - 1) + "]");
    }
    if (i > 0 && !(ts[i] < ts[i - 1])) {
      throw std::domain_error(std::string(fn) + ": the spacing gives repeated timestep " +
                              std::to_string(ts[i]) + "; use fewer inference steps");
    }
  }
  return ts;
}

/// The timestep after entry i of a descending sequence: timesteps[i + 1], or -1 after the
/// last entry (alpha_bar_prev = 1, the clean sample). Returns an integer.
inline std::int64_t previous_timestep(const std::vector<std::int64_t>& timesteps, std::size_t i) {
  if (i >= timesteps.size()) {
    throw std::domain_error("latent::previous_timestep: i = " + std::to_string(i) +
                            " is out of range [0, " + std::to_string(timesteps.size()) + ")");
  }
  return i + 1 < timesteps.size() ? timesteps[i + 1] : -1;
}

}  // namespace latent
