// Tests of latent/random/philox.hpp: known answers, counter layout, skip-ahead, substreams.
#include <catch2/catch.hpp>

#include <array>
#include <cstdint>
#include <random>
#include <set>
#include <utility>

#include "latent/random/philox.hpp"

using latent::philox4x32;
using latent::philox4x32_block;
using words4 = std::array<std::uint32_t, 4>;
using words2 = std::array<std::uint32_t, 2>;

// Known-answer vectors of Random123 (Salmon et al., file examples/kat_vectors, lines
// "philox4x32 R ctr[4] key[2] -> out[4]"), as published with the Random123 distribution.
TEST_CASE("philox4x32-10 matches the Random123 known-answer vectors", "[random][philox]") {
  CHECK(philox4x32_block<10>(words4{0, 0, 0, 0}, words2{0, 0}) ==
        words4{0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u});
  CHECK(philox4x32_block<10>(words4{0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu},
                             words2{0xffffffffu, 0xffffffffu}) ==
        words4{0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu});
  CHECK(philox4x32_block<10>(words4{0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u},
                             words2{0xa4093822u, 0x299f31d0u}) ==
        words4{0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u});
}

TEST_CASE("philox4x32-7 matches the Random123 known-answer vectors", "[random][philox]") {
  CHECK(philox4x32_block<7>(words4{0, 0, 0, 0}, words2{0, 0}) ==
        words4{0x5f6fb709u, 0x0d893f64u, 0x4f121f81u, 0x4f730a48u});
  CHECK(philox4x32_block<7>(words4{0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu},
                            words2{0xffffffffu, 0xffffffffu}) ==
        words4{0x5207ddc2u, 0x45165e59u, 0x4d8ee751u, 0x8c52f662u});
  CHECK(philox4x32_block<7>(words4{0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u},
                            words2{0xa4093822u, 0x299f31d0u}) ==
        words4{0x4dfccabau, 0x190a87f0u, 0xc47362bau, 0xb6b5242au});
}

TEST_CASE("engine counter layout: key = seed, counter = (offset, stream)", "[random][philox]") {
  // Seed 0x299f31d0a4093822 and stream 0x0370734413198a2e at offset 0x85a308d3243f6a88 form the
  // third known-answer input above.
  philox4x32 e(0x299f31d0a4093822ull, 0x0370734413198a2eull);
  CHECK(e.key() == words2{0xa4093822u, 0x299f31d0u});
  CHECK(e.block(0x85a308d3243f6a88ull) == words4{0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u});
  philox4x32 z(0, 0);
  CHECK(z.block(0) == words4{0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u});
  // The word interface returns the words of blocks 0, 1, ... in order.
  for (int i = 0; i < 4; ++i) CHECK(z() == z.block(0)[static_cast<std::size_t>(i)]);
  CHECK(z() == z.block(1)[0]);
}

TEST_CASE("skip-ahead is O(1) and equals drawing", "[random][philox]") {
  philox4x32 a(42, 7), b(42, 7);
  for (int i = 0; i < 4 * 1000 + 3; ++i) (void)a();
  b.discard(4 * 1000 + 3);
  CHECK(a() == b());
  CHECK(a == b);

  philox4x32 c(42, 7), d(42, 7);
  CHECK(c.reserve(5) == 0);
  CHECK(c.reserve(3) == 5);
  d.discard_blocks(8);
  CHECK(c.offset() == 8);
  CHECK(d.offset() == 8);
  d.set_offset(1ull << 60);
  CHECK(d.offset() == (1ull << 60));
  CHECK(d.reserve(1) == (1ull << 60));
  CHECK(d() == d.block((1ull << 60) + 1)[0]);
}

TEST_CASE("reserve past the end of a stream throws", "[random][philox]") {
  philox4x32 e(1, 2);
  e.set_offset(~0ull - 3);
  CHECK_NOTHROW(e.reserve(3));
  CHECK_THROWS_AS(e.reserve(1), std::overflow_error);
  CHECK_THROWS_WITH(e.reserve(1), Catch::Contains("latent::philox4x32::reserve") &&
                                      Catch::Contains("exhausts the 2^64 blocks of stream 2"));
  CHECK(e.offset() == ~0ull);  // nothing reserved by the failed call
}

TEST_CASE("streams and substreams are distinct and reproducible", "[random][philox]") {
  philox4x32 a(5, 0), b(5, 1), c(6, 0);
  CHECK(a.block(0) != b.block(0));
  CHECK(a.block(0) != c.block(0));
  std::set<std::pair<std::uint64_t, std::uint64_t>> seen;
  for (std::uint64_t i = 0; i < 1000; ++i) {
    const philox4x32 s = a.substream(i);
    CHECK(s.offset() == 0);
    seen.insert({s.seed(), s.stream()});
    CHECK(a.substream(i) == s);
  }
  CHECK(seen.size() == 1000);
  CHECK(a.substream(3) != b.substream(3));
  CHECK(a.substream(3).substream(0) != a.substream(0).substream(3));
}

TEST_CASE("the engine drives standard distributions", "[random][philox]") {
  philox4x32 e(123);
  std::uniform_int_distribution<int> d(0, 9);
  // 10^5 draws; each count is Binomial(1e5, 0.1): sd = sqrt(1e5 * 0.09) = 94.9; 5 sd = 475.
  std::array<int, 10> count{};
  for (int i = 0; i < 100000; ++i) ++count[static_cast<std::size_t>(d(e))];
  for (int c : count) CHECK(std::abs(c - 10000) < 475);
}
