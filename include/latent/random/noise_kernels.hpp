// latent/random/noise_kernels.hpp: the vectorized chunk kernels behind latent's noise.
//
// A *chunk* is 16 consecutive Philox4x32-10 blocks (64 random words). The 16 blocks are
// computed side by side, one block per SIMD lane (16 lanes with AVX-512, 2 x 8 with AVX2,
// 4 x 4 with SSE2, 16 x 1 in the portable scalar fallback), so the 10 rounds run on whole
// registers. Float: element e = 16 k + j of a chunk (j = block, k = output of that block) is
//   float  uniform: word k of block j                                   (64 per chunk)
//   float  normal : Box-Muller of words (0,1) -> k = 0 cos, 1 sin; (2,3) -> k = 2, 3
// Double: the 64-bit value V_k(m) = word k of block 2m+1 << 32 | word k of block 2m, m < 8
// (what a SIMD register holds when read as 64-bit lanes), and element e = 8 k + m is
//   double uniform: V_k(m)                                              (32 per chunk)
//   double normal : Box-Muller of (V_0, V_1) -> k = 0 cos, 1 sin; (V_2, V_3) -> k = 2, 3
// This definition does not depend on the lane width: every backend computes the same integers,
// so uniforms are bit-identical across instruction sets; normals go through the same
// polynomials and differ only where a backend fuses a multiply-add (a few ulp at most).
//
// Schedule (noise_range): blocks are generated in batches of 4 register groups (4 chunks with
// AVX-512), software-pipelined: the Philox rounds of batch b + 1 run interleaved with the
// Box-Muller transform of batch b, so the integer work (multiplies, shuffles, xors) and the
// floating-point work (log, sqrt, polynomials) keep the SIMD units busy together. The order of
// the work never changes a value.
//
// Transform (see docs/random.md): Box-Muller (Box & Muller 1958), z0 = R cos(theta),
// z1 = R sin(theta), R = sqrt(-2 log u1), theta = 2 pi u2. Angle reduction is exact integer
// arithmetic on the random bits (4 u2 = q + r, q a quadrant, |r| <= 1/2), so sincos needs no
// range reduction; log uses the fdlibm/musl decomposition log(1+f) = 2 atanh(f / (2 + f)).
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>

#if defined(__SSE2__) || defined(_M_X64)
#include <immintrin.h>
#define LATENT_RANDOM_HAS_SSE2 1
#endif
#if defined(__AVX2__)
#define LATENT_RANDOM_HAS_AVX2 1
#endif
#if defined(__AVX512F__)
#define LATENT_RANDOM_HAS_AVX512 1
#endif

#include <Eigen/Core>

#include "latent/random/philox.hpp"

// The kernel's pieces are force-inlined into the batch loop (noise_range_batches): left to its
// inlining budget, g++ turned some of them into calls inside large callers (2x slower). Under
// the sanitizers they are plain inline: there the force-inlined batch loops only cost compile
// time (a step-heavy test file took 79 s instead of 45 s with clang++ -O1, ASan + UBSan).
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define LATENT_KERNEL_INLINE inline
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || \
    __has_feature(memory_sanitizer)
#define LATENT_KERNEL_INLINE inline
#endif
#endif
#ifndef LATENT_KERNEL_INLINE
#define LATENT_KERNEL_INLINE EIGEN_ALWAYS_INLINE
#endif

namespace latent {
namespace detail {

enum class noise_kind { normal, uniform };


inline constexpr int chunk_blocks = 16;
/// Elements per chunk: a float element uses one word, a double element two.
template <class T>
inline constexpr int chunk_elems = sizeof(T) == 4 ? 64 : 32;

/// Key schedule, stream and first block of one noise expression.
struct noise_params {
  std::uint32_t rk0[10], rk1[10];  // round keys (Weyl sequence on the key)
  std::uint32_t s0 = 0, s1 = 0;    // stream = counter words 2, 3
  std::uint64_t base = 0;          // first block reserved on the engine

