// latent/objectives/discretized_gaussian.hpp: the discretized Gaussian decoder for 8-bit
// data scaled to [-1, 1] (Ho, Jain & Abbeel 2020, "Denoising Diffusion Probabilistic
// Models", sec. 3.3, eq. 13).
//
// Pixel values x in {-1, -1 + 2/255, ..., 1} are bin centres; bin i covers
// [x - 1/255, x + 1/255], except that the first bin is open to -infinity and the last to
// +infinity, so the 256 probabilities sum to exactly 1:
//
//   p(x | mu, sigma) = Phi((x_+ - mu)/sigma) - Phi((x_- - mu)/sigma),
//   x_+ = +inf if x = 1 else x + 1/255,   x_- = -inf if x = -1 else x - 1/255.
//
// The log of the difference is evaluated without cancellation from the upper-tail function
// Q(u) = P(Z > u) (erfc, then its continued fraction beyond u = 30), so it stays finite and
// accurate for any finite mu and sigma, far out in either tail; DDPM's reference code clamps
// the probability at 1e-12 instead.
#pragma once

#include <cmath>
#include <limits>

#include <Eigen/Core>

#include "latent/core/check.hpp"
#include "latent/core/constants.hpp"
#include "latent/core/traits.hpp"
#include "latent/distributions/diag_gaussian.hpp"

