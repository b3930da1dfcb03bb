// latent/core/math.hpp: numerically stable scalar and array functions.
//
// Scalar functions work for float, double and Eigen::AutoDiffScalar (Eigen 3.4 has no
// log1p/expm1 for AutoDiffScalar; latent's carry the exact derivative). Call them qualified
// (latent::log1p(x)) from templated code: a block-scope `using std::log1p;` would hide them.
// Array functions return Eigen expressions that fuse into the caller's loop.
#pragma once

#include <cmath>
#include <limits>
#include <type_traits>

#include <Eigen/Core>

#include "latent/core/check.hpp"
#include "latent/core/traits.hpp"

namespace latent {
namespace detail {

// Builds an AutoDiffScalar with value f(x) and derivative f'(x) * x.derivatives().
template <class T, class V, class D>
inline auto autodiff_chain(const T& x, const V& value, const D& dfdx) {
  using Der = typename Eigen::internal::remove_all<decltype(x.derivatives())>::type;
  using Plain = typename Der::PlainObject;
  return Eigen::AutoDiffScalar<Plain>(value, Plain(x.derivatives() * dfdx));
}

}  // namespace detail

/// \f$\log(1 + x)\f$, accurate for small |x|. Returns a scalar.
template <class T, enable_if_scalar_t<T> = 0>
inline auto log1p(const T& x) {
  if constexpr (is_autodiff_v<T>) {
    return detail::autodiff_chain(x, latent::log1p(x.value()), 1 / (1 + x.value()));
  } else {
    return std::log1p(x);
  }
}

/// \f$e^x - 1\f$, accurate for small |x|. Returns a scalar.
template <class T, enable_if_scalar_t<T> = 0>
inline auto expm1(const T& x) {
  if constexpr (is_autodiff_v<T>) {
    using std::exp;
    return detail::autodiff_chain(x, latent::expm1(x.value()), exp(x.value()));
  } else {
    return std::expm1(x);
  }
}

/// Logistic sigmoid \f$1 / (1 + e^{-x})\f$, evaluated without overflow on either side.
template <class T, enable_if_scalar_t<T> = 0>
inline auto sigmoid(const T& x) {
  if constexpr (is_autodiff_v<T>) {
    // sigma'(x) = sigma(x) sigma(-x): no cancellation in 1 - sigma(x) for large x.
    const auto v = x.value();
    return detail::autodiff_chain(x, latent::sigmoid(v), latent::sigmoid(v) * latent::sigmoid(-v));
  } else {
    using std::exp;
    if (x >= T(0)) return T(1) / (T(1) + exp(-x));
    const T e = exp(x);
    return e / (T(1) + e);
  }
}

/// Softplus \f$\log(1 + e^x) = \max(x, 0) + \log(1 + e^{-|x|})\f$: finite for every finite x,
/// exact to rounding at \f$x = \pm 100\f$. Derivative: sigmoid(x).
template <class T, enable_if_scalar_t<T> = 0>
inline auto softplus(const T& x) {
  if constexpr (is_autodiff_v<T>) {
    return detail::autodiff_chain(x, latent::softplus(x.value()), latent::sigmoid(x.value()));
  } else {
    using std::abs;
    using std::exp;
    return (x > T(0) ? x : T(0)) + std::log1p(exp(-abs(x)));
  }
}

/// \f$\log \sigma(x) = -\mathrm{softplus}(-x)\f$.
template <class T, enable_if_scalar_t<T> = 0>
inline auto log_sigmoid(const T& x) {
  if constexpr (is_autodiff_v<T>) {
    // Built directly: negating the AutoDiffScalar returned by softplus would keep a
    // reference to a temporary's derivatives.
    const auto v = x.value();
    return detail::autodiff_chain(x, latent::log_sigmoid(v), latent::sigmoid(-v));
  } else {
    return -latent::softplus(-x);
  }
}

/// \f$\mathrm{logit}(p) = \log p - \log(1 - p)\f$; \f$\pm\infty\f$ at 1 and 0, domain_error
/// outside [0, 1] or for NaN.
template <class T, enable_if_scalar_t<T> = 0>
inline auto logit(const T& p) {
  check_probability("latent::logit", "p", p);
  if constexpr (is_autodiff_v<T>) {
    const auto v = p.value();
    return detail::autodiff_chain(p, latent::logit(v), 1 / (v * (1 - v)));
  } else {
    using std::log;
    return log(p) - std::log1p(-p);
  }
}

// ---------------------------------------------------------------------------------------
// Array forms: expressions (vectorized by Eigen's packet math for float and double).

/// Element-wise softplus; returns an expression.
template <class Derived>
inline auto softplus(const Eigen::ArrayBase<Derived>& x) {
  using S = typename Derived::Scalar;
  if constexpr (is_autodiff_v<S>) {
    // Eigen 3.4 has no packet or scalar log1p for AutoDiffScalar: use the scalar rule.
    return x.derived().unaryExpr([](const S& v) { return S(latent::softplus(v)); });
  } else {
    return x.derived().max(S(0)) + (-x.derived().abs()).exp().log1p();
  }
}

/// Element-wise \f$\log\sigma(x)\f$; returns an expression.
template <class Derived>
inline auto log_sigmoid(const Eigen::ArrayBase<Derived>& x) {
  using S = typename Derived::Scalar;
  if constexpr (is_autodiff_v<S>) {
    return x.derived().unaryExpr([](const S& v) { return S(latent::log_sigmoid(v)); });
  } else {
    return x.derived().min(S(0)) - (-x.derived().abs()).exp().log1p();
  }
}

/// Element-wise sigmoid \f$\exp(\log\sigma(x))\f$; returns an expression. Never overflows,
/// and keeps full relative accuracy in the left tail (where \f$\tfrac12(1 + \tanh(x/2))\f$
/// would cancel to 0).
template <class Derived>
inline auto sigmoid(const Eigen::ArrayBase<Derived>& x) {
  return latent::log_sigmoid(x).exp();
}

/// Element-wise logit; returns an expression. Values outside [0, 1] give NaN (no check:
/// an expression cannot validate without a second pass; validate with check_probability).
template <class Derived>
inline auto logit(const Eigen::ArrayBase<Derived>& p) {
  using S = typename Derived::Scalar;
  if constexpr (is_autodiff_v<S>) {
    return p.derived().unaryExpr([](const S& v) {
      using std::log;
      return S(log(v) - latent::log1p(S(-v)));
    });
  } else {
    return p.derived().log() - (-p.derived()).log1p();
  }
}

/// Element-wise precision \f$e^{-\log\sigma^2}\f$ saturated at the largest finite value, so that
/// a zero residual times it is 0 rather than 0 * inf = NaN when the log-variance is below
/// about -88 (float) or -709 (double). Returns an expression.
template <class Derived>
inline auto saturated_precision(const Eigen::ArrayBase<Derived>& log_var) {
  using S = typename Derived::Scalar;
  if constexpr (is_autodiff_v<S>) {
    return (-log_var.derived()).exp();
  } else {
    return (-log_var.derived()).exp().min(std::numeric_limits<S>::max());
  }
}

// ---------------------------------------------------------------------------------------
// Fast vectorized exponential (the exp of the VAE hot paths: KL, log_prob, rsample).

// Eigen's packet typedefs (__m128d, ...) carry attributes that GCC drops, with a warning, when
// they are template arguments; dropping them is harmless here, as in Eigen itself.
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wignored-attributes"
#endif

namespace detail {

/// Constants of exp_fast for one floating-point type (facts, sources in exp_fast's comment).
template <class S>
struct exp_fast_constants;

template <>
struct exp_fast_constants<float> {
  static constexpr int mantissa_bits = 23;
  // 1.5 * 2^23 + 127: adding it to |y| < 2^21 rounds y to the nearest integer n and leaves
  // n + 127 (the biased exponent of 2^n) in the low mantissa bits.
  static constexpr float magic = 12583039.0f;
  static constexpr float log2e = 1.44269504088896341f;
  static constexpr float half_log2e = 0.721347520444481703f;
  // Cody-Waite split of ln 2 (Cephes expf): ln2_hi has 9 significant bits, so n * ln2_hi is
  // exact for |n| <= 2^15 even without a fused multiply-add.
  static constexpr float neg_ln2_hi = -0.693359375f;
  static constexpr float neg_ln2_lo = 2.12194440e-4f;
  // exp(89) > FLT_MAX (88.72...) and exp(-104) < 2^-150 (half the smallest subnormal).
  static constexpr float hi = 89.0f;
  static constexpr float lo = -104.0f;
  // q(r) ~ (e^r - 1 - r) / r^2 on |r| <= ln2 / 2, highest degree first (Chebyshev
  // interpolant, tools/core_reference.py); relative error of 1 + r + r^2 q(r): 1.1e-8.
  static constexpr int degree = 4;
  static constexpr float q[degree + 1] = {1.392618358771349e-3f, 8.363179052722577e-3f,
                                          4.166655461720457e-2f, 1.666657698969878e-1f, 0.5f};
};

template <>
struct exp_fast_constants<double> {
  static constexpr int mantissa_bits = 52;
  // 1.5 * 2^52 + 1023 (see the float case).
  static constexpr double magic = 6755399441056767.0;
  static constexpr double log2e = 1.4426950408889634074;
  static constexpr double half_log2e = 0.72134752044448170368;
  // Cody-Waite split of ln 2 (fdlibm e_exp.c: ln2HI has 32 significant bits, its low 21 bits
  // are zero, so n * ln2_hi is exact for |n| < 2^21).
  static constexpr double neg_ln2_hi = -6.93147180369123816490e-01;
  static constexpr double neg_ln2_lo = -1.90821492927058770002e-10;
  // exp(710) > DBL_MAX (709.78...) and exp(-746) < 2^-1075 (half the smallest subnormal).
  static constexpr double hi = 710.0;
  static constexpr double lo = -746.0;
  // q(r) ~ (e^r - 1 - r) / r^2 on |r| <= ln2 / 2 (Chebyshev interpolant,
  // tools/core_reference.py); relative error of 1 + r + r^2 q(r): 1.8e-17.
  static constexpr int degree = 9;
  static constexpr double q[degree + 1] = {
      2.510038549551031908e-8,  2.762008844540974816e-7, 2.755726845999706477e-6,
      2.480152129595437513e-5,  1.984126986305361688e-4, 1.388888891721371690e-3,
      8.333333333330061833e-3,  4.166666666662412787e-2, 1.666666666666666745e-1,
      5.000000000000001022e-1};
};

template <class Packet, class = void>
struct has_integer_packet : std::false_type {};
template <class Packet>
struct has_integer_packet<
    Packet, std::void_t<typename Eigen::internal::unpacket_traits<Packet>::integer_packet>>
    : std::true_type {};

// 2^n from t = n + magic (n integral, n + bias a valid biased exponent): the low mantissa
// bits of t shifted into the exponent field. `available` is false where Eigen 3.4 has no
// integer packet of the same lane width and no guarded intrinsic below applies; exp_fast then
// scales with Eigen's pldexp (correct, slower).
template <class Packet, class = void>
struct exp_fast_pow2 {
  static constexpr bool available = false;
  static Packet run(const Packet& t) { return t; }
};

// Lanes of the same width as an integer packet (every float packet; double on AArch64).
template <class Packet>
struct exp_fast_pow2<Packet, std::enable_if_t<has_integer_packet<Packet>::value>> {
  using PacketI = typename Eigen::internal::unpacket_traits<Packet>::integer_packet;
  using S = typename Eigen::internal::unpacket_traits<Packet>::type;
  static constexpr bool available =
      Eigen::internal::unpacket_traits<PacketI>::size == Eigen::internal::unpacket_traits<Packet>::size;
  static Packet run(const Packet& t) {
    using namespace Eigen::internal;
    return preinterpret<Packet>(
        plogical_shift_left<exp_fast_constants<S>::mantissa_bits>(preinterpret<PacketI>(t)));
  }
};

// x86 double packets: Eigen 3.4 has no 64-bit integer packets there; the 64-bit lane shifts
// are SSE2 (always present on x86-64), AVX2 and AVX-512F instructions, each used only when the
// compiler targets that instruction set.
#if defined(EIGEN_VECTORIZE_SSE2)
template <>
struct exp_fast_pow2<Eigen::internal::Packet2d> {
  static constexpr bool available = true;
  static Eigen::internal::Packet2d run(const Eigen::internal::Packet2d& t) {
    return _mm_castsi128_pd(_mm_slli_epi64(_mm_castpd_si128(t), 52));
  }
};
#endif
#if defined(EIGEN_VECTORIZE_AVX2)
template <>
struct exp_fast_pow2<Eigen::internal::Packet4d> {
  static constexpr bool available = true;
  static Eigen::internal::Packet4d run(const Eigen::internal::Packet4d& t) {
    return _mm256_castsi256_pd(_mm256_slli_epi64(_mm256_castpd_si256(t), 52));
  }
};
#endif
#if defined(EIGEN_VECTORIZE_AVX512)
template <>
struct exp_fast_pow2<Eigen::internal::Packet8d> {
  static constexpr bool available = true;
  static Eigen::internal::Packet8d run(const Eigen::internal::Packet8d& t) {
    return _mm512_castsi512_pd(_mm512_slli_epi64(_mm512_castpd_si512(t), 52));
  }
};
#endif

// p 2^n in one instruction where there is one: AVX-512F's vscalefps / vscalefpd round
// p 2^n once, with overflow to inf and gradual underflow, exactly like the two-factor product
// below (so both give the same bits).
template <class Packet, class = void>
struct exp_fast_scalef {
  static constexpr bool available = false;
  static Packet run(const Packet& p, const Packet&) { return p; }
};
#if defined(EIGEN_VECTORIZE_AVX512)
template <>
struct exp_fast_scalef<Eigen::internal::Packet16f> {
  static constexpr bool available = true;
  static Eigen::internal::Packet16f run(const Eigen::internal::Packet16f& p,
                                        const Eigen::internal::Packet16f& n) {
    return _mm512_scalef_ps(p, n);
  }
};
template <>
struct exp_fast_scalef<Eigen::internal::Packet8d> {
  static constexpr bool available = true;
  static Eigen::internal::Packet8d run(const Eigen::internal::Packet8d& p,
                                       const Eigen::internal::Packet8d& n) {
    return _mm512_scalef_pd(p, n);
  }
};
#endif

/// exp_fast on one packet of float or double (see latent::exp_fast for the method).
template <class Packet>
inline Packet exp_fast_packet(const Packet& x_in) {
  using namespace Eigen::internal;
  using S = typename unpacket_traits<Packet>::type;
  using C = exp_fast_constants<S>;
  // Clamp to where the result is 0 or inf anyway. Eigen's pmin/pmax follow std::min/std::max
  // (the first argument is returned when it is NaN), so NaN passes through to the result.
  const Packet x = pmax(pmin(x_in, pset1<Packet>(C::hi)), pset1<Packet>(C::lo));
  const Packet magic = pset1<Packet>(C::magic);
  // n = round(x / ln 2), by the magic-number addition (no float-to-int conversion).
  const Packet t = pmadd(x, pset1<Packet>(C::log2e), magic);
  const Packet n = psub(t, magic);
  // r = x - n ln 2 in two steps (Cody & Waite 1980), |r| <= ln2 / 2 (plus rounding).
  Packet r = pmadd(n, pset1<Packet>(C::neg_ln2_hi), x);
  r = pmadd(n, pset1<Packet>(C::neg_ln2_lo), r);
  // e^r = 1 + (r + r^2 q(r)): the last two steps round once each, so the error stays below
  // one ulp plus the tiny error of r^2 q(r).
  const Packet r2 = pmul(r, r);
  Packet q;
  if constexpr (C::degree == 9) {
    // Estrin's scheme: the terms of Horner's rule with a dependency chain of 4 operations after
    // r2 instead of 9, so that more independent packets are in flight (measured: 10-15% faster
    // KL in double than Horner on AVX-512).
    const auto a = [](int i) { return pset1<Packet>(C::q[C::degree - i]); };  // coef. of r^i
    const Packet r4 = pmul(r2, r2);
    const Packet r8 = pmul(r4, r4);
    const Packet b0 = pmadd(a(1), r, a(0)), b1 = pmadd(a(3), r, a(2));
    const Packet b2 = pmadd(a(5), r, a(4)), b3 = pmadd(a(7), r, a(6));
    const Packet b4 = pmadd(a(9), r, a(8));
    q = pmadd(b4, r8, pmadd(pmadd(b3, r2, b2), r4, pmadd(b1, r2, b0)));
  } else {
    q = pset1<Packet>(C::q[0]);
    for (int i = 1; i <= C::degree; ++i) q = pmadd(q, r, pset1<Packet>(C::q[i]));
  }
  const Packet p = padd(pmadd(r2, q, r), pset1<Packet>(S(1)));
  if constexpr (exp_fast_scalef<Packet>::available) {
    return exp_fast_scalef<Packet>::run(p, n);
  } else if constexpr (exp_fast_pow2<Packet>::available) {
    // 2^n = 2^h 2^(n - h) with h = round(x / (2 ln 2)), |h| and |n - h| <= |n| / 2 + 1: both
    // factors are normal numbers for every clamped x, so overflow to inf and gradual underflow
    // into the subnormals happen in the last multiplication, rounded once.
    const Packet th = pmadd(x, pset1<Packet>(C::half_log2e), magic);  // h + magic
    const Packet tg = padd(psub(t, th), magic);                          // (n - h) + magic
    return pmul(pmul(p, exp_fast_pow2<Packet>::run(th)), exp_fast_pow2<Packet>::run(tg));
  } else {
    return pldexp(p, n);
  }
}

/// Eigen functor of latent::exp_fast. The scalar path evaluates the packet path on a
/// broadcast packet and takes its first lane, so an array's tail (the elements after the last
/// full packet) gets bit-for-bit the values a vectorized lane would.
template <class S>
struct scalar_exp_fast_op {
  using Packet = typename Eigen::internal::packet_traits<S>::type;
  static constexpr bool vectorized = Eigen::internal::packet_traits<S>::Vectorizable &&
                                     (std::is_same<S, float>::value || std::is_same<S, double>::value);
  S operator()(const S& x) const {
    if constexpr (vectorized) {
      return Eigen::internal::pfirst(exp_fast_packet(Eigen::internal::pset1<Packet>(x)));
    } else {
      using std::exp;
      return exp(x);
    }
  }
  template <class P>
  P packetOp(const P& x) const {
    return exp_fast_packet(x);
  }
};

}  // namespace detail
}  // namespace latent