  noise_params() = default;
  noise_params(std::uint64_t seed, std::uint64_t stream, std::uint64_t first_block) noexcept
      : s0(static_cast<std::uint32_t>(stream)), s1(static_cast<std::uint32_t>(stream >> 32)),
        base(first_block) {
    std::uint32_t k0 = static_cast<std::uint32_t>(seed), k1 = static_cast<std::uint32_t>(seed >> 32);
    for (int r = 0; r < 10; ++r) {
      rk0[r] = k0;
      rk1[r] = k1;
      k0 += philox_w0;
      k1 += philox_w1;
    }
  }
};

// Transform constants. Box-Muller radius uniforms: float u1 = (w >> 1) 2^-31 + 2^-32 in (0, 1]
// (31 bits; |z| <= sqrt(64 log 2) = 6.66), double u1 = 1 - (v >> 12) 2^-52 in (0, 1]
// (52 bits; |z| <= 8.49). Angles use 24 (float) and 52 (double) bits.
namespace kc {
// sin(pi/2 r) / r and cos(pi/2 r) on |r| <= 1/2: tools/random_sincos_coefficients.py.
inline constexpr float fs[4] = {1.5707963705062866f, -0.6459634900093079f, 0.07968021929264069f,
                                -0.004602163098752499f};
inline constexpr float fc[5] = {1.0f, -1.2337005138397217f, 0.25366920232772827f,
                                -0.02086007036268711f, 0.00090362987248227f};
inline constexpr double ds[7] = {1.5707963267948966,     -0.6459640975062443,
                                 0.07969262624604304,    -0.004681754132341619,
                                 0.00016044115074714992, -3.5986433706134926e-06,
                                 5.633936132273839e-08};
inline constexpr double dc[8] = {1.0,
                                 -1.2337005501361697,
                                 0.2536695079010467,
                                 -0.02086348076331122,
                                 0.0009192602741832609,
                                 -2.520203677107732e-05,
                                 4.710609744708127e-07,
                                 -6.321258921032388e-09};
// log(1+f) = f - hfsq + s (hfsq + R(s^2)), s = f / (2 + f): coefficients of fdlibm e_log.c
// (double, Lg1..Lg7) and of musl logf.c (float, Lg1..Lg4).
// Float: log(1+f) = f - f^2/2 + f^3 P(f), P of degree 7 fitted by
// tools/random_sincos_coefficients.py (relative error 0.12 eps before rounding); no division.
inline constexpr float flp[8] = {0.3333335518836975f,  -0.2500085234642029f, 0.19999825954437256f,
                                 -0.16621370613574982f, 0.14227114617824554f, -0.13202103972434998f,
                                 0.1262032687664032f,  -0.07362867891788483f};
inline constexpr float fln2_hi = 6.9313812256e-01f, fln2_lo = 9.0580006145e-06f;
inline constexpr double dlg[7] = {6.666666666666735130e-01, 3.999999999940941908e-01,
                                  2.857142874366239149e-01, 2.222219843214978396e-01,
                                  1.818357216161805012e-01, 1.531383769920937332e-01,
                                  1.479819860511658591e-01};
inline constexpr double dln2_hi = 6.93147180369123816490e-01, dln2_lo = 1.90821492927058770002e-10;
}  // namespace kc

// ---------------------------------------------------------------------------------------------
// Backends. Each provides W lanes of 32-bit words (vi), W floats (vf), W/2 64-bit words (vl)
// and W/2 doubles (vd), with exactly the integer semantics of the scalar backend. as_l64
// reinterprets 32-bit lanes (2i, 2i+1) as the 64-bit lane i (low word first).

/// Portable fallback: two 32-bit lanes (one 64-bit lane) in plain arrays, so that the double
/// layout (a 64-bit word = the same word of two neighbouring blocks, as in a SIMD register on a
/// little-endian machine) is the same as in the SIMD backends. Also the reference every SIMD
/// backend is tested against.
struct backend_scalar {
  static constexpr int W = 2;
  struct vi { std::uint32_t v[2]; };
  struct vf { float v[2]; };
  struct vl { std::uint64_t v[1]; };
  struct vd { double v[1]; };
  template <class F> static vi map(vi a, vi b, F f) { return {{f(a.v[0], b.v[0]), f(a.v[1], b.v[1])}}; }
  template <class F> static vf fmap(vf a, vf b, F f) { return {{f(a.v[0], b.v[0]), f(a.v[1], b.v[1])}}; }
  static vi load(const std::uint32_t* p) { return {{p[0], p[1]}}; }
  static void store(std::uint32_t* p, vi a) { p[0] = a.v[0]; p[1] = a.v[1]; }
  static vi set1(std::uint32_t a) { return {{a, a}}; }
  static vi add(vi a, vi b) { return map(a, b, [](std::uint32_t x, std::uint32_t y) { return x + y; }); }
  static vi sub(vi a, vi b) { return map(a, b, [](std::uint32_t x, std::uint32_t y) { return x - y; }); }
  static vi and_(vi a, vi b) { return map(a, b, [](std::uint32_t x, std::uint32_t y) { return x & y; }); }
  static vi or_(vi a, vi b) { return map(a, b, [](std::uint32_t x, std::uint32_t y) { return x | y; }); }
  static vi xor_(vi a, vi b) { return map(a, b, [](std::uint32_t x, std::uint32_t y) { return x ^ y; }); }
  static vi xor3(vi a, vi b, vi c) { return xor_(xor_(a, b), c); }
  template <int N> static vi srli(vi a) { return {{a.v[0] >> N, a.v[1] >> N}}; }
  template <int N> static vi slli(vi a) { return {{a.v[0] << N, a.v[1] << N}}; }
  /// Arithmetic shift: copies of the sign bit (two's complement, written without
  /// implementation-defined signed shifts).
  template <int N> static vi srai(vi a) {
    const auto f = [](std::uint32_t x) { return (x >> N) | (((0u - (x >> 31)) << (31 - N)) << 1); };
    return {{f(a.v[0]), f(a.v[1])}};
  }
  static void mulhilo(vi x, std::uint32_t m, vi& hi, vi& lo) {
    for (int i = 0; i < 2; ++i) {
      const std::uint64_t p = static_cast<std::uint64_t>(m) * x.v[i];
      hi.v[i] = static_cast<std::uint32_t>(p >> 32);
      lo.v[i] = static_cast<std::uint32_t>(p);
    }
  }
  static vf cvt(vi a) {
    return {{static_cast<float>(static_cast<std::int32_t>(a.v[0])),
             static_cast<float>(static_cast<std::int32_t>(a.v[1]))}};
  }
  static vf as_f(vi a) { vf f; std::memcpy(&f, &a, 8); return f; }
  static vi as_i(vf a) { vi i; std::memcpy(&i, &a, 8); return i; }
  static vf fset1(float a) { return {{a, a}}; }
  static vf fadd(vf a, vf b) { return fmap(a, b, [](float x, float y) { return x + y; }); }
  static vf fsub(vf a, vf b) { return fmap(a, b, [](float x, float y) { return x - y; }); }
  static vf fmul(vf a, vf b) { return fmap(a, b, [](float x, float y) { return x * y; }); }
  // With a hardware multiply-add the fused operation, always (a compiler would otherwise fuse
  // the multiply and the add in some inlining contexts and not in others); without one the two
  // roundings, which no compiler can fuse.
#if defined(__FMA__) || defined(__ARM_FEATURE_FMA)
  static vf fmadd(vf a, vf b, vf c) {
    return {{std::fma(a.v[0], b.v[0], c.v[0]), std::fma(a.v[1], b.v[1], c.v[1])}};
  }
#else
  static vf fmadd(vf a, vf b, vf c) { return fadd(fmul(a, b), c); }
#endif
  static vf fsqrt(vf a) { return {{std::sqrt(a.v[0]), std::sqrt(a.v[1])}}; }
  static vf fmax(vf a, vf b) { return fmap(a, b, [](float x, float y) { return x < y ? y : x; }); }
  static void fstore(float* p, vf a) { p[0] = a.v[0]; p[1] = a.v[1]; }
  static vl as_l64(vi a) { vl l; std::memcpy(&l, &a, 8); return l; }
  static vl lset1(std::uint64_t a) { return {{a}}; }
  static vl ladd(vl a, vl b) { return {{a.v[0] + b.v[0]}}; }
  static vl lsub(vl a, vl b) { return {{a.v[0] - b.v[0]}}; }
  static vl land(vl a, vl b) { return {{a.v[0] & b.v[0]}}; }
  static vl lor(vl a, vl b) { return {{a.v[0] | b.v[0]}}; }
  static vl lxor(vl a, vl b) { return {{a.v[0] ^ b.v[0]}}; }
  template <int N> static vl lsrli(vl a) { return {{a.v[0] >> N}}; }
  template <int N> static vl lslli(vl a) { return {{a.v[0] << N}}; }
  static vd as_d(vl a) { vd d; std::memcpy(&d, &a, 8); return d; }
  static vl as_l(vd a) { vl l; std::memcpy(&l, &a, 8); return l; }
  static vd dset1(double a) { return {{a}}; }
  static vd dadd(vd a, vd b) { return {{a.v[0] + b.v[0]}}; }
  static vd dsub(vd a, vd b) { return {{a.v[0] - b.v[0]}}; }
  static vd dmul(vd a, vd b) { return {{a.v[0] * b.v[0]}}; }
#if defined(__FMA__) || defined(__ARM_FEATURE_FMA)
  static vd dmadd(vd a, vd b, vd c) { return {{std::fma(a.v[0], b.v[0], c.v[0])}}; }
#else
  static vd dmadd(vd a, vd b, vd c) { return dadd(dmul(a, b), c); }
#endif
  static vd ddiv(vd a, vd b) { return {{a.v[0] / b.v[0]}}; }
  static vd dsqrt(vd a) { return {{std::sqrt(a.v[0])}}; }
  static vd dmax(vd a, vd b) { return {{a.v[0] < b.v[0] ? b.v[0] : a.v[0]}}; }
  static void dstore(double* p, vd a) { p[0] = a.v[0]; }
};

#if defined(LATENT_RANDOM_HAS_SSE2)
/// SSE2 (every x86-64 CPU): 4 lanes.
struct backend_sse2 {
  static constexpr int W = 4;
  using vi = __m128i;
  using vf = __m128;
  using vl = __m128i;
  using vd = __m128d;
  static vi load(const std::uint32_t* p) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p)); }
  static void store(std::uint32_t* p, vi a) { _mm_storeu_si128(reinterpret_cast<__m128i*>(p), a); }
  static vi set1(std::uint32_t a) { return _mm_set1_epi32(static_cast<int>(a)); }
  static vi add(vi a, vi b) { return _mm_add_epi32(a, b); }
  static vi sub(vi a, vi b) { return _mm_sub_epi32(a, b); }
  static vi and_(vi a, vi b) { return _mm_and_si128(a, b); }
  static vi or_(vi a, vi b) { return _mm_or_si128(a, b); }
  static vi xor_(vi a, vi b) { return _mm_xor_si128(a, b); }
  static vi xor3(vi a, vi b, vi c) { return _mm_xor_si128(_mm_xor_si128(a, b), c); }
  template <int N> static vi srli(vi a) { return _mm_srli_epi32(a, N); }
  template <int N> static vi slli(vi a) { return _mm_slli_epi32(a, N); }
  template <int N> static vi srai(vi a) { return _mm_srai_epi32(a, N); }
  static void mulhilo(vi x, std::uint32_t m, vi& hi, vi& lo) {
    // ev = (lo0, hi0, lo2, hi2), od = (lo1, hi1, lo3, hi3): two interleaves give
    // a = (lo0, lo1, hi0, hi1), b = (lo2, lo3, hi2, hi3), two more the lo and hi halves
    // (4 shuffles instead of 6 shift/mask/or operations).
    const __m128i mv = _mm_set1_epi32(static_cast<int>(m));
    const __m128i ev = _mm_mul_epu32(x, mv);
    const __m128i od = _mm_mul_epu32(_mm_srli_epi64(x, 32), mv);
    const __m128i a = _mm_unpacklo_epi32(ev, od), b = _mm_unpackhi_epi32(ev, od);
    hi = _mm_unpackhi_epi64(a, b);
    lo = _mm_unpacklo_epi64(a, b);
  }
  static vf cvt(vi a) { return _mm_cvtepi32_ps(a); }
  static vf as_f(vi a) { return _mm_castsi128_ps(a); }
  static vi as_i(vf a) { return _mm_castps_si128(a); }
  static vf fset1(float a) { return _mm_set1_ps(a); }
  static vf fadd(vf a, vf b) { return _mm_add_ps(a, b); }
  static vf fsub(vf a, vf b) { return _mm_sub_ps(a, b); }
  static vf fmul(vf a, vf b) { return _mm_mul_ps(a, b); }
