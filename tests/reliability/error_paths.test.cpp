// Reliability: error paths that the per-header suites did not name (found by
// tools/reliability_audit.py): the prediction conversions, the coefficient accessors, the
// continuous-time schedules, the low-discrepancy timestep samplers, the SDE drift/mean and the
// MALA proposal density. Each checks the exception type and the message, and that the
// failing call drew no noise.
#include <catch2/catch.hpp>

#include <Eigen/Core>
#include <limits>

#include "latent/diffusion/continuous.hpp"
#include "latent/distributions/gumbel_softmax.hpp"
#include "latent/objectives/discretized_gaussian.hpp"
#include "latent/objectives/iwae.hpp"
#include "latent/objectives/likelihoods.hpp"
#include "latent/diffusion/ddim.hpp"
#include "latent/diffusion/ddpm.hpp"
#include "latent/diffusion/posterior.hpp"
#include "latent/diffusion/predictions.hpp"
#include "latent/diffusion/schedule.hpp"
#include "latent/diffusion/training.hpp"
#include "latent/random/philox.hpp"
#include "latent/score/langevin.hpp"
#include "latent/score/sde.hpp"

namespace {
const double kNaN = std::numeric_limits<double>::quiet_NaN();
}

TEMPLATE_TEST_CASE("prediction conversions reject t outside [0, T - 1]", "[reliability][errors][predictions]",
                   float, double) {
  using A = Eigen::Array<TestType, Eigen::Dynamic, Eigen::Dynamic>;
  const latent::noise_schedule s(latent::linear_betas(10));
  const A x = A::Ones(2, 3), p = A::Zero(2, 3);
  using latent::prediction_type;
  CHECK_THROWS_AS(A(latent::x0_from_eps(s, 10, x, p)), std::domain_error);
  CHECK_THROWS_WITH(A(latent::x0_from_eps(s, 10, x, p)), Catch::Contains("latent::x0_from_eps: t = 10 is out of range [0, 9]"));
  CHECK_THROWS_WITH(A(latent::x0_from_eps(s, -1, x, p)), Catch::Contains("latent::x0_from_eps: t = -1 is out of range [0, 9]"));
  CHECK_THROWS_AS(A(latent::x0_from_v(s, 10, x, p)), std::domain_error);
  CHECK_THROWS_WITH(A(latent::x0_from_v(s, 10, x, p)), Catch::Contains("latent::x0_from_v: t = 10 is out of range [0, 9]"));
  CHECK_THROWS_WITH(A(latent::x0_from_v(s, -1, x, p)), Catch::Contains("latent::x0_from_v: t = -1 is out of range [0, 9]"));
  CHECK_THROWS_AS(A(latent::x0_from_score(s, 10, x, p)), std::domain_error);
  CHECK_THROWS_WITH(A(latent::x0_from_score(s, 10, x, p)), Catch::Contains("latent::x0_from_score: t = 10 is out of range [0, 9]"));
  CHECK_THROWS_WITH(A(latent::x0_from_score(s, -1, x, p)), Catch::Contains("latent::x0_from_score: t = -1 is out of range [0, 9]"));
  CHECK_THROWS_AS(A(latent::eps_from_x0(s, 10, x, p)), std::domain_error);
  CHECK_THROWS_WITH(A(latent::eps_from_x0(s, 10, x, p)), Catch::Contains("latent::eps_from_x0: t = 10 is out of range [0, 9]"));
  CHECK_THROWS_WITH(A(latent::eps_from_x0(s, -1, x, p)), Catch::Contains("latent::eps_from_x0: t = -1 is out of range [0, 9]"));
  CHECK_THROWS_AS(A(latent::eps_from_v(s, 10, x, p)), std::domain_error);
  CHECK_THROWS_WITH(A(latent::eps_from_v(s, 10, x, p)), Catch::Contains("latent::eps_from_v: t = 10 is out of range [0, 9]"));
  CHECK_THROWS_WITH(A(latent::eps_from_v(s, -1, x, p)), Catch::Contains("latent::eps_from_v: t = -1 is out of range [0, 9]"));
  CHECK_THROWS_AS(A(latent::eps_from_score(s, 10, x, p)), std::domain_error);
  CHECK_THROWS_WITH(A(latent::eps_from_score(s, 10, x, p)), Catch::Contains("latent::eps_from_score: t = 10 is out of range [0, 9]"));
  CHECK_THROWS_WITH(A(latent::eps_from_score(s, -1, x, p)), Catch::Contains("latent::eps_from_score: t = -1 is out of range [0, 9]"));
  CHECK_THROWS_AS(A(latent::v_from_x0(s, 10, x, p)), std::domain_error);
  CHECK_THROWS_WITH(A(latent::v_from_x0(s, 10, x, p)), Catch::Contains("latent::v_from_x0: t = 10 is out of range [0, 9]"));
  CHECK_THROWS_WITH(A(latent::v_from_x0(s, -1, x, p)), Catch::Contains("latent::v_from_x0: t = -1 is out of range [0, 9]"));
  CHECK_THROWS_AS(A(latent::v_from_eps(s, 10, x, p)), std::domain_error);
  CHECK_THROWS_WITH(A(latent::v_from_eps(s, 10, x, p)), Catch::Contains("latent::v_from_eps: t = 10 is out of range [0, 9]"));
  CHECK_THROWS_WITH(A(latent::v_from_eps(s, -1, x, p)), Catch::Contains("latent::v_from_eps: t = -1 is out of range [0, 9]"));
  CHECK_THROWS_AS(A(latent::v_from_score(s, 10, x, p)), std::domain_error);
  CHECK_THROWS_WITH(A(latent::v_from_score(s, 10, x, p)), Catch::Contains("latent::v_from_score: t = 10 is out of range [0, 9]"));
  CHECK_THROWS_WITH(A(latent::v_from_score(s, -1, x, p)), Catch::Contains("latent::v_from_score: t = -1 is out of range [0, 9]"));
  CHECK_THROWS_AS(A(latent::score_from_x0(s, 10, x, p)), std::domain_error);
  CHECK_THROWS_WITH(A(latent::score_from_x0(s, 10, x, p)), Catch::Contains("latent::score_from_x0: t = 10 is out of range [0, 9]"));
  CHECK_THROWS_WITH(A(latent::score_from_x0(s, -1, x, p)), Catch::Contains("latent::score_from_x0: t = -1 is out of range [0, 9]"));
  CHECK_THROWS_AS(A(latent::score_from_eps(s, 10, x, p)), std::domain_error);
  CHECK_THROWS_WITH(A(latent::score_from_eps(s, 10, x, p)), Catch::Contains("latent::score_from_eps: t = 10 is out of range [0, 9]"));
  CHECK_THROWS_WITH(A(latent::score_from_eps(s, -1, x, p)), Catch::Contains("latent::score_from_eps: t = -1 is out of range [0, 9]"));
  CHECK_THROWS_AS(A(latent::score_from_v(s, 10, x, p)), std::domain_error);
  CHECK_THROWS_WITH(A(latent::score_from_v(s, 10, x, p)), Catch::Contains("latent::score_from_v: t = 10 is out of range [0, 9]"));
  CHECK_THROWS_WITH(A(latent::score_from_v(s, -1, x, p)), Catch::Contains("latent::score_from_v: t = -1 is out of range [0, 9]"));
  CHECK_THROWS_WITH(A(latent::predict_x0(s, prediction_type::v_prediction, 12, x, p)),
                    Catch::Contains("latent::predict_x0: t = 12 is out of range [0, 9]"));
  CHECK_THROWS_WITH(A(latent::predict_eps(s, prediction_type::sample, 12, x, p)),
                    Catch::Contains("latent::predict_eps: t = 12 is out of range [0, 9]"));
  CHECK_THROWS_AS(A(latent::x0_from_eps(s, 3, x, A(A::Zero(3, 3)))), std::invalid_argument);
}

