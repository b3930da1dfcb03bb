// latent/diffusion/step_detail.hpp: machinery shared by ddpm_step and ddim_step (private).
//
// A reverse step is   out = k_0 * g(a_x x_t + a_m m) + k_x x_t + k_m m + noise_term
// where m is the model output, g is the identity, a clamp, or a per-column dynamic
// threshold, and noise_term is absent, a scalar times noise, or an element-wise std times
// noise. Without g the whole step collapses to out = c_x x_t + c_m m + noise_term: one fused
// Eigen assignment.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <type_traits>

#include <Eigen/Core>

#include "latent/core/check.hpp"
#include "latent/core/parallel.hpp"
#include "latent/core/traits.hpp"

namespace latent {
namespace diffusion_detail {

struct no_noise {};

/// The noise term of a step: scale(z) for the noise z of `source` (a given_noise or an
/// engine_noise of random/noise.hpp), e.g. sigma z or sqrt(v) z.
template <class Source, class Scale>
struct noise_term {
  Source source;
  Scale scale;
};
template <class Source, class Scale>
inline noise_term<Source, Scale> make_noise_term(const Source& source, const Scale& scale) {
  return {source, scale};
}

/// How x0_hat is post-processed before it enters the mean.
struct x0_transform {
  bool clip = false;
  double clip_range = 1.0;
  bool threshold = false;
  double ratio = 0.995;
  double max_value = 1.0;
};

inline void check_x0_transform(const char* fn, const x0_transform& tr) {
  if (tr.clip) check_positive(fn, "clip_sample_range", tr.clip_range);
  if (tr.threshold) {
    if (!(tr.ratio > 0 && tr.ratio <= 1))
      detail::throw_domain(fn, "dynamic_thresholding_ratio", detail::format_value(tr.ratio),
                           "in (0, 1]");
    if (!(tr.max_value >= 1) || !std::isfinite(tr.max_value))
      detail::throw_domain(fn, "sample_max_value", detail::format_value(tr.max_value),
                           "finite and >= 1");
  }
}

template <class A, class B>
inline bool same_storage(const A& a, const B& b) {
  if constexpr (bool(int(std::decay_t<A>::Flags) & Eigen::DirectAccessBit) &&
                bool(int(std::decay_t<B>::Flags) & Eigen::DirectAccessBit)) {
    const auto* pa = reinterpret_cast<const char*>(a.data());
    const auto* pb = reinterpret_cast<const char*>(b.data());
    const auto na = sizeof(*a.data()) * std::size_t(a.size());
    const auto nb = sizeof(*b.data()) * std::size_t(b.size());
    return pa < pb + nb && pb < pa + na;
  } else {
    (void)a;
    (void)b;
    return false;
  }
}

/// Validates that out can serve as scratch for thresholding (contiguous columns, no alias).
template <class Out, class X, class M>
inline void check_threshold_scratch(const char* fn, const Out& out, const X& x, const M& m) {
  if constexpr (!bool(int(Out::Flags) & Eigen::DirectAccessBit)) {
    detail::throw_shape(fn, "dynamic thresholding needs an output with direct access "
                            "(a plain array, a Map or a block of columns)");
  } else {
    if (out.innerStride() != 1)
      detail::throw_shape(fn, "dynamic thresholding needs an output with contiguous columns");
    if (same_storage(out, x) || same_storage(out, m))
      detail::throw_shape(fn, "with dynamic thresholding, out must not alias x_t or the model "
                              "output (it is used as scratch)");
  }
}

template <class X, class M, class Out>
inline void check_step_shapes(const char* fn, const X& x, const M& m, const Out& out) {
  check_non_empty(fn, "x_t", x);
  check_same_shape(fn, "x_t", x, "model_output", m);
  check_same_shape(fn, "x_t", x, "out", out);
}

/// torch.quantile(v, q) with linear interpolation, computed in place (reorders v).
template <class S>
inline S quantile_in_place(S* v, Eigen::Index n, double q) {
  const double pos = q * double(n - 1);
  const auto lo = static_cast<Eigen::Index>(std::floor(pos));
  const Eigen::Index hi = std::min<Eigen::Index>(lo + 1, n - 1);
  const double frac = pos - double(lo);
  std::nth_element(v, v + lo, v + n);
  const S v_lo = v[lo];
  if (hi == lo || frac == 0) return v_lo;
  const S v_hi = *std::min_element(v + lo + 1, v + n);
  if (!(v_hi != v_lo)) return v_lo;  // equal (also both inf): no inf - inf
  const S d = v_hi - v_lo;
  const S f = S(frac);
  // A fraction that underflows in S (ratio 1e-71 in float) with v_hi = inf would give 0 * inf:
  // the limit of v_lo + frac * inf for frac > 0 is inf.
  if (f == S(0)) return d > Eigen::NumTraits<S>::highest() ? v_hi : v_lo;
  return v_lo + f * d;
}

/// c_x x + c_m m written as s (p_x x + p_m m). With `balanced`, s is the larger coefficient and
/// the other becomes a ratio of magnitude <= 1, so the cancellation of two huge, nearly opposite
/// coefficients (x0_hat = (x - sqrt(1 - alpha_bar) m) / sqrt(alpha_bar) at alpha_bar ~ 1e-100)
/// happens between O(1) numbers, exactly where it is exact, with or without FMA contraction;
/// otherwise s = 1 (the plain form).
struct scaled_pair {
  double s = 1, px = 0, pm = 0;
  scaled_pair(double cx, double cm, bool balanced) {
    if (!balanced) {
      px = cx;
      pm = cm;
    } else if (std::abs(cx) >= std::abs(cm)) {
      s = cx;
      px = cx == 0 ? 0.0 : 1.0;
      pm = cx == 0 ? 0.0 : cm / cx;
    } else {
      s = cm;
      px = cx / cm;
      pm = 1.0;
    }
  }
};

/// Coefficients beyond this are applied in double and in the balanced form of scaled_pair.
constexpr double huge_coefficient = 1e30;

/// The clipped / thresholded form of assign_step (and its form for huge coefficients), computed
/// in scalar C and stored as S, on the noise expression of the source (thresholding column by
/// column).
template <class C, class OutDerived, class X, class M, class Noise>
inline void assign_transformed(OutDerived& out, const X& x_in, const M& m_in, double ax, double am,
                               double k0, double kx, double km, const x0_transform& tr,
                               const Noise& noise, bool balanced) {
  using S = typename OutDerived::Scalar;
  constexpr bool has_noise = !std::is_same<Noise, no_noise>::value;
  const auto& x = x_in.template cast<C>();
  const auto& m = m_in.template cast<C>();
  const scaled_pair p0(ax, am, balanced);
  const scaled_pair pk(kx, km, balanced);
  // x0_hat = ax x + am m, and the rest kx x + km m, each as s (px x + pm m).
  ax = p0.px;
  am = p0.pm;
  const C s0 = C(p0.s);
  // The noise term as an expression (an engine reserves its range here, before any write).
  const auto noise_term = [&] {
    if constexpr (has_noise) {
      return noise.scale(noise.source.expr(out));
    } else {
      return no_noise{};
    }
  }();
  if (tr.threshold) {
    if constexpr (bool(int(OutDerived::Flags) & Eigen::DirectAccessBit)) {
      const Eigen::Index n = out.rows();
      for (Eigen::Index j = 0; j < out.cols(); ++j) {
        auto col = out.col(j);
        col = (s0 * (C(ax) * x.col(j) + C(am) * m.col(j))).abs().template cast<S>();
        C s = C(quantile_in_place(&col.coeffRef(0), n, tr.ratio));
        // s = clamp(s, 1, sample_max_value); x0 -> clamp(x0, -s, s) / s (Saharia et al. 2022)
        if (s < C(1)) s = C(1);
        if (s > C(tr.max_value)) s = C(tr.max_value);
        const C inv_s = C(1) / s;
        const auto x0 = (s0 * (C(ax) * x.col(j) + C(am) * m.col(j))).max(-s).min(s) * inv_s;
        const auto rest = C(pk.s) * (C(pk.px) * x.col(j) + C(pk.pm) * m.col(j));
        if constexpr (has_noise) {
          col = (C(k0) * x0 + rest + noise_term.col(j).template cast<C>()).template cast<S>();
        } else {
          col = (C(k0) * x0 + rest).template cast<S>();
        }
      }
    }
    return;
  }
  const auto x0 = s0 * (C(ax) * x + C(am) * m);
  const auto rest = C(pk.s) * (C(pk.px) * x + C(pk.pm) * m);
  const auto write = [&](const auto& x0_used) {
    if constexpr (has_noise) {
      // Through the noise expression, not inside the kernel: these forms are rare, and each
      // fused kernel is a large instantiation (compile time).
      latent::assign(out, (C(k0) * x0_used + rest + noise_term.template cast<C>()).template cast<S>());
    } else {
      latent::assign(out, (C(k0) * x0_used + rest).template cast<S>());
    }
  };
  if (tr.clip) {
    const C r = C(tr.clip_range);
    write(x0.max(-r).min(r));
  } else {
    write(x0);  // reached only for huge coefficients (see assign_step)
  }
}

/// out = k0 * g(ax x + am m) + kx x + km m + noise, as described at the top, for a noise_term
/// (or no_noise). All checks are done by the caller; this only writes. Without a transform the
/// step is one assignment; with an engine it is evaluated inside the noise kernel.
template <class OutDerived, class X, class M, class Noise>
inline void assign_step(const Eigen::ArrayBase<OutDerived>& out_base, const X& x, const M& m,
                        double ax, double am, double k0, double kx, double km,
                        const x0_transform& tr, const Noise& noise) {
  using S = typename OutDerived::Scalar;
  OutDerived& out = const_cast<OutDerived&>(out_base.derived());
  constexpr bool has_noise = !std::is_same<Noise, no_noise>::value;
  // Coefficients beyond ~1e30 (1/sqrt(alpha_bar) or 1/sqrt(1 - alpha_bar) with alpha_bar or
  // 1 - alpha_bar below ~1e-60): in float they would be cast to +-inf or make ax x and am m
  // overflow separately (x0_hat = inf - inf = NaN); in either precision, folding them with the
  // other coefficients loses the O(1) terms beside them, and their cancellation is only exact in
  // the balanced form. Such steps are computed in double, each pair balanced, and stored as S
  // (a result beyond S's range is then +-inf, never NaN).
  const double big = huge_coefficient;
  const bool huge = std::abs(ax) > big || std::abs(am) > big || std::abs(k0) > big ||
                    std::abs(k0 * ax) > big || std::abs(k0 * am) > big || std::abs(kx) > big ||
                    std::abs(km) > big;
  if (tr.threshold || tr.clip || huge) {
    if (huge) {
      // float is computed in double; double and AutoDiffScalar in their own scalar.
      using C = std::conditional_t<std::is_same<S, float>::value, double, S>;
      assign_transformed<C>(out, x, m, ax, am, k0, kx, km, tr, noise, true);
    } else {
      assign_transformed<S>(out, x, m, ax, am, k0, kx, km, tr, noise, false);
    }
    return;
  }
  // No transform: k0 (ax x + am m) + kx x + km m, folded in double.
  const double cxd = k0 * ax + kx, cmd = k0 * am + km;
  const S cx = S(cxd), cm = S(cmd);
  if constexpr (has_noise) {
    noise.source.assign("latent::randn_like", out,
                        [&](const auto& z) { return cx * x + cm * m + noise.scale(z); });
  } else {
    latent::assign(out, cx * x + cm * m);
  }
}

}  // namespace diffusion_detail
}  // namespace latent