#if defined(__FMA__)
  static vf fmadd(vf a, vf b, vf c) { return _mm_fmadd_ps(a, b, c); }
  static vd dmadd(vd a, vd b, vd c) { return _mm_fmadd_pd(a, b, c); }
#else
  static vf fmadd(vf a, vf b, vf c) { return _mm_add_ps(_mm_mul_ps(a, b), c); }
  static vd dmadd(vd a, vd b, vd c) { return _mm_add_pd(_mm_mul_pd(a, b), c); }
#endif
  static vf fsqrt(vf a) { return _mm_sqrt_ps(a); }
  static vf fmax(vf a, vf b) { return _mm_max_ps(a, b); }
  static void fstore(float* p, vf a) { _mm_storeu_ps(p, a); }
  static vl as_l64(vi a) { return a; }
  static vl lset1(std::uint64_t a) { return _mm_set1_epi64x(static_cast<long long>(a)); }
  static vl ladd(vl a, vl b) { return _mm_add_epi64(a, b); }
  static vl lsub(vl a, vl b) { return _mm_sub_epi64(a, b); }
  static vl land(vl a, vl b) { return _mm_and_si128(a, b); }
  static vl lor(vl a, vl b) { return _mm_or_si128(a, b); }
  static vl lxor(vl a, vl b) { return _mm_xor_si128(a, b); }
  template <int N> static vl lsrli(vl a) { return _mm_srli_epi64(a, N); }
  template <int N> static vl lslli(vl a) { return _mm_slli_epi64(a, N); }
  static vd as_d(vl a) { return _mm_castsi128_pd(a); }
  static vl as_l(vd a) { return _mm_castpd_si128(a); }
  static vd dset1(double a) { return _mm_set1_pd(a); }
  static vd dadd(vd a, vd b) { return _mm_add_pd(a, b); }
  static vd dsub(vd a, vd b) { return _mm_sub_pd(a, b); }
  static vd dmul(vd a, vd b) { return _mm_mul_pd(a, b); }
  static vd ddiv(vd a, vd b) { return _mm_div_pd(a, b); }
  static vd dsqrt(vd a) { return _mm_sqrt_pd(a); }
  static vd dmax(vd a, vd b) { return _mm_max_pd(a, b); }
  static void dstore(double* p, vd a) { _mm_storeu_pd(p, a); }
};
#endif

#if defined(LATENT_RANDOM_HAS_AVX2)
/// AVX2 (+FMA when enabled): 8 lanes.
struct backend_avx2 {
  static constexpr int W = 8;
  using vi = __m256i;
  using vf = __m256;
  using vl = __m256i;
  using vd = __m256d;
  static vi load(const std::uint32_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }
  static void store(std::uint32_t* p, vi a) { _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), a); }
  static vi set1(std::uint32_t a) { return _mm256_set1_epi32(static_cast<int>(a)); }
  static vi add(vi a, vi b) { return _mm256_add_epi32(a, b); }
  static vi sub(vi a, vi b) { return _mm256_sub_epi32(a, b); }
  static vi and_(vi a, vi b) { return _mm256_and_si256(a, b); }
  static vi or_(vi a, vi b) { return _mm256_or_si256(a, b); }
  static vi xor_(vi a, vi b) { return _mm256_xor_si256(a, b); }
  static vi xor3(vi a, vi b, vi c) { return _mm256_xor_si256(_mm256_xor_si256(a, b), c); }
  template <int N> static vi srli(vi a) { return _mm256_srli_epi32(a, N); }
  template <int N> static vi slli(vi a) { return _mm256_slli_epi32(a, N); }
  template <int N> static vi srai(vi a) { return _mm256_srai_epi32(a, N); }
  static void mulhilo(vi x, std::uint32_t m, vi& hi, vi& lo) {
    const __m256i mv = _mm256_set1_epi32(static_cast<int>(m));
    const __m256i ev = _mm256_mul_epu32(x, mv);
    const __m256i od = _mm256_mul_epu32(_mm256_srli_epi64(x, 32), mv);
    hi = _mm256_blend_epi32(_mm256_srli_epi64(ev, 32), od, 0xAA);
    // The low halves directly (vpmulld): measured 15 % faster than merging them from ev, od.
    lo = _mm256_mullo_epi32(x, mv);
  }
  static vf cvt(vi a) { return _mm256_cvtepi32_ps(a); }
  static vf as_f(vi a) { return _mm256_castsi256_ps(a); }
  static vi as_i(vf a) { return _mm256_castps_si256(a); }
  static vf fset1(float a) { return _mm256_set1_ps(a); }
  static vf fadd(vf a, vf b) { return _mm256_add_ps(a, b); }
  static vf fsub(vf a, vf b) { return _mm256_sub_ps(a, b); }
  static vf fmul(vf a, vf b) { return _mm256_mul_ps(a, b); }
#if defined(__FMA__)
  static vf fmadd(vf a, vf b, vf c) { return _mm256_fmadd_ps(a, b, c); }
  static vd dmadd(vd a, vd b, vd c) { return _mm256_fmadd_pd(a, b, c); }
