// End to end (issue point 10), gaussian data, v prediction: DDPM with 1000 steps and
// DDIM with 50 steps on 10^5 samples (4000 under LATENT_SANITIZER_BUILD), driven by the exact
// closed-form denoiser. Tolerances and their derivation: end_to_end_checks.hpp.
#include "end_to_end_checks.hpp"

TEST_CASE("DDPM, 1000 steps, exact gaussian denoiser, v prediction", "[diffusion][end_to_end]") {
  e2e::gaussian_ddpm(latent::prediction_type::v_prediction, 102);
}

TEST_CASE("DDIM, 50 steps, exact gaussian denoiser, v prediction", "[diffusion][end_to_end]") {
  e2e::gaussian_ddim(latent::prediction_type::v_prediction, 202);
}