namespace Eigen {
namespace internal {
template <class S>
struct functor_traits<latent::detail::scalar_exp_fast_op<S>> {
  enum {
    Cost = 20 * NumTraits<S>::MulCost,
    PacketAccess = latent::detail::scalar_exp_fast_op<S>::vectorized
  };
};
}  // namespace internal
}  // namespace Eigen

namespace latent {

/// Element-wise \f$e^x\f$ for float and double arrays, faster than Eigen 3.4's `.exp()`
/// (whose double version divides two polynomials and rescales in four steps); returns an
/// expression. Other scalars (AutoDiffScalar) and builds without vectorization use the
/// standard exp.
///
/// Method: \f$n = \mathrm{round}(x/\ln 2)\f$, \f$r = x - n\ln 2\f$ with a two-constant
/// Cody-Waite split (W. J. Cody and W. Waite, Software Manual for the Elementary Functions,
/// 1980, ch. 6), so \f$|r| \le \tfrac12\ln 2\f$; \f$e^r = 1 + r + r^2 q(r)\f$ with q a degree-4
/// (float) or degree-9 (double) Chebyshev interpolant of \f$(e^r - 1 - r)/r^2\f$
/// (tools/core_reference.py, relative error 1.1e-8 / 1.8e-17), evaluated by Horner's rule
/// (float) or Estrin's scheme (double); the result is \f$e^r 2^n\f$, rounded once: one
/// vscalefps/vscalefpd instruction where AVX-512F is enabled, elsewhere
/// \f$e^r\,2^h\,2^{n-h}\f$ with \f$h \approx n/2\f$, both powers built from exponent bits
/// (64-bit lane shifts on SSE2/AVX2, Eigen's integer packets on NEON; Eigen's pldexp where
/// neither exists). No division, no float-to-integer conversion.
///
/// Accuracy (tests/core/math.test.cpp, against std::exp over dense sweeps of the whole
/// range): at most 2 ulp, also in the subnormal range (no flush to zero). Overflow gives
/// \f$+\infty\f$ (x > 88.72 for float, x > 709.78 for double), underflow gives 0
/// (x < -103.97 / -745.13), \f$e^{+\infty} = +\infty\f$, \f$e^{-\infty} = 0\f$, NaN propagates.
/// Vectorized lanes and the scalar tail of an array give identical bits.
template <class Derived>
inline auto exp_fast(const Eigen::ArrayBase<Derived>& x) {
  using S = typename Derived::Scalar;
  if constexpr (std::is_same<S, float>::value || std::is_same<S, double>::value) {
    return x.derived().unaryExpr(detail::scalar_exp_fast_op<S>());
  } else {
    return x.derived().exp();
  }
}

#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

// ---------------------------------------------------------------------------------------
// Reductions: scalars or evaluated rows.

/// \f$\log\sum_i e^{x_i}\f$ over every coefficient, shifted by the maximum so that large
/// magnitudes do not overflow. All \f$-\infty\f$ (or empty) gives \f$-\infty\f$; any
/// \f$+\infty\f$ gives \f$+\infty\f$; NaN propagates. Returns a scalar.
template <class Derived>
inline typename Derived::Scalar log_sum_exp(const Eigen::DenseBase<Derived>& x) {
  using S = typename Derived::Scalar;
  using std::exp;
  using std::isinf;
  using std::log;
  const auto& a = x.derived().array().eval();
  if (a.size() == 0) return S(-std::numeric_limits<double>::infinity());
  S m = a.coeff(0);
  bool nan = false;
  for (Eigen::Index i = 0; i < a.size(); ++i) {
    const double v = value_of(a.coeff(i));
    if (v != v) nan = true;
    if (v > value_of(m)) m = a.coeff(i);
  }
  if (nan) return S(std::numeric_limits<double>::quiet_NaN());
  const double mv = value_of(m);
  if (std::isinf(mv)) return m;  // all -inf, or some +inf
  S sum(0);
  for (Eigen::Index i = 0; i < a.size(); ++i) sum += exp(a.coeff(i) - m);
  return m + log(sum);
}

/// \f$\log\frac1n\sum_i e^{x_i}\f$; std::invalid_argument for an empty input. Returns a scalar.
template <class Derived>
inline typename Derived::Scalar log_mean_exp(const Eigen::DenseBase<Derived>& x) {
  using S = typename Derived::Scalar;
  using std::log;
  check_non_empty("latent::log_mean_exp", "x", x);
  return latent::log_sum_exp(x) - S(log(static_cast<double>(x.size())));
}

/// log_sum_exp of each column: a 1 x cols row (empty columns give \f$-\infty\f$).
template <class Derived>
inline Eigen::Array<typename Derived::Scalar, 1, Eigen::Dynamic> log_sum_exp_colwise(
    const Eigen::DenseBase<Derived>& x) {
  const auto& a = x.derived().array().eval();
  Eigen::Array<typename Derived::Scalar, 1, Eigen::Dynamic> out(a.cols());
  for (Eigen::Index j = 0; j < a.cols(); ++j) out(j) = latent::log_sum_exp(a.col(j));
  return out;
}

/// log_mean_exp of each column: a 1 x cols row; std::invalid_argument if there are no rows.
template <class Derived>
inline Eigen::Array<typename Derived::Scalar, 1, Eigen::Dynamic> log_mean_exp_colwise(
    const Eigen::DenseBase<Derived>& x) {
  using S = typename Derived::Scalar;
  using std::log;
  if (x.rows() == 0) {
    throw std::invalid_argument("latent::log_mean_exp_colwise: x has 0 rows, but must have at least one");
  }
  return latent::log_sum_exp_colwise(x) - S(log(static_cast<double>(x.rows())));
}

/// Per-column log-softmax \f$x_{ij} - \log\sum_k e^{x_{kj}}\f$: an evaluated array.
/// Computed as \f$(x_{ij} - m_j) - \log\sum_k e^{x_{kj} - m_j}\f$ with the column maximum
/// \f$m_j\f$, so large magnitudes cost no precision. A column of all \f$-\infty\f$ gives NaN
/// (no distribution), as in torch.
template <class Derived>
inline Eigen::Array<typename Derived::Scalar, Eigen::Dynamic, Eigen::Dynamic> log_softmax_colwise(
    const Eigen::DenseBase<Derived>& x) {
  using std::log;
  Eigen::Array<typename Derived::Scalar, Eigen::Dynamic, Eigen::Dynamic> out = x.derived().array();
  for (Eigen::Index j = 0; j < out.cols(); ++j) {
    if (out.rows() == 0) continue;
    auto col = out.col(j);
    col -= col.maxCoeff();
    col -= log(col.exp().sum());
  }
  return out;
}

/// Per-column softmax: an evaluated array whose columns sum to 1.
template <class Derived>
inline Eigen::Array<typename Derived::Scalar, Eigen::Dynamic, Eigen::Dynamic> softmax_colwise(
    const Eigen::DenseBase<Derived>& x) {
  using std::exp;
  return latent::log_softmax_colwise(x).unaryExpr([](const auto& v) { return exp(v); });
}

}  // namespace latent
