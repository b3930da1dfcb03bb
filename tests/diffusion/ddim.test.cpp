// Tests for latent/diffusion/ddim.hpp. Reference values: tools/diffusion_reference.py
// (diffusers DDIMScheduler.step re-implemented in numpy float64).
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include <Eigen/Core>
#include <unsupported/Eigen/AutoDiff>

#include "latent/diffusion/ddim.hpp"
#include "latent/diffusion/ddpm.hpp"
#include "latent/diffusion/timesteps.hpp"

using Catch::Matchers::Contains;

#include "diffusion/step_fixtures.hpp"

TEST_CASE("DDIM steps match diffusers' DDIMScheduler.step", "[diffusion][ddim]") {
  using latent::prediction_type;
  const auto& s = linear();
  A out(4, 2);
  latent::ddim_options o;
  SECTION("epsilon, eta 0, 500 -> 480") {
    latent::ddim_step(s, o, 500, 480, X, M, out);
    check_close(out, fixed({0.24402437773842833, -1.2924185904552001, 1.7764106836775158, 0.74573012685888584, -0.50715956083600033, 2.1117527111191712, 0.07702947439335725, -0.71165503581411471}));
  }
  SECTION("v, eta 0.5, given variance noise, 500 -> 480") {
    o.prediction = prediction_type::v_prediction;
    o.eta = 0.5;
    latent::ddim_step(s, o, 500, 480, X, M, out, Z);
    check_close(out, fixed({0.11641736356981372, -1.0772217827823412, 1.5481614638339123, 0.40146452079874612, -0.181829657719173, 2.1705068501505398, -0.048822255610095698, -0.57130383247846062}));
  }
  SECTION("sample, eta 1, clip_sample, use_clipped_model_output, 260 -> 240") {
    o.prediction = prediction_type::sample;
    o.eta = 1.0;
    o.clip_sample = true;
    o.use_clipped_model_output = true;
    latent::ddim_step(s, o, 260, 240, X, M, out, Z);
    check_close(out, fixed({0.16260798444512525, -0.94503157488903988, 1.1919436740736704, 0.24766705262441802, 0.06936702255692595, 2.1927755500754058, -0.13325393273084132, -0.40190088471963453}));
  }
  SECTION("epsilon, eta 0, clip_sample, 900 -> 880") {
    o.clip_sample = true;
    latent::ddim_step(s, o, 900, 880, X, M, out);
    check_close(out, fixed({0.78016390608473796, -0.31962303228162087, -1.0801057983664721, 0.26963271690133184, 0.58020264456358173, 1.9193131244508699, -0.18028012152126949, 0.43023169842271464}));
  }
  SECTION("final step with set_alpha_to_one = false, 20 -> -1") {
    o.set_alpha_to_one = false;
    latent::ddim_step(s, o, 20, -1, X, M, out);
    check_close(out, fixed({0.24541374514656009, -1.1828980562120595, 1.5809789621782064, 0.68481930382303358, -0.44287526687691869, 1.9746546228588624, 0.064033678860727736, -0.63308552651137151}));
  }
  SECTION("zero terminal SNR, v, 999 -> 979") {
    o.prediction = prediction_type::v_prediction;
    latent::ddim_step(zero_snr(), o, 999, 979, X, M, out);
    check_close(out, fixed({0.29886667782247517, -1.199573913507662, 1.5015563999091286, 0.69964522879912505, -0.40084936480799066, 2.0973069682765391, 0.050283205179350615, -0.60063672272991953}));
  }
}