#else
  static vf fmadd(vf a, vf b, vf c) { return _mm256_add_ps(_mm256_mul_ps(a, b), c); }
  static vd dmadd(vd a, vd b, vd c) { return _mm256_add_pd(_mm256_mul_pd(a, b), c); }
#endif
  static vf fsqrt(vf a) { return _mm256_sqrt_ps(a); }
  static vf fmax(vf a, vf b) { return _mm256_max_ps(a, b); }
  static void fstore(float* p, vf a) { _mm256_storeu_ps(p, a); }
  static vl as_l64(vi a) { return a; }
  static vl lset1(std::uint64_t a) { return _mm256_set1_epi64x(static_cast<long long>(a)); }
  static vl ladd(vl a, vl b) { return _mm256_add_epi64(a, b); }
  static vl lsub(vl a, vl b) { return _mm256_sub_epi64(a, b); }
  static vl land(vl a, vl b) { return _mm256_and_si256(a, b); }
  static vl lor(vl a, vl b) { return _mm256_or_si256(a, b); }
  static vl lxor(vl a, vl b) { return _mm256_xor_si256(a, b); }
  template <int N> static vl lsrli(vl a) { return _mm256_srli_epi64(a, N); }
  template <int N> static vl lslli(vl a) { return _mm256_slli_epi64(a, N); }
  static vd as_d(vl a) { return _mm256_castsi256_pd(a); }
  static vl as_l(vd a) { return _mm256_castpd_si256(a); }
  static vd dset1(double a) { return _mm256_set1_pd(a); }
  static vd dadd(vd a, vd b) { return _mm256_add_pd(a, b); }
  static vd dsub(vd a, vd b) { return _mm256_sub_pd(a, b); }
  static vd dmul(vd a, vd b) { return _mm256_mul_pd(a, b); }
  static vd ddiv(vd a, vd b) { return _mm256_div_pd(a, b); }
  static vd dsqrt(vd a) { return _mm256_sqrt_pd(a); }
  static vd dmax(vd a, vd b) { return _mm256_max_pd(a, b); }
  static void dstore(double* p, vd a) { _mm256_storeu_pd(p, a); }
};
#endif

#if defined(LATENT_RANDOM_HAS_AVX512)
/// AVX-512F: 16 lanes, one chunk per register.
struct backend_avx512 {
  static constexpr int W = 16;
  using vi = __m512i;
  using vf = __m512;
  using vl = __m512i;
  using vd = __m512d;
  static vi load(const std::uint32_t* p) { return _mm512_loadu_si512(p); }
  static void store(std::uint32_t* p, vi a) { _mm512_storeu_si512(p, a); }
  static vi set1(std::uint32_t a) { return _mm512_set1_epi32(static_cast<int>(a)); }
  static vi add(vi a, vi b) { return _mm512_add_epi32(a, b); }
  static vi sub(vi a, vi b) { return _mm512_sub_epi32(a, b); }
  static vi and_(vi a, vi b) { return _mm512_and_si512(a, b); }
  static vi or_(vi a, vi b) { return _mm512_or_si512(a, b); }
  static vi xor_(vi a, vi b) { return _mm512_xor_si512(a, b); }
  static vi xor3(vi a, vi b, vi c) { return _mm512_ternarylogic_epi32(a, b, c, 0x96); }
  template <int N> static vi srli(vi a) { return _mm512_srli_epi32(a, N); }
  template <int N> static vi slli(vi a) { return _mm512_slli_epi32(a, N); }
  template <int N> static vi srai(vi a) { return _mm512_srai_epi32(a, N); }
  static void mulhilo(vi x, std::uint32_t m, vi& hi, vi& lo) {
    const __m512i mv = _mm512_set1_epi32(static_cast<int>(m));
    const __m512i ev = _mm512_mul_epu32(x, mv);
    const __m512i od = _mm512_mul_epu32(_mm512_srli_epi64(x, 32), mv);
    // Even lanes take the high dword of their 64-bit product, odd lanes the low dword. The low
    // halves come straight from vpmulld: one shuffle fewer per multiply (the shuffle units, not
    // the multipliers, bound the rounds; measured 8 % faster).
    hi = _mm512_mask_shuffle_epi32(od, 0x5555, ev, _MM_PERM_CDAB);
    lo = _mm512_mullo_epi32(x, mv);
  }
  static vf cvt(vi a) { return _mm512_cvtepi32_ps(a); }
  static vf as_f(vi a) { return _mm512_castsi512_ps(a); }
  static vi as_i(vf a) { return _mm512_castps_si512(a); }
  static vf fset1(float a) { return _mm512_set1_ps(a); }
  static vf fadd(vf a, vf b) { return _mm512_add_ps(a, b); }
  static vf fsub(vf a, vf b) { return _mm512_sub_ps(a, b); }
  static vf fmul(vf a, vf b) { return _mm512_mul_ps(a, b); }
  static vf fmadd(vf a, vf b, vf c) { return _mm512_fmadd_ps(a, b, c); }
  static vf fsqrt(vf a) { return _mm512_sqrt_ps(a); }
  static vf fmax(vf a, vf b) { return _mm512_max_ps(a, b); }
  static void fstore(float* p, vf a) { _mm512_storeu_ps(p, a); }
  static vl as_l64(vi a) { return a; }
  static vl lset1(std::uint64_t a) { return _mm512_set1_epi64(static_cast<long long>(a)); }
  static vl ladd(vl a, vl b) { return _mm512_add_epi64(a, b); }
  static vl lsub(vl a, vl b) { return _mm512_sub_epi64(a, b); }
  static vl land(vl a, vl b) { return _mm512_and_si512(a, b); }
  static vl lor(vl a, vl b) { return _mm512_or_si512(a, b); }
  static vl lxor(vl a, vl b) { return _mm512_xor_si512(a, b); }
  template <int N> static vl lsrli(vl a) { return _mm512_srli_epi64(a, N); }
  template <int N> static vl lslli(vl a) { return _mm512_slli_epi64(a, N); }
  static vd as_d(vl a) { return _mm512_castsi512_pd(a); }
  static vl as_l(vd a) { return _mm512_castpd_si512(a); }
  static vd dset1(double a) { return _mm512_set1_pd(a); }
  static vd dadd(vd a, vd b) { return _mm512_add_pd(a, b); }
  static vd dsub(vd a, vd b) { return _mm512_sub_pd(a, b); }
  static vd dmul(vd a, vd b) { return _mm512_mul_pd(a, b); }
  static vd dmadd(vd a, vd b, vd c) { return _mm512_fmadd_pd(a, b, c); }
  static vd ddiv(vd a, vd b) { return _mm512_div_pd(a, b); }
  static vd dsqrt(vd a) { return _mm512_sqrt_pd(a); }
  static vd dmax(vd a, vd b) { return _mm512_max_pd(a, b); }
  static void dstore(double* p, vd a) { _mm512_storeu_pd(p, a); }
};
#endif

#if defined(LATENT_RANDOM_HAS_AVX512) && !defined(LATENT_RANDOM_NO_SIMD)
using backend_native = backend_avx512;
#elif defined(LATENT_RANDOM_HAS_AVX2) && !defined(LATENT_RANDOM_NO_SIMD)
using backend_native = backend_avx2;
#elif defined(LATENT_RANDOM_HAS_SSE2) && !defined(LATENT_RANDOM_NO_SIMD)
using backend_native = backend_sse2;
#else
using backend_native = backend_scalar;
#endif

