// latent/random/philox.hpp: the Philox4x32-10 counter-based random number engine.
//
// Philox4x32-10 (Salmon, Moraes, Dror, Shaw, "Parallel random numbers: as easy as 1, 2, 3",
// SC'11, section 4.2) maps a 128-bit counter and a 64-bit key to 128 random bits through ten
// rounds of two 32x32->64-bit multiplies, with a Weyl sequence on the key. Because the output is
// a pure function of (key, counter), any block of the random sequence can be computed directly,
// in any order, on any thread: that is what makes latent's noise reproducible across thread
// counts, block splits and instruction sets (see docs/random.md).
//
// latent's counter layout (the same as cuRAND's and PyTorch's Philox offset/subsequence):
//     key     = (lo32(seed), hi32(seed))
//     counter = (lo32(offset), hi32(offset), lo32(stream), hi32(stream))
// `offset` counts 128-bit blocks within a stream; each stream owns 2^64 blocks.
#pragma once

#include <array>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>

namespace latent {
namespace detail {

// Round multipliers and Weyl key increments of Philox4x32 (Salmon et al. 2011, table 2;
// the same constants as Random123's philox.h).
inline constexpr std::uint32_t philox_m0 = 0xD2511F53u;
inline constexpr std::uint32_t philox_m1 = 0xCD9E8D57u;
inline constexpr std::uint32_t philox_w0 = 0x9E3779B9u;  // golden ratio
inline constexpr std::uint32_t philox_w1 = 0xBB67AE85u;  // sqrt(3) - 1

/// One Philox4x32 round on a counter, key (k0, k1). Reference (scalar) implementation; the
/// vectorized kernels in noise.hpp compute exactly the same function lane by lane.
inline void philox_round(std::uint32_t& c0, std::uint32_t& c1, std::uint32_t& c2,
                         std::uint32_t& c3, std::uint32_t k0, std::uint32_t k1) noexcept {
  const std::uint64_t p0 = static_cast<std::uint64_t>(philox_m0) * c0;
  const std::uint64_t p1 = static_cast<std::uint64_t>(philox_m1) * c2;
  const std::uint32_t hi0 = static_cast<std::uint32_t>(p0 >> 32);
  const std::uint32_t lo0 = static_cast<std::uint32_t>(p0);
  const std::uint32_t hi1 = static_cast<std::uint32_t>(p1 >> 32);
  const std::uint32_t lo1 = static_cast<std::uint32_t>(p1);
  c0 = hi1 ^ c1 ^ k0;
  c1 = lo1;
  c2 = hi0 ^ c3 ^ k1;
  c3 = lo0;
}

}  // namespace detail

/// Philox4x32 with R rounds (R = 10 is the standard, "Crush-resistant" choice):
/// \f$ \mathrm{out} = \mathrm{philox}_R(\mathrm{counter}, \mathrm{key}) \f$, a bijection of the
/// 128-bit counter for each key. Salmon et al., SC'11, section 4.2. Returns the 4 words.
template <int R = 10>
inline std::array<std::uint32_t, 4> philox4x32_block(const std::array<std::uint32_t, 4>& counter,
                                                     const std::array<std::uint32_t, 2>& key) noexcept {
  static_assert(R >= 1 && R <= 16, "latent::philox4x32_block: rounds must be in [1, 16]");
  std::uint32_t c0 = counter[0], c1 = counter[1], c2 = counter[2], c3 = counter[3];
  std::uint32_t k0 = key[0], k1 = key[1];
  for (int r = 0; r < R; ++r) {
    if (r > 0) {
      k0 += detail::philox_w0;
      k1 += detail::philox_w1;
    }
    detail::philox_round(c0, c1, c2, c3, k0, k1);
  }
  return {c0, c1, c2, c3};
}

/// Counter-based engine: Philox4x32-10 with a 64-bit key (the seed), a 64-bit stream
/// (subsequence) and a 64-bit block offset within the stream.
///
/// Noise expressions (latent::randn, latent::rand_uniform, ...) *reserve* a range of blocks with
/// reserve(); the values they produce are then a pure function of (seed, stream, block index,
/// element index) and never depend on how or when the expression is evaluated. Distinct
/// streams of one seed never share a counter. The engine is also a UniformRandomBitGenerator
/// (32-bit words) so it can drive the standard distributions.
class philox4x32 {
 public:
  using result_type = std::uint32_t;

  /// Engine for `seed`, positioned at block 0 of `stream`.
  explicit philox4x32(std::uint64_t seed = 0, std::uint64_t stream = 0) noexcept
      : key_(seed), stream_(stream) {}

  std::uint64_t seed() const noexcept { return key_; }
  std::uint64_t stream() const noexcept { return stream_; }
  /// Position in the stream, in 128-bit blocks: the first block not yet reserved.
  std::uint64_t offset() const noexcept { return offset_; }