TEST_CASE("coefficient accessors validate t and prev_t", "[reliability][errors][coefficients]") {
  const latent::noise_schedule s(latent::linear_betas(10));
  CHECK_THROWS_WITH(latent::ddpm_coefficients(s, latent::ddpm_options{}, 10, 9),
                    Catch::Contains("latent::ddpm_coefficients: t = 10 is out of range [0, 9]"));
  CHECK_THROWS_WITH(latent::ddim_coefficients(s, latent::ddim_options{}, 5, 5),
                    Catch::Contains("latent::ddim_coefficients: prev_t = 5 is out of range [-1, 4]"));
  latent::ddim_options o;
  o.eta = kNaN;
  CHECK_THROWS_WITH(latent::ddim_coefficients(s, o, 5, 4),
                    Catch::Contains("latent::ddim_coefficients: eta is nan"));
  CHECK_THROWS_WITH(latent::posterior_coefficients(s, 3, -2),
                    Catch::Contains("latent::posterior_coefficients: prev_t = -2 is out of range [-1, 2]"));
  CHECK_THROWS_AS(latent::posterior_log_variance_clipped(s, 10), std::domain_error);
  CHECK_THROWS_WITH(latent::posterior_log_variance_clipped(s, 10),
                    Catch::Contains("latent::posterior_log_variance_clipped: t = 10 is out of range [0, 9]"));
}