TEMPLATE_TEST_CASE("DDIM with eta = 0 is deterministic; inversion undoes a step",
                   "[diffusion][ddim]", float, double) {
  using S = TestType;
  using AS = Eigen::Array<S, Eigen::Dynamic, Eigen::Dynamic>;
  const auto& s = linear();
  const AS x = X.cast<S>(), m = M.cast<S>();
  AS a(4, 2), b(4, 2), c(4, 2);
  latent::ddim_options o;
  latent::philox4x32 engine(9);
  latent::ddim_step(s, o, 600, 580, x, m, a, engine);
  latent::ddim_step(s, o, 600, 580, x, m, b, engine);
  latent::ddim_step(s, o, 600, 580, x, m, c);
  CHECK((a == b).all());
  CHECK((a == c).all());
  // eta > 0 draws noise.
  o.eta = 1.0;
  latent::ddim_step(s, o, 600, 580, x, m, a, engine);
  latent::ddim_step(s, o, 600, 580, x, m, b, engine);
  CHECK((a != b).any());
  // eta = 1 gives the DDPM posterior variance: the std equals sqrt(beta_tilde).
  const latent::ddim_coeffs k = latent::ddim_coefficients(s, o, 600, 580);
  CHECK(k.std == Approx(std::sqrt(latent::posterior_variance(s, 600, 580))).epsilon(1e-14));
  // Inversion with the same (constant) epsilon undoes the deterministic step.
  const double tol = std::is_same<S, float>::value ? 1e-5 : 1e-12;
  for (auto pred : {latent::prediction_type::epsilon, latent::prediction_type::v_prediction,
                    latent::prediction_type::sample}) {
    latent::ddim_options d;
    d.prediction = pred;
    AS step(4, 2), back(4, 2);
    latent::ddim_step(s, d, 600, 580, x, m, step);
    // The model output at 580 that carries the same (x0_hat, eps_hat) as m at 600.
    const AS x0 = latent::predict_x0(s, pred, 600, x, m);
    const AS eps = latent::predict_eps(s, pred, 600, x, m);
    AS m580(4, 2);
    if (pred == latent::prediction_type::epsilon) m580 = eps;
    if (pred == latent::prediction_type::sample) m580 = x0;
    if (pred == latent::prediction_type::v_prediction) m580 = latent::v_from_eps(s, 580, step, eps);
    latent::ddim_inversion_step(s, pred, 580, 600, step, m580, back);
    CHECK(((back - x).abs() <= S(tol) * (S(1) + x.abs())).all());
  }
}

TEST_CASE("DDIM edges and errors", "[diffusion][ddim]") {
  const auto& s = linear();
  latent::ddim_options o;
  A out(4, 2), bad(4, 3);
  latent::philox4x32 engine(2);
  o.prediction = latent::prediction_type::v_prediction;
  o.eta = 1.0;
  for (bool clip : {false, true}) {
    o.clip_sample = clip;
    latent::ddim_step(zero_snr(), o, 999, 998, X, M, out, engine);
    CHECK(out.allFinite());
    latent::ddim_step(zero_snr(), o, 999, -1, X, M, out, engine);
    CHECK(out.allFinite());
  }
  o = latent::ddim_options{};
  CHECK_THROWS_WITH(latent::ddim_step(s, o, 1000, 980, X, M, out),
                    Contains("latent::ddim_step: t = 1000 is out of range [0, 999]"));
  CHECK_THROWS_WITH(latent::ddim_step(s, o, 500, 600, X, M, out),
                    Contains("prev_t = 600 is out of range [-1, 499]"));
  CHECK_THROWS_AS(latent::ddim_step(s, o, 500, 480, X, bad, out), std::invalid_argument);
  o.eta = -0.5;
  CHECK_THROWS_WITH(latent::ddim_step(s, o, 500, 480, X, M, out, Z),
                    Contains("latent::ddim_step: eta is -0.5"));
  o.eta = 0.5;
  CHECK_THROWS_WITH(latent::ddim_step(s, o, 500, 480, X, M, out),
                    Contains("eta = 0.5 > 0 needs noise"));
  CHECK_THROWS_AS(latent::ddim_step(s, o, 500, 480, X, M, out), std::invalid_argument);
  CHECK_THROWS_WITH(latent::ddim_step(s, o, 500, 480, X, M, out, bad), Contains("noise is 4 x 3"));
  CHECK_THROWS_WITH(latent::ddim_step(zero_snr(), latent::ddim_options{}, 999, 979, X, M, out),
                    Contains("zero terminal SNR"));
  CHECK_THROWS_WITH(latent::ddim_inversion_step(s, latent::prediction_type::epsilon, 600, 580, X,
                                                M, out),
                    Contains("latent::ddim_inversion_step: t = 600 is out of range [-1, 579]"));
  CHECK_THROWS_WITH(latent::ddim_inversion_step(s, latent::prediction_type::sample, -1, 20, X,
                                                M, out),
                    Contains("cannot recover epsilon"));
  CHECK_THROWS_WITH(latent::ddim_inversion_step(s, latent::prediction_type::epsilon, 10, 1000, X,
                                                M, out),
                    Contains("next_t = 1000 is out of range [0, 999]"));
}