  /// O(1) skip-ahead: positions the engine at block `offset` of its stream.
  void set_offset(std::uint64_t offset) noexcept {
    offset_ = offset;
    word_ = 4;
  }
  /// O(1) skip-ahead by `blocks` 128-bit blocks (4 words each). Throws std::overflow_error when
  /// the stream's 2^64 blocks would be exhausted.
  void discard_blocks(std::uint64_t blocks) { (void)reserve(blocks); }
  /// std::-style discard of `words` 32-bit outputs of operator().
  void discard(unsigned long long words) {
    while (words > 0 && word_ < 4) {
      ++word_;
      --words;
    }
    discard_blocks(words / 4);
    words %= 4;
    if (words > 0) {
      (void)(*this)();
      for (unsigned long long w = 1; w < words; ++w) ++word_;
    }
  }

  /// Reserves `blocks` consecutive blocks and returns the first one. Noise expressions call this
  /// once when they are created, so each expression draws fresh values.
  std::uint64_t reserve(std::uint64_t blocks) {
    if (blocks > std::numeric_limits<std::uint64_t>::max() - offset_) {
      throw std::overflow_error("latent::philox4x32::reserve: reserving " + std::to_string(blocks) +
                                " blocks at offset " + std::to_string(offset_) +
                                " exhausts the 2^64 blocks of stream " + std::to_string(stream_));
    }
    const std::uint64_t first = offset_;
    offset_ += blocks;
    word_ = 4;
    return first;
  }

  /// The key words (lo32(seed), hi32(seed)).
  std::array<std::uint32_t, 2> key() const noexcept {
    return {static_cast<std::uint32_t>(key_), static_cast<std::uint32_t>(key_ >> 32)};
  }
  /// The counter of block `block` of this engine's stream.
  std::array<std::uint32_t, 4> counter(std::uint64_t block) const noexcept {
    return {static_cast<std::uint32_t>(block), static_cast<std::uint32_t>(block >> 32),
            static_cast<std::uint32_t>(stream_), static_cast<std::uint32_t>(stream_ >> 32)};
  }
  /// The 4 words of block `block` of this stream; pure, does not move the engine.
  std::array<std::uint32_t, 4> block(std::uint64_t block) const noexcept {
    return philox4x32_block<10>(counter(block), key());
  }

  /// An independent engine for sub-task `i` (a sample, a thread, a process): its seed and
  /// stream are the 128 output bits of Philox4x32-10 under a key derived from this engine's
  /// seed (seed XOR 0x5A5A...), at counter (lo32(i), hi32(i), lo32(stream), hi32(stream)).
  /// The same (seed, stream, i) always gives the same sub-engine; sub-engines of distinct i are
  /// distinct (Philox is a bijection of the counter) and start at offset 0. This is the
  /// key-splitting scheme of JAX's jax.random.split, with Philox as the hash.
  philox4x32 substream(std::uint64_t i) const noexcept {
    const std::uint64_t k = key_ ^ 0x5A5A5A5A5A5A5A5Aull;
    const auto w = philox4x32_block<10>(
        {static_cast<std::uint32_t>(i), static_cast<std::uint32_t>(i >> 32),
         static_cast<std::uint32_t>(stream_), static_cast<std::uint32_t>(stream_ >> 32)},
        {static_cast<std::uint32_t>(k), static_cast<std::uint32_t>(k >> 32)});
    return philox4x32((static_cast<std::uint64_t>(w[1]) << 32) | w[0],
                      (static_cast<std::uint64_t>(w[3]) << 32) | w[2]);
  }

  // UniformRandomBitGenerator: successive 32-bit words of successive blocks.
  static constexpr result_type min() noexcept { return 0; }
  static constexpr result_type max() noexcept { return 0xFFFFFFFFu; }
  result_type operator()() {
    if (word_ >= 4) {
      buffer_ = block(reserve(1));
      word_ = 0;
    }
    return buffer_[word_++];
  }

  friend bool operator==(const philox4x32& a, const philox4x32& b) noexcept {
    return a.key_ == b.key_ && a.stream_ == b.stream_ && a.offset_ == b.offset_ &&
           a.word_ == b.word_ && (a.word_ >= 4 || a.buffer_ == b.buffer_);
  }
  friend bool operator!=(const philox4x32& a, const philox4x32& b) noexcept { return !(a == b); }

 private:
  std::uint64_t key_ = 0;
  std::uint64_t stream_ = 0;
  std::uint64_t offset_ = 0;
  std::array<std::uint32_t, 4> buffer_{};
  unsigned word_ = 4;  // next word of buffer_ for operator(); 4 = empty
};

}  // namespace latent