// ---------------------------------------------------------------------------------------------
// Math on a backend's registers.

/// Steps of the transform with a shorter form on some instruction sets; every form gives the
/// same bits. Generic forms here, AVX-512 forms below.
template <class B>
struct transform_ops {
  using vi = typename B::vi;
  using vf = typename B::vf;
  using vl = typename B::vl;
  using vd = typename B::vd;
  /// float(e - 127 - Bias), e = the exponent field of the (normal) float with bits ix.
  template <int Bias>
  static vf exponent_f(vi ix) {
    return B::cvt(B::sub(B::template srli<23>(ix), B::set1(0x7fu + Bias)));
  }
  /// double(e - 1023) for the exponent field e of a normal double: (2^52 + e) - (2^52 + 1023).
  static vd exponent_d(vl ix) {
    return B::dsub(B::as_d(B::lor(B::template lsrli<52>(ix), B::lset1(0x4330000000000000ull))),
                   B::dset1(4503599627371519.0));
  }
  /// The octant symmetries of the float angle word wa: bit 29 swaps s and c, bit 31 (30) is
  /// the sign of cos (sin).
  static void octant_f(vi si, vi ci, vi wa, vi& cos_bits, vi& sin_bits) {
    const vi swap = B::template srai<31>(B::template slli<2>(wa));  // all ones if bit 29
    const vi d = B::and_(B::xor_(si, ci), swap);
    cos_bits = B::xor3(ci, d, B::and_(wa, B::set1(0x80000000u)));
    sin_bits = B::xor3(si, d, B::and_(B::template slli<1>(wa), B::set1(0x80000000u)));
  }
  /// The same for the double angle word va: bit 61 swaps, bit 63 (62) is the sign of cos (sin).
  static void octant_d(vl si, vl ci, vl va, vl& cos_bits, vl& sin_bits) {
    const vl sign = B::lset1(0x8000000000000000ull);
    const vl swap = B::lsub(B::lset1(0), B::land(B::template lsrli<61>(va), B::lset1(1)));
    const vl d = B::land(B::lxor(si, ci), swap);
    cos_bits = B::lxor(B::lxor(ci, d), B::land(va, sign));
    sin_bits = B::lxor(B::lxor(si, d), B::land(B::template lslli<1>(va), sign));
  }
};

#if defined(LATENT_RANDOM_HAS_AVX512)
template <>
struct transform_ops<backend_avx512> {
  using vi = __m512i;
  using vf = __m512;
  using vl = __m512i;
  using vd = __m512d;
  // vgetexp returns floor(log2 |x|) of a normal number exactly: the unbiased exponent field.
  template <int Bias>
  static vf exponent_f(vi ix) {
    const vf e = _mm512_getexp_ps(_mm512_castsi512_ps(ix));
    return Bias == 0 ? e : _mm512_sub_ps(e, _mm512_set1_ps(static_cast<float>(Bias)));
  }
  static vd exponent_d(vl ix) { return _mm512_getexp_pd(_mm512_castsi512_pd(ix)); }
  static void octant_f(vi si, vi ci, vi wa, vi& cos_bits, vi& sin_bits) {
    const __mmask16 swap = _mm512_test_epi32_mask(wa, _mm512_set1_epi32(1 << 29));
    const vi sign = _mm512_set1_epi32(static_cast<int>(0x80000000u));
    // a ^ (b & c): ternary-logic table 0xF0 ^ (0xCC & 0xAA) = 0x78.
    cos_bits = _mm512_ternarylogic_epi32(_mm512_mask_blend_epi32(swap, ci, si), wa, sign, 0x78);
    sin_bits = _mm512_ternarylogic_epi32(_mm512_mask_blend_epi32(swap, si, ci),
                                         _mm512_slli_epi32(wa, 1), sign, 0x78);
  }
  static void octant_d(vl si, vl ci, vl va, vl& cos_bits, vl& sin_bits) {
    const __mmask8 swap = _mm512_test_epi64_mask(va, _mm512_set1_epi64(1ll << 61));
    const vl sign = _mm512_set1_epi64(static_cast<long long>(0x8000000000000000ull));
    cos_bits = _mm512_ternarylogic_epi64(_mm512_mask_blend_epi64(swap, ci, si), va, sign, 0x78);
    sin_bits = _mm512_ternarylogic_epi64(_mm512_mask_blend_epi64(swap, si, ci),
                                         _mm512_slli_epi64(va, 1), sign, 0x78);
  }
};
#endif

/// -2 log(u) for float u in [2^-32, 1] (normal numbers only), given as us = 2^Scale u:
/// u = 2^k (1 + f) with f in [sqrt(1/2) - 1, sqrt(2) - 1) (musl logf's reduction), then a
/// division-free polynomial. The scaling by 2^Scale changes only the exponent field, so f is the
/// same and k is read off with the bias Scale: the caller saves a multiply (the Box-Muller
/// uniform is v 2^-31 + 2^-32 = (v + 1/2) 2^-31, an addition before the scaling). The factor -2
/// of the Box-Muller radius is folded into the constants: scaling by a power of two commutes
/// with rounding, so this is bit for bit -2 times the plain evaluation, one multiply cheaper.
/// The polynomial is evaluated by Estrin's scheme (pairs, then f^2, then f^4): its dependency
/// chain is 3 multiply-adds instead of Horner's 7, and the radius chain (log, sqrt) is what
/// keeps the kernel's out-of-order window full; 4-11 % faster than Horner for 16K normals,
/// as accurate (radius within 1 ulp of sqrt(-2 log u) for every float u, checked for all 2^31
/// inputs, with 13.2 % of them at 1 ulp either way). The summation keeps small terms first:
/// (f^3 P + (k ln2_lo + f^2)) - 2 f, then + k ln2_hi (exact product).
template <int Scale, class B>
LATENT_KERNEL_INLINE typename B::vf minus2_log_f(typename B::vf us) {
  using vi = typename B::vi;
  using vf = typename B::vf;
  vi ix = B::add(B::as_i(us), B::set1(0x3f800000u - 0x3f3504f3u));
  const vf dk = transform_ops<B>::template exponent_f<Scale>(ix);
  ix = B::add(B::and_(ix, B::set1(0x007fffffu)), B::set1(0x3f3504f3u));
  const vf f = B::fsub(B::as_f(ix), B::fset1(1.0f));
  const vf f2 = B::fmul(f, f);
  const vf p01 = B::fmadd(f, B::fset1(-2 * kc::flp[1]), B::fset1(-2 * kc::flp[0]));
  const vf p23 = B::fmadd(f, B::fset1(-2 * kc::flp[3]), B::fset1(-2 * kc::flp[2]));
  const vf p45 = B::fmadd(f, B::fset1(-2 * kc::flp[5]), B::fset1(-2 * kc::flp[4]));
  const vf p67 = B::fmadd(f, B::fset1(-2 * kc::flp[7]), B::fset1(-2 * kc::flp[6]));
  const vf f4 = B::fmul(f2, f2);
  const vf pp = B::fmadd(f4, B::fmadd(f2, p67, p45), B::fmadd(f2, p23, p01));
  // -2 (f^3 P(f) + k ln2_lo - f^2/2 + f + k ln2_hi), small terms first. f2 is an addend only
  // of explicit multiply-adds, so no compiler can contract it differently per context (B13).
  const vf a = B::fmadd(dk, B::fset1(-2 * kc::fln2_lo), f2);
  const vf y = B::fsub(B::fmadd(B::fmul(f2, f), pp, a), B::fadd(f, f));
  return B::fmadd(dk, B::fset1(-2 * kc::fln2_hi), y);
}

