// latent/diffusion/forward.hpp: the forward (noising) process of DDPM.
//
// q(x_t | x_0) = N(sqrt(alpha_bar_t) x_0, (1 - alpha_bar_t) I)   (Ho et al. 2020, eq. 4)
// q(x_t | x_{t-1}) = N(sqrt(alpha_t) x_{t-1}, beta_t I)           (Ho et al. 2020, eq. 2)
// v = sqrt(alpha_bar_t) eps - sqrt(1 - alpha_bar_t) x_0           (Salimans & Ho 2022, Sec. 4)
//
// t is either one timestep for the whole batch or one timestep per column (an integer row
// or vector of length B). Results are element-wise expressions; per-column coefficients
// are held by value inside the expression (a nullary functor), never by reference.
#pragma once

#include <cstdint>
#include <type_traits>

#include <Eigen/Core>

#include "latent/core/check.hpp"
#include "latent/diffusion/schedule.hpp"
#include "latent/random/noise.hpp"

namespace latent {
namespace diffusion_detail {

/// Nullary functor broadcasting a per-column coefficient over the rows: f(i, j) = c(j).
template <class S>
struct column_broadcast {
  Eigen::Array<S, 1, Eigen::Dynamic> c;
  S operator()(Eigen::Index, Eigen::Index j) const { return c(j); }
};

template <class S, class Plain = Eigen::Array<S, Eigen::Dynamic, Eigen::Dynamic>>
using broadcast_expr = Eigen::CwiseNullaryOp<column_broadcast<S>, Plain>;

template <class S>
inline broadcast_expr<S> broadcast(Eigen::Array<S, 1, Eigen::Dynamic> c, Eigen::Index rows) {
  const Eigen::Index cols = c.size();
  return Eigen::Array<S, Eigen::Dynamic, Eigen::Dynamic>::NullaryExpr(
      rows, cols, column_broadcast<S>{std::move(c)});
}

template <class T>
inline constexpr bool is_index_v = std::is_integral<T>::value;

/// Checks per-column timesteps (O(B)): length B and each in [0, T - 1].
template <class DerivedT>
inline void check_column_timesteps(const char* fn, const noise_schedule& s,
                                   const Eigen::DenseBase<DerivedT>& t, Eigen::Index cols) {
  static_assert(std::is_integral<typename DerivedT::Scalar>::value,
                "latent: per-column timesteps must have an integral scalar type");
  if (t.size() != cols) {
    detail::throw_shape(fn, "t has " + std::to_string(t.size()) +
                                " elements, but must have one per column (" +
                                std::to_string(cols) + ")");
  }
  for (Eigen::Index j = 0; j < t.size(); ++j) {
    const std::string name = "t[" + std::to_string(j) + "]";
    check_index(fn, name.c_str(), t.derived().coeff(j), s.size());
  }
}

/// Gathers a schedule table at per-column timesteps, cast to S.
template <class S, class DerivedT>
inline Eigen::Array<S, 1, Eigen::Dynamic> gather(const Eigen::ArrayXd& table,
                                                 const Eigen::DenseBase<DerivedT>& t) {
  Eigen::Array<S, 1, Eigen::Dynamic> out(t.size());
  for (Eigen::Index j = 0; j < t.size(); ++j) out(j) = S(table(Eigen::Index(t.derived().coeff(j))));
  return out;
}

}  // namespace diffusion_detail

/// \f$x_t = \sqrt{\bar\alpha_t} x_0 + \sqrt{1-\bar\alpha_t}\,\epsilon\f$ for one t
/// (Ho et al. 2020, eq. 4; diffusers add_noise). Returns an element-wise expression.
template <class DerivedX, class DerivedN>
inline auto q_sample(const noise_schedule& schedule, std::int64_t t,
                     const Eigen::ArrayBase<DerivedX>& x0, const Eigen::ArrayBase<DerivedN>& noise) {
  using S = scalar_t<DerivedX>;
  check_index("latent::q_sample", "t", t, schedule.size());
  check_same_shape("latent::q_sample", "x0", x0, "noise", noise);
  return S(schedule.sqrt_alpha_bar()(t)) * x0.derived() +
         S(schedule.sqrt_one_minus_alpha_bar()(t)) * noise.derived().template cast<S>();
}

/// q_sample with one timestep per column (t has B integer entries). Returns an expression.
template <class DerivedT, class DerivedX, class DerivedN,
          std::enable_if_t<std::is_base_of<Eigen::EigenBase<DerivedT>, DerivedT>::value, int> = 0>
inline auto q_sample(const noise_schedule& schedule, const Eigen::DenseBase<DerivedT>& t,
                     const Eigen::ArrayBase<DerivedX>& x0, const Eigen::ArrayBase<DerivedN>& noise) {
  using S = scalar_t<DerivedX>;
  diffusion_detail::check_column_timesteps("latent::q_sample", schedule, t, x0.cols());
  check_same_shape("latent::q_sample", "x0", x0, "noise", noise);
  auto a = diffusion_detail::broadcast(diffusion_detail::gather<S>(schedule.sqrt_alpha_bar(), t),
                                       x0.rows());
  auto b = diffusion_detail::broadcast(
      diffusion_detail::gather<S>(schedule.sqrt_one_minus_alpha_bar(), t), x0.rows());
  return a * x0.derived() + b * noise.derived().template cast<S>();
}

/// q_sample drawing fresh standard normal noise from the engine. Returns an expression.
template <class TT, class DerivedX>
inline auto q_sample(const noise_schedule& schedule, const TT& t,
                     const Eigen::ArrayBase<DerivedX>& x0, philox4x32& engine) {
  return q_sample(schedule, t, x0, randn_like(x0.derived(), engine));
}

/// One forward step \f$x_t = \sqrt{\alpha_t} x_{t-1} + \sqrt{\beta_t}\,\epsilon\f$
/// (Ho et al. 2020, eq. 2). Returns an element-wise expression.
template <class DerivedX, class DerivedN>
inline auto q_step_sample(const noise_schedule& schedule, std::int64_t t,
                          const Eigen::ArrayBase<DerivedX>& x_prev,
                          const Eigen::ArrayBase<DerivedN>& noise) {
  using S = scalar_t<DerivedX>;
  check_index("latent::q_step_sample", "t", t, schedule.size());
  check_same_shape("latent::q_step_sample", "x_prev", x_prev, "noise", noise);
  return S(std::sqrt(schedule.alphas()(t))) * x_prev.derived() +
         S(std::sqrt(schedule.betas()(t))) * noise.derived().template cast<S>();
}

/// q_step_sample drawing fresh noise from the engine. Returns an expression.
template <class DerivedX>
inline auto q_step_sample(const noise_schedule& schedule, std::int64_t t,
                          const Eigen::ArrayBase<DerivedX>& x_prev, philox4x32& engine) {
  return q_step_sample(schedule, t, x_prev, randn_like(x_prev.derived(), engine));
}

/// Velocity target \f$v = \sqrt{\bar\alpha_t}\,\epsilon - \sqrt{1-\bar\alpha_t}\,x_0\f$
/// (Salimans & Ho 2022, Sec. 4 / App. D; diffusers get_velocity). Returns an expression.
template <class DerivedX, class DerivedN>
inline auto velocity(const noise_schedule& schedule, std::int64_t t,
                     const Eigen::ArrayBase<DerivedX>& x0, const Eigen::ArrayBase<DerivedN>& noise) {
  using S = scalar_t<DerivedX>;
  check_index("latent::velocity", "t", t, schedule.size());
  check_same_shape("latent::velocity", "x0", x0, "noise", noise);
  return S(schedule.sqrt_alpha_bar()(t)) * noise.derived().template cast<S>() -
         S(schedule.sqrt_one_minus_alpha_bar()(t)) * x0.derived();
}

/// velocity with one timestep per column. Returns an expression.
template <class DerivedT, class DerivedX, class DerivedN,
          std::enable_if_t<std::is_base_of<Eigen::EigenBase<DerivedT>, DerivedT>::value, int> = 0>
inline auto velocity(const noise_schedule& schedule, const Eigen::DenseBase<DerivedT>& t,
                     const Eigen::ArrayBase<DerivedX>& x0, const Eigen::ArrayBase<DerivedN>& noise) {
  using S = scalar_t<DerivedX>;
  diffusion_detail::check_column_timesteps("latent::velocity", schedule, t, x0.cols());
  check_same_shape("latent::velocity", "x0", x0, "noise", noise);
  auto a = diffusion_detail::broadcast(diffusion_detail::gather<S>(schedule.sqrt_alpha_bar(), t),
                                       x0.rows());
  auto b = diffusion_detail::broadcast(
      diffusion_detail::gather<S>(schedule.sqrt_one_minus_alpha_bar(), t), x0.rows());
  return a * noise.derived().template cast<S>() - b * x0.derived();
}

}  // namespace latent