TEST_CASE("continuous-time schedules validate t and their parameters", "[reliability][errors][continuous]") {
  CHECK_THROWS_WITH(latent::vp_log_mean_coeff(1.5), Catch::Contains("latent::vp_log_mean_coeff: t = 1.5 is out of range [0, 1]"));
  CHECK_THROWS_WITH(latent::vp_marginal_mean_coeff(0.5, -1.0), Catch::Contains("latent::vp_marginal_mean_coeff: beta_min is -1"));
  CHECK_THROWS_WITH(latent::vp_log_snr(kNaN), Catch::Contains("latent::vp_log_snr: t = nan is out of range [0, 1]"));
  CHECK_THROWS_WITH(latent::sub_vp_marginal_mean_coeff(0.5, 1.0, 0.5),
                    Catch::Contains("latent::sub_vp_marginal_mean_coeff: beta_max is 0.5, but must be >= beta_min = 1"));
  CHECK_THROWS_WITH(latent::sub_vp_marginal_std(-0.1), Catch::Contains("latent::sub_vp_marginal_std: t = -0.1 is out of range"));
  CHECK_THROWS_WITH(latent::sub_vp_log_snr(2.0), Catch::Contains("latent::sub_vp_log_snr: t = 2 is out of range"));
  CHECK_THROWS_WITH(latent::ve_marginal_mean_coeff(0.5, 0.0), Catch::Contains("latent::ve_marginal_mean_coeff: sigma_min is 0"));
  CHECK_THROWS_WITH(latent::ve_marginal_std(0.5, 10.0, 1.0),
                    Catch::Contains("latent::ve_marginal_std: sigma_max is 1, but must be > sigma_min = 10"));
  CHECK_THROWS_WITH(latent::ve_log_snr(3.0), Catch::Contains("latent::ve_log_snr: t = 3 is out of range"));
  CHECK_THROWS_WITH(latent::vdm_linear_gamma_prime(5.0, -13.3),
                    Catch::Contains("latent::vdm_linear_gamma_prime: gamma_max is -13.3, but must be > gamma_min = 5"));
  CHECK_THROWS_WITH(latent::vdm_alpha_squared(kNaN), Catch::Contains("latent::vdm_alpha_squared: gamma is nan, but must be finite"));
  CHECK_THROWS_WITH(latent::vdm_sigma_squared(kNaN), Catch::Contains("latent::vdm_sigma_squared: gamma is nan"));
  CHECK_THROWS_WITH(latent::vdm_sigma(std::numeric_limits<double>::infinity()), Catch::Contains("latent::vdm_sigma: gamma is inf"));
  CHECK_THROWS_AS(latent::vdm_snr(kNaN), std::domain_error);
  CHECK_THROWS_WITH(latent::vdm_snr(kNaN), Catch::Contains("latent::vdm_snr: gamma is nan"));
}

