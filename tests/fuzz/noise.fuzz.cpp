// Fuzzes latent/random with arbitrary seeds, streams, offsets and shapes. Properties: normals
// are finite, uniforms lie in (0, 1); the value at an index does not depend on how the
// expression is evaluated (whole, or a block); the same seed gives the same values.
#include <Eigen/Core>
#include <cmath>

#include "fuzz_input.hpp"
#include "latent/random/noise.hpp"
#include "latent/random/philox.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::input in(data, size);
  const auto seed = in.raw<std::uint64_t>();
  const auto stream = in.raw<std::uint64_t>();
  const auto skip = in.raw<std::uint32_t>();
  const auto rows = static_cast<Eigen::Index>(in.integer(0, 40));
  const auto cols = static_cast<Eigen::Index>(in.integer(0, 40));

  latent::philox4x32 a(seed, stream), b(seed, stream);
  a.set_offset(skip);
  b.set_offset(skip);
  const Eigen::ArrayXXf z = latent::randn<Eigen::ArrayXXf>(rows, cols, a);
  const Eigen::ArrayXXd u = latent::rand_uniform<Eigen::ArrayXXd>(rows, cols, a);
  fuzz::require(z.allFinite(), "normals are finite");
  fuzz::require((u > 0).all() && (u < 1).all(), "uniforms lie in (0, 1)");

  // Same seed, same values; a block of the expression equals the block of the whole.
  const auto zb = latent::randn<Eigen::ArrayXXf>(rows, cols, b);
  if (rows > 0 && cols > 0) {
    const auto r0 = static_cast<Eigen::Index>(in.integer(0, rows - 1));
    const auto c0 = static_cast<Eigen::Index>(in.integer(0, cols - 1));
    const Eigen::ArrayXXf blk = zb.block(r0, c0, rows - r0, cols - c0);
    fuzz::require((blk == z.block(r0, c0, rows - r0, cols - c0)).all(), "block equals whole");
  }
  const Eigen::ArrayXXf whole = zb;
  fuzz::require((whole == z).all(), "same seed, same values");
  fuzz::expect_documented([&] {
    (void)latent::randn<Eigen::ArrayXXf>(-static_cast<Eigen::Index>(in.integer(0, 3)), cols, a);
  });
  return 0;
}
