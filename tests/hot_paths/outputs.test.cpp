// Steps write into any writable Eigen object: a plain array, a block of columns, or a Map of a
// user's buffer (Eigen's const-reference output idiom), with identical results.
#include <catch2/catch.hpp>

#include <Eigen/Dense>
#include <cstring>
#include <vector>

#include "latent/latent.hpp"

TEST_CASE("steps write into blocks and maps", "[hot_paths]") {
  using A = Eigen::ArrayXXf;
  const Eigen::Index D = 5, B = 12;
  latent::philox4x32 e(1);
  const A x = latent::randn<A>(D, B, e), m = latent::randn<A>(D, B, e), z = latent::randn<A>(D, B, e);
  const latent::noise_schedule s(latent::linear_betas(100));

  A whole(D, B), big = A::Zero(D, B + 4);
  std::vector<float> buf(std::size_t(D * B), 0.0f);
  Eigen::Map<A> mapped(buf.data(), D, B);

  auto same = [&](const A& a, const auto& b) {
    A bb = b;
    return std::memcmp(a.data(), bb.data(), sizeof(float) * std::size_t(a.size())) == 0;
  };

  latent::ddpm_step(s, latent::ddpm_options{}, 50, 49, x, m, whole, z);
  latent::ddpm_step(s, latent::ddpm_options{}, 50, 49, x, m, big.middleCols(2, B), z);
  latent::ddpm_step(s, latent::ddpm_options{}, 50, 49, x, m, mapped, z);
  CHECK(same(whole, big.middleCols(2, B)));
  CHECK(same(whole, mapped));
  CHECK((big.leftCols(2) == 0).all());
  CHECK((big.rightCols(2) == 0).all());

  latent::langevin_step(x, m, 0.01, z, whole);
  latent::langevin_step(x, m, 0.01, z, big.middleCols(2, B));
  latent::langevin_step(x, m, 0.01, z, mapped);
  CHECK(same(whole, big.middleCols(2, B)));
  CHECK(same(whole, mapped));

  latent::euler_ancestral_step(x, m, 2.0, 1.0, z, whole);
  latent::euler_ancestral_step(x, m, 2.0, 1.0, z, big.middleCols(2, B));
  latent::euler_ancestral_step(x, m, 2.0, 1.0, z, mapped);
  CHECK(same(whole, big.middleCols(2, B)));
  CHECK(same(whole, mapped));
}