/// -2 log(u) for double u in [2^-52, 1]: fdlibm's e_log.c decomposition, the factor -2 folded
/// into the constants exactly as in minus2_log_f (bit for bit -2 times the plain evaluation).
template <class B>
LATENT_KERNEL_INLINE typename B::vd minus2_log_d(typename B::vd u) {
  using vl = typename B::vl;
  using vd = typename B::vd;
  vl ix = B::ladd(B::as_l(u), B::lset1(0x3ff0000000000000ull - 0x3fe6a09e00000000ull));
  const vd dk = transform_ops<B>::exponent_d(ix);
  ix = B::ladd(B::land(ix, B::lset1(0x000fffffffffffffull)), B::lset1(0x3fe6a09e00000000ull));
  const vd f = B::dsub(B::as_d(ix), B::dset1(1.0));
  const vd s = B::ddiv(f, B::dadd(B::dset1(2.0), f));
  const vd z = B::dmul(s, s);
  const vd w = B::dmul(z, z);
  // 2 t1 = w p1, 2 t2 (doubled Lg coefficients). No product here is ever an operand of an
  // addition: each is an explicit multiply-add, so the result cannot depend on where a compiler
  // contracts a multiply and an add into one (g++ does that differently from one inlining
  // context to the next, which made the same noise differ by an ulp between two callers).
  const vd p1 = B::dmadd(w, B::dmadd(w, B::dset1(2 * kc::dlg[5]), B::dset1(2 * kc::dlg[3])),
                         B::dset1(2 * kc::dlg[1]));
  const vd t2 = B::dmul(
      z, B::dmadd(w, B::dmadd(w, B::dmadd(w, B::dset1(2 * kc::dlg[6]), B::dset1(2 * kc::dlg[4])),
                              B::dset1(2 * kc::dlg[2])),
                  B::dset1(2 * kc::dlg[0])));
  const vd r = B::dmadd(w, p1, t2);  // 2 R = 2 (t1 + t2)
  // 2 (s (hfsq + R) + k ln2_lo) with h = 2 hfsq = f^2, then -2 ((. - hfsq) + f) = h - (. + 2 f).
  const vd y = B::dmadd(s, B::dmadd(f, f, r), B::dmul(dk, B::dset1(2 * kc::dln2_lo)));
  const vd q = B::dadd(y, B::dadd(f, f));
  const vd yy = B::dmadd(f, f, B::dsub(B::dset1(0.0), q));
  return B::dmadd(dk, B::dset1(-2 * kc::dln2_hi), yy);
}

/// Box-Muller on float lanes: radius word wr, angle word wa -> (R cos, R sin).
template <class B>
LATENT_KERNEL_INLINE void box_muller_f(typename B::vi wr, typename B::vi wa, typename B::vf& z0,
                         typename B::vf& z1) {
  using vi = typename B::vi;
  using vf = typename B::vf;
  // u1 = (wr >> 1) 2^-31 + 2^-32 in (0, 1], passed as 2^31 u1 = (wr >> 1) + 1/2 (one rounding
  // either way: the scaling by 2^-31 is exact).
  const vf u1s = B::fadd(B::cvt(B::template srli<1>(wr)), B::fset1(0.5f));
  const vf rad = B::fsqrt(minus2_log_f<31, B>(u1s));
  // Angle (24 bits): bit 31 and bit 30 of wa are the signs of cos and sin, bit 29 swaps them,
  // bits 28..8 give phi = pi/2 r in (0, pi/4), r = (2m + 1) 2^-23. The 8 symmetries of the
  // octant map it onto the circle, so theta is uniform without any range reduction.
  const vf r = B::fsub(B::as_f(B::or_(B::and_(B::template srli<7>(wa), B::set1(0x003ffffeu)),
                                      B::set1(0x3f800001u))),
                       B::fset1(1.0f));
  const vf r2 = B::fmul(r, r);
  vf sp = B::fmadd(r2, B::fset1(kc::fs[3]), B::fset1(kc::fs[2]));
  sp = B::fmadd(r2, sp, B::fset1(kc::fs[1]));
  sp = B::fmadd(r2, sp, B::fset1(kc::fs[0]));
  const vf s = B::fmul(r, sp);
  vf c = B::fmadd(r2, B::fset1(kc::fc[4]), B::fset1(kc::fc[3]));
  c = B::fmadd(r2, c, B::fset1(kc::fc[2]));
  c = B::fmadd(r2, c, B::fset1(kc::fc[1]));
  c = B::fmadd(r2, c, B::fset1(kc::fc[0]));
  vi cos_bits, sin_bits;
  transform_ops<B>::octant_f(B::as_i(s), B::as_i(c), wa, cos_bits, sin_bits);
  z0 = B::fmul(rad, B::as_f(cos_bits));
  z1 = B::fmul(rad, B::as_f(sin_bits));
}

/// Box-Muller on double lanes: 64-bit radius word vr, angle word va -> (R cos, R sin).
template <class B>
LATENT_KERNEL_INLINE void box_muller_d(typename B::vl vr, typename B::vl va, typename B::vd& z0,
                         typename B::vd& z1) {
  using vl = typename B::vl;
  using vd = typename B::vd;
  const vl one = B::lset1(0x3ff0000000000000ull);
  // u1 = 2 - (1 + k 2^-52) = 1 - k 2^-52 in [2^-52, 1], exact.
  const vd u1 = B::dsub(B::dset1(2.0), B::as_d(B::lor(B::template lsrli<12>(vr), one)));
  const vd rad = B::dsqrt(minus2_log_d<B>(u1));
  // Angle (52 bits): bits 63, 62 signs, bit 61 swap, bits 60..12 give r = (2m + 1) 2^-51.
  const vd r = B::dsub(B::as_d(B::lor(B::land(B::template lsrli<10>(va), B::lset1(0x0007fffffffffffcull)),
                                      B::lset1(0x3ff0000000000002ull))),
                       B::dset1(1.0));
  const vd r2 = B::dmul(r, r);
  vd sp = B::dmadd(r2, B::dset1(kc::ds[6]), B::dset1(kc::ds[5]));
  sp = B::dmadd(r2, sp, B::dset1(kc::ds[4]));
  sp = B::dmadd(r2, sp, B::dset1(kc::ds[3]));
  sp = B::dmadd(r2, sp, B::dset1(kc::ds[2]));
  sp = B::dmadd(r2, sp, B::dset1(kc::ds[1]));
  sp = B::dmadd(r2, sp, B::dset1(kc::ds[0]));
  const vd s = B::dmul(r, sp);
  vd c = B::dmadd(r2, B::dset1(kc::dc[7]), B::dset1(kc::dc[6]));
  c = B::dmadd(r2, c, B::dset1(kc::dc[5]));
  c = B::dmadd(r2, c, B::dset1(kc::dc[4]));
  c = B::dmadd(r2, c, B::dset1(kc::dc[3]));
  c = B::dmadd(r2, c, B::dset1(kc::dc[2]));
  c = B::dmadd(r2, c, B::dset1(kc::dc[1]));
  c = B::dmadd(r2, c, B::dset1(kc::dc[0]));
  vl cos_bits, sin_bits;
  transform_ops<B>::octant_d(B::as_l(s), B::as_l(c), va, cos_bits, sin_bits);
  z0 = B::dmul(rad, B::as_d(cos_bits));
  z1 = B::dmul(rad, B::as_d(sin_bits));
}

