#include <latent/latent.hpp>

int main() {
  latent::philox4x32 engine(/*seed=*/42);
  Eigen::ArrayXXf mu = Eigen::ArrayXXf::Zero(16, 128), log_var = Eigen::ArrayXXf::Zero(16, 128);

  // Reparameterized sample, fused into one vectorized loop with the noise.
  Eigen::ArrayXXf z = mu + (0.5f * log_var).exp() * latent::randn_like(mu, engine);
  // KL(q(z|x) || N(0, I)) per sample: a 1 x 128 row.
  auto kl = latent::kl_diag_std_normal(mu, log_var);
  return z.allFinite() && (kl >= 0).all() ? 0 : 1;
}