TEST_CASE("low-discrepancy samplers, SDE drift/mean and MALA proposal validate arguments",
          "[reliability][errors][misc]") {
  latent::philox4x32 e(3);
  CHECK_THROWS_AS(latent::sample_times_low_discrepancy(0, e), std::invalid_argument);
  CHECK_THROWS_WITH(latent::sample_times_low_discrepancy(0, e),
                    Catch::Contains("latent::sample_times_low_discrepancy: batch size 0 must be at least 1"));
  CHECK_THROWS_WITH(latent::sample_timesteps_low_discrepancy(0, 4, e),
                    Catch::Contains("latent::sample_timesteps_low_discrepancy: num_train_timesteps = 0 is out of range [1, inf)"));
  CHECK(e.offset() == 0);  // failed calls draw nothing
  const Eigen::ArrayXXd x = Eigen::ArrayXXd::Ones(2, 2);
  const latent::vp_sde vp;
  CHECK_THROWS_WITH(Eigen::ArrayXXd(latent::sde_drift(vp, x, 1.5)), Catch::Contains("latent::sde_drift: t = 1.5 is out of range [0, 1]"));
  CHECK_THROWS_WITH(Eigen::ArrayXXd(latent::sde_marginal_mean(vp, x, -1.0)),
                    Catch::Contains("latent::sde_marginal_mean: t = -1 is out of range [0, 1]"));
  CHECK_THROWS_WITH(latent::mala_log_proposal(x, x, x, 0.0),
                    Catch::Contains("latent::mala_log_proposal: tau is 0, but must be positive and finite"));
  CHECK_THROWS_AS(latent::mala_log_proposal(x, Eigen::ArrayXXd(2, 3), x, 0.1), std::invalid_argument);
}

TEST_CASE("VAE-side element-wise forms and IWAE weights validate shapes and temperature",
          "[reliability][errors][vae]") {
  const Eigen::ArrayXXd a = Eigen::ArrayXXd::Zero(3, 2), b = Eigen::ArrayXXd::Zero(3, 3);
  CHECK_THROWS_AS(latent::gumbel_softmax_log_rsample(a, b, 0.5), std::invalid_argument);
  CHECK_THROWS_WITH(latent::gumbel_softmax_log_rsample(a, a, 0.0), Catch::Contains("latent::gumbel_softmax_log_rsample: temperature is 0"));
  CHECK_THROWS_AS(latent::discretized_gaussian_log_likelihood_elementwise(a, b, a), std::invalid_argument);
  CHECK_THROWS_WITH(latent::discretized_gaussian_log_likelihood_elementwise(a, b, a),
                    Catch::Contains("latent::discretized_gaussian_log_likelihood: x is 3 x 2 but mean is 3 x 3"));
  CHECK_THROWS_AS(Eigen::ArrayXXd(latent::bernoulli_log_likelihood_elementwise(a, b)), std::invalid_argument);
  CHECK_THROWS_WITH(Eigen::ArrayXXd(latent::bernoulli_log_likelihood_elementwise(a, b)),
                    Catch::Contains("latent::bernoulli_log_likelihood: x is 3 x 2 but logits is 3 x 3"));
  const auto joint = [](const Eigen::ArrayXXd& z) { return Eigen::Array<double, 1, Eigen::Dynamic>::Zero(z.cols()).eval(); };
  CHECK_THROWS_AS(latent::iwae_gaussian_log_weights(a, b, joint, a), std::invalid_argument);
}