/// Register groups whose Philox rounds run side by side: one round is a chain of multiply,
/// shuffle and xor (~6 cycles of latency), so fewer groups leave the SIMD units idle.
inline constexpr int philox_ilp = 4;

/// The four words of `L` register groups of W Philox blocks each (lane j of group i = block
/// first + i W + j).
template <class B, int L>
struct philox_batch {
  typename B::vi x0[L], x1[L], x2[L], x3[L];
};

/// Round 1 of every batch of one noise expression multiplies the stream word s0, the same in
/// every lane: its product is computed once per call.
template <class B>
struct philox_consts {
  typename B::vi hi1, lo1, s1;
  explicit philox_consts(const noise_params& p) {
    B::mulhilo(B::set1(p.s0), philox_m1, hi1, lo1);
    hi1 = B::xor_(hi1, B::set1(p.rk0[0]));
    s1 = B::xor_(B::set1(p.s1), B::set1(p.rk1[0]));
  }
};

inline constexpr std::uint32_t lane_index[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};

/// Counters of the batch starting at block `first`, and round 1.
template <class B, int L>
LATENT_KERNEL_INLINE void philox_start(const philox_consts<B>& k, std::uint64_t first, philox_batch<B, L>& s) {
  using vi = typename B::vi;
  constexpr int W = B::W;
  const auto lo32 = static_cast<std::uint32_t>(first);
  const auto hi32 = static_cast<std::uint32_t>(first >> 32);
  if (lo32 <= 0xFFFFFFFFu - static_cast<std::uint32_t>(L * W)) {
    // No carry into the high counter word inside the batch (all but one batch in 2^32 / 64).
    const vi lanes = B::load(lane_index);
    const vi x0 = B::xor_(k.hi1, B::set1(hi32));
    for (int i = 0; i < L; ++i) {
      vi hi0, lo0;
      B::mulhilo(B::add(B::set1(lo32 + static_cast<std::uint32_t>(i * W)), lanes), philox_m0, hi0, lo0);
      s.x0[i] = x0;
      s.x1[i] = k.lo1;
      s.x2[i] = B::xor_(hi0, k.s1);
      s.x3[i] = lo0;
    }
    return;
  }
  alignas(64) std::uint32_t lo[L * W], hi[L * W];
  for (int j = 0; j < L * W; ++j) {
    const std::uint64_t b = first + static_cast<std::uint64_t>(j);
    lo[j] = static_cast<std::uint32_t>(b);
    hi[j] = static_cast<std::uint32_t>(b >> 32);
  }
  for (int i = 0; i < L; ++i) {
    vi hi0, lo0;
    B::mulhilo(B::load(lo + i * W), philox_m0, hi0, lo0);
    s.x0[i] = B::xor_(k.hi1, B::load(hi + i * W));
    s.x1[i] = k.lo1;
    s.x2[i] = B::xor_(hi0, k.s1);
    s.x3[i] = lo0;
  }
}

/// Philox round r (r >= 1) on a batch.
template <class B, int L>
LATENT_KERNEL_INLINE void philox_round(const noise_params& p, int r, philox_batch<B, L>& s) {
  using vi = typename B::vi;
  const vi k0 = B::set1(p.rk0[r]), k1 = B::set1(p.rk1[r]);
  for (int i = 0; i < L; ++i) {
    vi hi0, lo0, hi1, lo1;
    B::mulhilo(s.x0[i], philox_m0, hi0, lo0);
    B::mulhilo(s.x2[i], philox_m1, hi1, lo1);
    s.x0[i] = B::xor3(hi1, s.x1[i], k0);
    s.x1[i] = lo1;
    s.x2[i] = B::xor3(hi0, s.x3[i], k1);
    s.x3[i] = lo0;
  }
}

/// Output piece q (0 <= q < 2 L) of a finished batch: words 2h, 2h+1 (h = q % 2) of group
/// i = q / 2, transformed and stored at `o` (the group's first element; word k at o + 16 k for
/// float, o + 8 k for double).
template <class T, noise_kind Kind, class B, class Sink>
LATENT_KERNEL_INLINE void philox_emit_words(typename B::vi wa, typename B::vi wb, int h, T* o, const Sink& sink) {
  if constexpr (sizeof(T) == 4) {
    float* f = reinterpret_cast<float*>(o) + 32 * h;
    if constexpr (Kind == noise_kind::uniform) {
      const auto scale = B::fset1(5.9604644775390625e-08f), lo = B::fset1(2.98023223876953125e-08f);
      sink(f, B::fmax(B::fmul(B::cvt(B::template srli<8>(wa)), scale), lo));
      sink(f + 16, B::fmax(B::fmul(B::cvt(B::template srli<8>(wb)), scale), lo));
    } else {
      typename B::vf z0, z1;
      box_muller_f<B>(wa, wb, z0, z1);
      sink(f, z0);
      sink(f + 16, z1);
    }
  } else {
    // 64-bit lane m of a register = word k of blocks 2m, 2m+1 (low word first).
    double* d = reinterpret_cast<double*>(o) + 16 * h;
    const auto a = B::as_l64(wa), b = B::as_l64(wb);
    if constexpr (Kind == noise_kind::uniform) {
      const auto one = B::lset1(0x3ff0000000000000ull);
      const auto lo = B::dset1(1.1102230246251565404236316680908203125e-16);
      const auto u = [&](auto v) {
        return B::dmax(B::dsub(B::as_d(B::lor(B::template lsrli<12>(v), one)), B::dset1(1.0)), lo);
      };
      sink(d, u(a));
      sink(d + 8, u(b));
    } else {
      typename B::vd z0, z1;
      box_muller_d<B>(a, b, z0, z1);
      sink(d, z0);
      sink(d + 8, z1);
    }
  }
}

template <class T, noise_kind Kind, class B, int L, class Sink>
LATENT_KERNEL_INLINE void philox_emit(const philox_batch<B, L>& s, int q, T* o, const Sink& sink) {
  const int i = q / 2, h = q % 2;
  philox_emit_words<T, Kind, B>(h ? s.x2[i] : s.x0[i], h ? s.x3[i] : s.x1[i], h, o, sink);
}
/// The same from words stored by philox_store (read back as memory operands: the registers
/// stay free for the rounds of the next batch).
template <class T, noise_kind Kind, class B, int L, class Sink>
LATENT_KERNEL_INLINE void philox_emit(const std::uint32_t* words, int q, T* o, const Sink& sink) {
  constexpr int W = B::W;
  const int i = q / 2, h = q % 2;
  philox_emit_words<T, Kind, B>(B::load(words + ((2 * h) * L + i) * W),
                                B::load(words + ((2 * h + 1) * L + i) * W), h, o, sink);
}
template <class B, int L>
LATENT_KERNEL_INLINE void philox_store(const philox_batch<B, L>& s, std::uint32_t* words) {
  constexpr int W = B::W;
  for (int i = 0; i < L; ++i) {
    B::store(words + (0 * L + i) * W, s.x0[i]);
    B::store(words + (1 * L + i) * W, s.x1[i]);
    B::store(words + (2 * L + i) * W, s.x2[i]);
    B::store(words + (3 * L + i) * W, s.x3[i]);
  }
}

