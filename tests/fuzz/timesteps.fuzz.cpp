// Fuzzes timestep spacing (latent/diffusion/timesteps.hpp): inference_timesteps with any
// num_train_timesteps (up to INT64_MAX), step counts, spacings and offsets; custom_timesteps
// with arbitrary sequences; previous_timestep with any index.
// Properties: only documented exceptions; a returned sequence has n entries, all in
// [0, T - 1], strictly descending; custom_timesteps returns its input unchanged;
// previous_timestep is the next entry or -1.
#include <cstdint>
#include <limits>
#include <vector>

#include "fuzz_input.hpp"
#include "latent/diffusion/timesteps.hpp"

namespace {
void check_sequence(const std::vector<std::int64_t>& ts, std::int64_t T) {
  for (std::size_t i = 0; i < ts.size(); ++i) {
    fuzz::require(ts[i] >= 0 && ts[i] < T, "timestep in [0, T - 1]");
    if (i > 0) fuzz::require(ts[i] < ts[i - 1], "strictly descending");
    const auto p = latent::previous_timestep(ts, i);
    fuzz::require(p == (i + 1 < ts.size() ? ts[i + 1] : -1), "previous_timestep");
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::input in(data, size);
  const auto mode = in.integer(0, 3);
  std::int64_t T;
  switch (mode) {
    case 0: T = in.integer(-2, 2000); break;
    case 1: T = std::numeric_limits<std::int64_t>::max() - in.integer(0, 3); break;
    case 2: T = in.raw<std::int64_t>(); break;
    default: T = std::int64_t(1) << in.integer(0, 62);
  }
  // n stays small (the sequence is allocated), but any value outside [1, T] is tried too.
  const std::int64_t n = in.boolean() ? in.integer(-2, 64) : in.raw<std::int64_t>();
  const auto spacing = static_cast<latent::timestep_spacing>(in.integer(0, 2));
  std::int64_t offset = 0;
  switch (in.integer(0, 3)) {
    case 0: break;
    case 1: offset = in.integer(-3, 3); break;
    case 2: offset = in.raw<std::int64_t>(); break;
    default: offset = std::numeric_limits<std::int64_t>::max() - in.integer(0, 3);
  }
  // B1, B2 (int64 overflow for T > 2^53 and huge offsets) were found here; fixed in 3d3038a.
  if (n >= -2 && n <= 4096) {
    fuzz::expect_documented([&] {
      const auto ts = latent::inference_timesteps(T, n, spacing, offset);
      fuzz::require(static_cast<std::int64_t>(ts.size()) == n, "n timesteps");
      check_sequence(ts, T);
    });
  }
  const auto m = static_cast<std::size_t>(in.integer(0, 16));
  std::vector<std::int64_t> custom(m);
  std::int64_t cur = (in.boolean() && T > std::numeric_limits<std::int64_t>::min()) ? T - 1 : in.raw<std::int64_t>();
  for (auto& v : custom) {
    v = cur;
    const auto step = in.integer(-1, 5);
    // step <= 0 makes a repeated or ascending entry the function must reject
    if (step > 0 && cur > std::numeric_limits<std::int64_t>::min() + 8) cur -= step;
    else if (step < 0 && cur < std::numeric_limits<std::int64_t>::max()) cur += 1;
  }
  fuzz::expect_documented([&] {
    const auto ts = latent::custom_timesteps(T, custom);
    fuzz::require(ts == custom, "custom_timesteps returns its input");
    check_sequence(ts, T);
  });
  fuzz::expect_documented([&] { (void)latent::previous_timestep(custom, in.raw<std::uint16_t>()); });
  return 0;
}