namespace latent {
namespace detail {

/// log Q(u) = log P(Z > u) for standard normal Z; exact to rounding for all u (double).
inline double log_normal_upper_tail(double u) {
  if (u == std::numeric_limits<double>::infinity()) return -std::numeric_limits<double>::infinity();
  if (u < 30) return std::log(0.5 * std::erfc(u / sqrt_two<double>()));
  // Laplace's continued fraction Q(u) = phi(u) / (u + 1/(u + 2/(u + 3/(u + ...)))),
  // converged to double precision by 40 terms for u >= 30.
  double t = u;
  for (int k = 40; k >= 1; --k) t = u + k / t;
  return -0.5 * u * u - half_log_two_pi<double>() - std::log(t);
}

/// log(Phi(b) - Phi(a)) for a < b (either may be infinite), without cancellation.
inline double log_normal_interval(double a, double b) {
  if (a >= 0) {  // both in the upper half: Q(a) - Q(b)
    const double la = log_normal_upper_tail(a), lb = log_normal_upper_tail(b);
    return la + std::log1p(-std::exp(lb - la));
  }
  if (b <= 0) {  // both in the lower half: Q(-b) - Q(-a)
    const double lb = log_normal_upper_tail(-b), la = log_normal_upper_tail(-a);
    return lb + std::log1p(-std::exp(la - lb));
  }
  // Straddles 0: 1 - Q(-a) - Q(b), where each tail is at most 1/2.
  return std::log1p(-(std::exp(log_normal_upper_tail(-a)) + std::exp(log_normal_upper_tail(b))));
}

struct discretized_terms {
  double log_p, d_x, d_mean, d_log_var;
};

/// Value and partial derivatives of the log bin probability for one pixel (in double).
inline discretized_terms discretized_gaussian_one(double x, double mean, double log_var) {
  constexpr double inf = std::numeric_limits<double>::infinity();
  constexpr double half_bin = 1.0 / 255.0;
  const double inv_sigma = std::exp(-0.5 * log_var);
  // Edge bins by DDPM's thresholds: x < -0.999 is the first bin, x > 0.999 the last.
  const double a = x < -0.999 ? -inf : (x - half_bin - mean) * inv_sigma;
  const double b = x > 0.999 ? inf : (x + half_bin - mean) * inv_sigma;
  const double lp = log_normal_interval(a, b);
  // phi(t) / P and t phi(t) / P, both 0 at an infinite end.
  auto ratio = [lp](double t) {
    return std::isinf(t) ? 0.0 : std::exp(-0.5 * t * t - half_log_two_pi<double>() - lp);
  };
  const double ra = ratio(a), rb = ratio(b);
  const double ta = std::isinf(a) ? 0.0 : a * ra, tb = std::isinf(b) ? 0.0 : b * rb;
  // d/dmu log P = -(phi(b) - phi(a)) / (sigma P); d/dlog sigma^2 = -(b phi(b) - a phi(a)) / (2P).
  // Moving x moves only the finite ends of its bin.
  const double d_mean = -(rb - ra) * inv_sigma;
  return {lp, -d_mean, d_mean, -0.5 * (tb - ta)};
}

template <class S>
inline S discretized_gaussian_scalar(const S& x, const S& mean, const S& log_var) {
  if constexpr (is_autodiff_v<S>) {
    const auto t = discretized_gaussian_one(value_of(x), value_of(mean), value_of(log_var));
    using Der = typename S::DerType;
    using Plain = typename Eigen::internal::remove_all<Der>::type::PlainObject;
    // Sum the chain-rule terms of whichever arguments carry derivatives.
    Plain d;
    bool any = false;
    auto add = [&](const S& v, double w) {
      if (v.derivatives().size() == 0) return;
      if (!any) {
        d = Plain(v.derivatives() * w);
        any = true;
      } else {
        d += v.derivatives() * w;
      }
    };
    add(x, t.d_x);
    add(mean, t.d_mean);
    add(log_var, t.d_log_var);
    return any ? S(t.log_p, d) : S(t.log_p);
  } else {
    return S(discretized_gaussian_one(double(x), double(mean), double(log_var)).log_p);
  }
}

}  // namespace detail

/// Element-wise log-probability of the 8-bit bin of each x under N(mean, e^{log_var})
/// (Ho et al. 2020, eq. 13; bins of width 2/255 on [-1, 1], the edge bins open to
/// \f$\pm\infty\f$). x is expected on the 256-level grid in [-1, 1] (not checked: that would
/// be a second pass). Computed in double for float inputs. Returns an evaluated D x B array.
template <class DX, class DM, class DL>
inline array_xx<scalar_t<DX>> discretized_gaussian_log_likelihood_elementwise(
    const Eigen::ArrayBase<DX>& x, const Eigen::ArrayBase<DM>& mean,
    const Eigen::ArrayBase<DL>& log_var) {
  using S = scalar_t<DX>;
  constexpr const char* fn = "latent::discretized_gaussian_log_likelihood";
  check_same_shape(fn, "x", x, "mean", mean);
  check_same_shape(fn, "x", x, "log_var", log_var);
  const auto& xe = x.derived().eval();
  const auto& me = mean.derived().eval();
  const auto& le = log_var.derived().eval();
  array_xx<S> out(xe.rows(), xe.cols());
  for (Eigen::Index i = 0; i < out.size(); ++i)
    out(i) = detail::discretized_gaussian_scalar<S>(xe(i), me(i), le(i));
  return out;
}

/// Per-sample discretized Gaussian log-likelihood: the sum over the D pixels of each column.
/// Returns an evaluated 1 x B row.
template <class DX, class DM, class DL>
inline row_x<scalar_t<DX>> discretized_gaussian_log_likelihood(const Eigen::ArrayBase<DX>& x,
                                                               const Eigen::ArrayBase<DM>& mean,
                                                               const Eigen::ArrayBase<DL>& log_var) {
  return discretized_gaussian_log_likelihood_elementwise(x, mean, log_var).colwise().sum();
}

/// VJP of discretized_gaussian_log_likelihood for an upstream 1 x B row g, with
/// \f$a, b\f$ the standardized bin ends and \f$P = \Phi(b) - \Phi(a)\f$:
/// \f$\partial/\partial\mu = -g(\varphi(b) - \varphi(a))/(\sigma P)\f$,
/// \f$\partial/\partial\log\sigma^2 = -g(b\varphi(b) - a\varphi(a))/(2P)\f$.
/// Returns evaluated D x B arrays.
template <class DX, class DM, class DL, class DG>
inline mean_log_var_grad<scalar_t<DX>> discretized_gaussian_log_likelihood_vjp(
    const Eigen::ArrayBase<DX>& x, const Eigen::ArrayBase<DM>& mean,
    const Eigen::ArrayBase<DL>& log_var, const Eigen::ArrayBase<DG>& grad) {
  using S = scalar_t<DX>;
  constexpr const char* fn = "latent::discretized_gaussian_log_likelihood_vjp";
  check_same_shape(fn, "x", x, "mean", mean);
  check_same_shape(fn, "x", x, "log_var", log_var);
  detail::check_upstream_row<S>(fn, grad, x.cols());
  const auto& xe = x.derived().eval();
  const auto& me = mean.derived().eval();
  const auto& le = log_var.derived().eval();
  mean_log_var_grad<S> out{array_xx<S>(xe.rows(), xe.cols()), array_xx<S>(xe.rows(), xe.cols())};
  for (Eigen::Index j = 0; j < xe.cols(); ++j) {
    const double g = value_of(grad.derived().coeff(j));
    for (Eigen::Index i = 0; i < xe.rows(); ++i) {
      const auto t = detail::discretized_gaussian_one(value_of(xe(i, j)), value_of(me(i, j)),
                                                      value_of(le(i, j)));
      out.mean(i, j) = S(g * t.d_mean);
      out.log_var(i, j) = S(g * t.d_log_var);
    }
  }
  return out;
}

}  // namespace latent