/// Batching of a backend: L register groups per batch, at least philox_ilp for the latency of
/// the rounds and at least one chunk so that a batch is a contiguous run of elements.
template <class B>
struct noise_batching {
  static constexpr int G = chunk_blocks / B::W;  // register groups per chunk
  static constexpr int L = G > philox_ilp ? G : philox_ilp;
  static constexpr int chunks = L / G;  // chunks per batch
};

/// One step of the software pipeline: emits the finished batch whose words are in `words`
/// (group i to dst(i)) while running the rounds of the batch that starts at block `next` in
/// `cur`. The rounds (integer multiplies, shuffles, xors) and the transform (floating-point
/// log, sqrt, polynomials) are independent, so with one output piece after each round both
/// kinds of SIMD units are busy at once instead of one after the other.
template <class T, noise_kind Kind, class B, int L, class Dst, class Sink>
LATENT_KERNEL_INLINE void noise_pipeline_step(const noise_params& p, const philox_consts<B>& k,
                                const std::uint32_t* words, std::uint64_t next,
                                philox_batch<B, L>& cur, const Dst& dst, const Sink& sink) {
  philox_start<B, L>(k, next, cur);
  philox_emit<T, Kind, B, L>(words, 0, dst(0), sink);
#pragma GCC unroll 9
  for (int r = 1; r < 10; ++r) {
    philox_round<B, L>(p, r, cur);
    if (r < 2 * L) philox_emit<T, Kind, B, L>(words, r, dst(r / 2), sink);
  }
#pragma GCC unroll 16
  for (int q = 10; q < 2 * L; ++q) philox_emit<T, Kind, B, L>(words, q, dst(q / 2), sink);
}

/// Fills out[0 .. n * chunk_elems<T>) with chunks chunk0 .. chunk0 + n - 1 of the noise of `p`,
/// in batches of L register groups through the software pipeline of noise_pipeline_step.
// The batch loop is one function of its own, everything inside it inlined: inlined into a
// caller's loop, the kernel (which needs the whole register file) would spill that loop's
// values and its own, and past g++'s inlining budget its pieces would become calls.
template <class T, noise_kind Kind, class B, int L, class Sink>
EIGEN_DONT_INLINE void noise_range_batches(const noise_params& p, std::uint64_t chunk0, std::uint64_t n, T* out,
                                const Sink& sink_) {
  constexpr int W = B::W;
  // The sink's working copy lives in this frame (see store_sink::bind).
  const auto sink = sink_.bind();
  constexpr int G = chunk_blocks / W;
  constexpr int E = chunk_elems<T>;
  const std::uint64_t groups = n * G;
  const std::uint64_t batches = (groups + L - 1) / L;
  const std::uint64_t first = p.base + chunk0 * chunk_blocks;
  const philox_consts<B> k(p);
  alignas(64) T scratch[E];
  // First element of group g of this call (scratch past the last requested group: a partial
  // final batch computes whole groups and drops the extra ones).
  const auto dst = [&](std::uint64_t g) -> T* {
    if (g >= groups) return scratch;
    return out + (g / G * E + g % G * (sizeof(T) == 4 ? W : W / 2));
  };
  philox_batch<B, L> cur;
  alignas(64) std::uint32_t words[4 * L * W];
  philox_start<B, L>(k, first, cur);
#pragma GCC unroll 9
  for (int r = 1; r < 10; ++r) philox_round<B, L>(p, r, cur);
  for (std::uint64_t b = 1; b < batches; ++b) {
    philox_store<B, L>(cur, words);
    const std::uint64_t g0 = (b - 1) * L;
    noise_pipeline_step<T, Kind, B, L>(
        p, k, words, first + b * L * W, cur, [&](int i) { return dst(g0 + static_cast<std::uint64_t>(i)); },
        sink);
  }
  const std::uint64_t g0 = (batches - 1) * L;
#pragma GCC unroll 16
  for (int q = 0; q < 2 * L; ++q)
    philox_emit<T, Kind, B, L>(cur, q, dst(g0 + static_cast<std::uint64_t>(q / 2)), sink);
}

/// Runs the kernel over chunks chunk0 .. chunk0 + n - 1 of the noise of `p`, whose elements
/// belong at out[0 .. n * chunk_elems<T>): every register of output goes to sink(at, v), with
/// `at` its place in out (or in a scratch buffer, for the dropped padding of a partial final
/// batch). store_sink writes it there; the fused assignment of noise.hpp evaluates the
/// caller's expression on it instead.
template <class T, noise_kind Kind, class B = backend_native, class Sink>
inline void noise_range_to(const noise_params& p, std::uint64_t chunk0, std::uint64_t n, T* out,
                           const Sink& sink) {
  using batching = noise_batching<B>;
  if (n == 0) return;
  // Less than a batch (one chunk with AVX-512): no whole batch to waste on it.
  if (n < static_cast<std::uint64_t>(batching::chunks)) {
    noise_range_batches<T, Kind, B, 1>(p, chunk0, n, out, sink);
  } else {
    noise_range_batches<T, Kind, B, batching::L>(p, chunk0, n, out, sink);
  }
}

/// The plain sink: stores each register where it belongs. bind() gives the object the kernel
/// calls: a sink whose state the kernel must own (a fused assignment's evaluator, whose fields
/// would otherwise be reloaded after every store) builds it there.
template <class B>
struct store_sink {
  store_sink bind() const { return *this; }
  LATENT_KERNEL_INLINE void operator()(float* at, typename B::vf v) const { B::fstore(at, v); }
  LATENT_KERNEL_INLINE void operator()(double* at, typename B::vd v) const { B::dstore(at, v); }
};

/// Fills out[0 .. n * chunk_elems<T>) with chunks chunk0 .. chunk0 + n - 1 of the noise of `p`.
template <class T, noise_kind Kind, class B = backend_native>
inline void noise_range(const noise_params& p, std::uint64_t chunk0, std::uint64_t n, T* out) {
  noise_range_to<T, Kind, B>(p, chunk0, n, out, store_sink<B>{});
}

/// N chunks: out[0 .. N * chunk_elems<T>).
template <class T, noise_kind Kind, class B = backend_native, int N = 1>
inline void noise_chunks(const noise_params& p, std::uint64_t chunk0, T* out) {
  noise_range<T, Kind, B>(p, chunk0, N, out);
}

/// One chunk: out[0 .. chunk_elems<T>).
template <class T, noise_kind Kind, class B = backend_native>
inline void noise_chunk(const noise_params& p, std::uint64_t chunk, T* out) {
  noise_range<T, Kind, B>(p, chunk, 1, out);
}

/// Chunks per refill of the evaluator's cache for an expression whose operands stay in the
/// caches: 32 chunks (2048 floats or 1024 doubles, 8 KiB), 8 batches of the software pipeline
/// with AVX-512.
inline constexpr int cache_chunks = 32;
/// From this many elements on, the evaluator refills one batch at a time instead (see the
/// evaluator in noise.hpp).
inline constexpr std::int64_t stream_threshold = std::int64_t(1) << 18;
/// Chunks per task of a parallel fill.
inline constexpr int fill_task_chunks = 64;

}  // namespace detail
}  // namespace latent
