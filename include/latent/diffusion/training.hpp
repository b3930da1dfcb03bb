// latent/diffusion/training.hpp: helpers of the DDPM training loop (Ho et al. 2020, Alg. 1).
//
//   t ~ Uniform{0..T-1} per column, or low-discrepancy (Kingma et al. 2021, App. I.1:
//   t_j = (u_0 + j / B) mod 1, one uniform per batch), eps ~ N(0, I),
//   x_t = q_sample(x_0, eps), target = eps | x_0 | v by prediction type,
//   loss weights per column: SNR, min-SNR-gamma (Hang et al. 2023), and the ELBO's
//   SNR-difference weight (Kingma et al. 2021, eq. 13 / Ho et al. 2020, eq. 12 derivation).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

#include <Eigen/Core>

#include "latent/core/check.hpp"
#include "latent/diffusion/forward.hpp"
#include "latent/diffusion/predictions.hpp"
#include "latent/diffusion/schedule.hpp"
#include "latent/random/noise.hpp"

namespace latent {

/// Per-column timesteps (a row of B int64).
using timestep_row = Eigen::Array<std::int64_t, 1, Eigen::Dynamic>;

namespace training_detail {
inline void check_counts(const char* fn, std::int64_t T, Eigen::Index B) {
  if (T < 1)
    throw std::domain_error(std::string(fn) + ": num_train_timesteps = " + std::to_string(T) +
                            " is out of range [1, inf)");
  if (B < 1)
    throw std::invalid_argument(std::string(fn) + ": batch size " + std::to_string(B) +
                                " must be at least 1");
}
inline std::int64_t to_index(double u, std::int64_t T) {
  return std::min<std::int64_t>(static_cast<std::int64_t>(u * double(T)), T - 1);
}
}  // namespace training_detail

/// t_j ~ Uniform{0, ..., T - 1} for j < B, i.i.d. (Ho et al. 2020, Alg. 1 line 3).
/// Returns an evaluated row.
inline timestep_row sample_timesteps(std::int64_t num_train_timesteps, Eigen::Index batch,
                                     philox4x32& engine) {
  training_detail::check_counts("latent::sample_timesteps", num_train_timesteps, batch);
  const Eigen::ArrayXd u = rand_uniform<Eigen::ArrayXd>(batch, engine);
  timestep_row t(batch);
  for (Eigen::Index j = 0; j < batch; ++j) t(j) = training_detail::to_index(u(j), num_train_timesteps);
  return t;
}

/// Low-discrepancy continuous times \f$t_j = (u_0 + j/B) \bmod 1\f$ (Kingma et al. 2021,
/// App. I.1): each t_j is uniform, the batch is stratified. Returns an evaluated row.
inline Eigen::Array<double, 1, Eigen::Dynamic> sample_times_low_discrepancy(Eigen::Index batch,
                                                                            philox4x32& engine) {
  training_detail::check_counts("latent::sample_times_low_discrepancy", 1, batch);
  const double u0 = rand_uniform<Eigen::ArrayXd>(1, engine)(0);
  Eigen::Array<double, 1, Eigen::Dynamic> t(batch);
  for (Eigen::Index j = 0; j < batch; ++j) {
    const double v = u0 + double(j) / double(batch);
    t(j) = v >= 1 ? v - 1 : v;
  }
  return t;
}

/// Low-discrepancy (antithetic, stratified) discrete timesteps: floor(T t_j) of
/// sample_times_low_discrepancy. Returns an evaluated row.
inline timestep_row sample_timesteps_low_discrepancy(std::int64_t num_train_timesteps,
                                                     Eigen::Index batch, philox4x32& engine) {
  training_detail::check_counts("latent::sample_timesteps_low_discrepancy", num_train_timesteps,
                                batch);
  const auto u = sample_times_low_discrepancy(batch, engine);
  timestep_row t(batch);
  for (Eigen::Index j = 0; j < batch; ++j) t(j) = training_detail::to_index(u(j), num_train_timesteps);
  return t;
}

/// The regression target for a prediction type: eps, x_0, or v = sqrt(ab) eps - sqrt(1-ab) x_0
/// with per-column t. Writes into `out` (allocates only the B per-column coefficients for v).
template <class DerivedT, class DerivedX, class DerivedN, class DerivedOut>
inline void training_target(const noise_schedule& schedule, prediction_type prediction,
                            const Eigen::DenseBase<DerivedT>& t, const Eigen::ArrayBase<DerivedX>& x0,
                            const Eigen::ArrayBase<DerivedN>& noise,
                            const Eigen::ArrayBase<DerivedOut>& out_) {
  using S = typename DerivedOut::Scalar;
  const char* fn = "latent::training_target";
  diffusion_detail::check_column_timesteps(fn, schedule, t, x0.cols());
  check_same_shape(fn, "x0", x0, "noise", noise);
  check_same_shape(fn, "x0", x0, "out", out_);
  auto& out = const_cast<DerivedOut&>(out_.derived());
  switch (prediction) {
    case prediction_type::epsilon: out = noise.derived().template cast<S>(); break;
    case prediction_type::sample: out = x0.derived().template cast<S>(); break;
    case prediction_type::v_prediction:
      for (Eigen::Index j = 0; j < out.cols(); ++j) {
        const auto tj = Eigen::Index(t.derived().coeff(j));
        out.col(j) = S(schedule.sqrt_alpha_bar()(tj)) * noise.derived().col(j).template cast<S>() -
                     S(schedule.sqrt_one_minus_alpha_bar()(tj)) * x0.derived().col(j).template cast<S>();
      }
      break;
  }
}

/// SNR(t) per column: the weight that turns an epsilon MSE into an x_0 MSE. Returns an
/// evaluated row of doubles.
template <class DerivedT>
inline Eigen::Array<double, 1, Eigen::Dynamic> snr_weight(const noise_schedule& schedule,
                                                          const Eigen::DenseBase<DerivedT>& t) {
  diffusion_detail::check_column_timesteps("latent::snr_weight", schedule, t, t.size());
  return diffusion_detail::gather<double>(schedule.snr(), t);
}

/// Min-SNR-gamma weights (Hang et al. 2023, eq. 6 and Sec. 3.4): for an epsilon loss
/// min(SNR, gamma) / SNR (= 1 where SNR <= gamma, so finite at SNR = 0); for v,
/// min(SNR, gamma) / (SNR + 1); for x_0, min(SNR, gamma). Returns an evaluated row.
template <class DerivedT>
inline Eigen::Array<double, 1, Eigen::Dynamic> min_snr_weight(const noise_schedule& schedule,
                                                              const Eigen::DenseBase<DerivedT>& t,
                                                              prediction_type prediction,
                                                              double gamma = 5.0) {
  const char* fn = "latent::min_snr_weight";
  diffusion_detail::check_column_timesteps(fn, schedule, t, t.size());
  check_positive(fn, "gamma", gamma);
  Eigen::Array<double, 1, Eigen::Dynamic> w(t.size());
  for (Eigen::Index j = 0; j < t.size(); ++j) {
    const double snr = schedule.snr()(Eigen::Index(t.derived().coeff(j)));
    const double m = std::min(snr, gamma);
    switch (prediction) {
      case prediction_type::epsilon: w(j) = snr <= gamma ? 1.0 : gamma / snr; break;
      case prediction_type::v_prediction: w(j) = m / (snr + 1.0); break;
      case prediction_type::sample: w(j) = m; break;
    }
  }
  return w;
}

/// The ELBO weight of the squared error of each prediction type at t >= 1: the denoising KL
/// is w ||target - prediction||^2 with, for x_0, w = (SNR(t-1) - SNR(t)) / 2; for epsilon,
/// w = expm1(log SNR(t-1) - log SNR(t)) / 2; for v, w = (SNR(t-1) - SNR(t)) (1 - ab_t) / 2
/// (finite at zero terminal SNR). Epsilon at SNR(t) = 0 has an infinite weight and throws.
/// Returns an evaluated row.
template <class DerivedT>
inline Eigen::Array<double, 1, Eigen::Dynamic> snr_difference_weight(
    const noise_schedule& schedule, const Eigen::DenseBase<DerivedT>& t, prediction_type prediction) {
  const char* fn = "latent::snr_difference_weight";
  diffusion_detail::check_column_timesteps(fn, schedule, t, t.size());
  Eigen::Array<double, 1, Eigen::Dynamic> w(t.size());
  for (Eigen::Index j = 0; j < t.size(); ++j) {
    const auto tj = Eigen::Index(t.derived().coeff(j));
    if (tj == 0) {
      throw std::domain_error(std::string(fn) + ": t[" + std::to_string(j) +
                              "] = 0 is the reconstruction term, which has no SNR-difference "
                              "weight; sample t in [1, T - 1]");
    }
    const double snr_prev = schedule.snr()(tj - 1), snr = schedule.snr()(tj);
    switch (prediction) {
      case prediction_type::sample: w(j) = 0.5 * (snr_prev - snr); break;
      case prediction_type::v_prediction:
        w(j) = 0.5 * (snr_prev - snr) * schedule.one_minus_alpha_bar()(tj);
        break;
      case prediction_type::epsilon:
        if (!(snr > 0)) {
          throw std::domain_error(std::string(fn) + ": SNR at t[" + std::to_string(j) + "] = " +
                                  std::to_string(tj) + " is 0, where the epsilon weight is "
                                  "infinite; use v or x_0 prediction");
        }
        w(j) = 0.5 * std::expm1(schedule.log_snr()(tj - 1) - schedule.log_snr()(tj));
        break;
    }
  }
  return w;
}

}  // namespace latent
