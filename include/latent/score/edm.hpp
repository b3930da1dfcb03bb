// latent/score/edm.hpp: the EDM preconditioning of Karras et al. (2022), "Elucidating the
// Design Space of Diffusion-Based Generative Models", Table 1 and Sec. 5.
//
// The denoiser is written D(x, sigma) = c_skip(sigma) x + c_out(sigma) F(c_in(sigma) x,
// c_noise(sigma)) where F is the raw network. With sigma_data the standard deviation of the
// data (0.5 in the paper), c_skip and c_out make the network's training target unit-variance
// at every sigma, and c_in makes its input unit-variance.
#pragma once

#include <cmath>

#include <Eigen/Core>

#include "latent/core/check.hpp"
#include "latent/core/traits.hpp"

namespace latent {

/// \f$c_{skip}(\sigma) = \sigma_{data}^2 / (\sigma^2 + \sigma_{data}^2)\f$ (Karras et al. 2022,
/// Table 1). Generic scalar (float, double, AutoDiffScalar); returns a scalar.
template <class S>
inline S edm_c_skip(const S& sigma, double sigma_data = 0.5) {
  const S sd2 = S(sigma_data * sigma_data);
  return sd2 / (sigma * sigma + sd2);
}

/// \f$c_{out}(\sigma) = \sigma \sigma_{data} / \sqrt{\sigma^2 + \sigma_{data}^2}\f$
/// (Karras et al. 2022, Table 1). Returns a scalar.
template <class S>
inline S edm_c_out(const S& sigma, double sigma_data = 0.5) {
  using std::sqrt;
  return sigma * S(sigma_data) / sqrt(sigma * sigma + S(sigma_data * sigma_data));
}

/// \f$c_{in}(\sigma) = 1 / \sqrt{\sigma^2 + \sigma_{data}^2}\f$ (Karras et al. 2022, Table 1).
/// Returns a scalar.
template <class S>
inline S edm_c_in(const S& sigma, double sigma_data = 0.5) {
  using std::sqrt;
  return S(1) / sqrt(sigma * sigma + S(sigma_data * sigma_data));
}

/// \f$c_{noise}(\sigma) = \tfrac14 \ln \sigma\f$ (Karras et al. 2022, Table 1). Returns a
/// scalar.
template <class S>
inline S edm_c_noise(const S& sigma) {
  using std::log;
  return S(0.25) * log(sigma);
}

/// Loss weight \f$\lambda(\sigma) = (\sigma^2 + \sigma_{data}^2) / (\sigma \sigma_{data})^2 =
/// 1 / c_{out}^2\f$ (Karras et al. 2022, Table 1), which makes the effective weight of the
/// F-space loss equal to 1. Returns a scalar.
template <class S>
inline S edm_loss_weight(const S& sigma, double sigma_data = 0.5) {
  const S sd = S(sigma_data);
  return (sigma * sigma + sd * sd) / (sigma * sigma * sd * sd);
}

/// The four preconditioning coefficients at one noise level, computed in double.
struct edm_scalings {
  double c_skip, c_out, c_in, c_noise;
};

/// All of Table 1 at once for a noise level sigma > 0 (checked). Returns a value.
inline edm_scalings edm_preconditioning(double sigma, double sigma_data = 0.5) {
  check_positive("latent::edm_preconditioning", "sigma", sigma);
  check_positive("latent::edm_preconditioning", "sigma_data", sigma_data);
  return {edm_c_skip(sigma, sigma_data), edm_c_out(sigma, sigma_data),
          edm_c_in(sigma, sigma_data), edm_c_noise(sigma)};
}

/// Denoiser output from the raw network output F: \f$D = c_{skip} x + c_{out} F\f$
/// (Karras et al. 2022, eq. (7)). Returns an Eigen expression.
template <class DerivedX, class DerivedF>
inline auto edm_denoised(const Eigen::ArrayBase<DerivedX>& x,
                         const Eigen::ArrayBase<DerivedF>& network_output,
                         const edm_scalings& c) {
  using S = scalar_t<DerivedX>;
  check_same_shape("latent::edm_denoised", "x", x, "network_output", network_output);
  return S(c.c_skip) * x.derived() + S(c.c_out) * network_output.derived();
}

/// Training target of the raw network for clean data y and noisy input x = y + sigma n:
/// \f$F_{target} = (y - c_{skip} x) / c_{out}\f$ (Karras et al. 2022, eq. (8)).
/// Returns an Eigen expression.
template <class DerivedY, class DerivedX>
inline auto edm_network_target(const Eigen::ArrayBase<DerivedY>& clean,
                               const Eigen::ArrayBase<DerivedX>& noisy,
                               const edm_scalings& c) {
  using S = scalar_t<DerivedY>;
  check_same_shape("latent::edm_network_target", "clean", clean, "noisy", noisy);
  return (clean.derived() - S(c.c_skip) * noisy.derived()) * S(1.0 / c.c_out);
}

}  // namespace latent
