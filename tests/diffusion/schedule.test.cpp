// Tests for latent/diffusion/schedule.hpp and timesteps.hpp. Reference values: the
// output of tools/diffusion_reference.py (mpmath, 50 digits, diffusers' formulas).
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "latent/diffusion/schedule.hpp"
#include "latent/diffusion/timesteps.hpp"

using Catch::Matchers::Contains;

namespace {
const double kInf = std::numeric_limits<double>::infinity();

struct row {
  std::string schedule, table;
  std::vector<double> values;  // at t = 0, 1, 499, 998, 999
};

latent::noise_schedule make(const std::string& name) {
  if (name == "linear") return latent::noise_schedule(latent::linear_betas(1000));
  if (name == "scaled_linear") return latent::noise_schedule(latent::scaled_linear_betas(1000));
  if (name == "cosine") return latent::noise_schedule(latent::cosine_betas(1000));
  if (name == "sigmoid") return latent::noise_schedule(latent::sigmoid_betas(1000));
  if (name == "linear_zero_snr")
    return latent::noise_schedule(latent::rescale_zero_terminal_snr(latent::linear_betas(1000)));
  return latent::noise_schedule(
      latent::rescale_zero_terminal_snr(latent::scaled_linear_betas(1000)));
}

const Eigen::ArrayXd& table(const latent::noise_schedule& s, const std::string& name) {
  if (name == "betas") return s.betas();
  if (name == "alpha_bar") return s.alpha_bar();
  if (name == "one_minus_alpha_bar") return s.one_minus_alpha_bar();
  if (name == "snr") return s.snr();
  if (name == "sigma") return s.sigma();
  if (name == "posterior_variance") return s.posterior_variance();
  if (name == "posterior_log_variance_clipped") return s.posterior_log_variance_clipped();
  if (name == "posterior_mean_coef1") return s.posterior_mean_coef1();
  return s.posterior_mean_coef2();
}
}  // namespace

TEST_CASE("schedule tables match diffusers' formulas to 1e-12 relative", "[diffusion][schedule]") {
  // tools/diffusion_reference.py, section "schedules".
  const std::vector<row> rows = {
      {"linear", "betas", {1.0e-4, 1.1991991991991993e-4, 1.004004004004004e-2, 1.998008008008008e-2, 2.0e-2}},
      {"linear", "alpha_bar", {9.999e-1, 9.9978009207207207e-1, 7.8587242881778233e-2, 4.1181936381384515e-5, 4.0358297653756825e-5}},
      {"linear", "one_minus_alpha_bar", {1.0e-4, 2.1990792792792794e-4, 9.2141275711822177e-1, 9.9995881806361862e-1, 9.9995964170234624e-1}},
      {"linear", "snr", {9.9989999999999995e+3, 4.5463576574635247e+3, 8.5289944462636852e-2, 4.1183632403114094e-5, 4.0359926511684267e-5}},
      {"linear", "sigma", {1.0000500037503126e-2, 1.4830923708982842e-2, 3.4241366190440413, 1.5582519376238213e+2, 1.5740728081040745e+2}},
      {"linear", "posterior_variance", {0.0, 5.4531876613026056e-5, 1.0031355414613688e-2, 1.99800633042432e-2, 1.9999983526560608e-2}},
      {"linear", "posterior_log_variance_clipped", {-9.8167251352955939, -9.8167251352955939, -4.6020395500851376, -3.9130203373862084, -3.9120238291004549}},
      {"linear", "posterior_mean_coef1", {1.0, 5.4529149951027148e-1, 3.0700711142649769e-3, 1.2952423622957643e-4, 1.2835148717224693e-4}},
      {"linear", "posterior_mean_coef2", {0.0, 4.5470849899056467e-1, 9.9410667021016659e-1, 9.8995872349106758e-1, 9.8994867826751726e-1}},
      {"scaled_linear", "betas", {8.4999999999999995e-4, 8.5469865540568631e-4, 4.8037929805507178e-3, 1.1982376333083364e-2, 1.2e-2}},
      {"scaled_linear", "alpha_bar", {9.9915e-1, 9.9829602783845141e-1, 2.7766965045646782e-1, 4.7166988998757492e-3, 4.6600985130772402e-3}},
      {"scaled_linear", "one_minus_alpha_bar", {8.4999999999999995e-4, 1.7039721615485914e-3, 7.2233034954353218e-1, 9.9528330110012425e-1, 9.9533990148692276e-1}},
      {"scaled_linear", "snr", {1.1754705882352942e+3, 5.8586404776189968e+2, 3.8440811829647993e-1, 4.7390515792460334e-3, 4.6819167061579584e-3}},
      {"scaled_linear", "sigma", {2.9167158151720066e-2, 4.1314411996782916e-2, 1.6128861943038752, 1.4526275689349728e+1, 1.4614641229333636e+1}},
      {"scaled_linear", "posterior_variance", {0.0, 4.2635312564882898e-4, 4.7948793956540883e-3, 1.19816876607198e-2, 1.199931761537886e-2}},
      {"scaled_linear", "posterior_log_variance_clipped", {-7.760242621622535, -7.760242621622535, -5.3402067230685632, -4.4243758230345754, -4.4229054961961291}},
      {"scaled_linear", "posterior_mean_coef1", {1.0, 5.0137869064592737e-1, 3.5128392069690403e-3, 8.3182691553978992e-4, 8.2799727602098659e-4}},
      {"scaled_linear", "posterior_mean_coef2", {0.0, 4.9862121846488353e-1, 9.9574414355956319e-1, 9.9393362793075959e-1, 9.9392536802011456e-1}},
      {"cosine", "betas", {4.1284224821777803e-5, 4.6141752736694509e-5, 3.1458862304781964e-3, 7.4999939290116203e-1, 9.99e-1}},
      {"cosine", "alpha_bar", {9.9995871577517822e-1, 9.9991257592736802e-1, 4.9384359044063771e-1, 2.4287669070344684e-6, 2.4287669070344705e-9}},
      {"cosine", "one_minus_alpha_bar", {4.1284224821777803e-5, 8.742407263197866e-5, 5.0615640955936229e-1, 9.9999757123309297e-1, 9.9999999757123309e-1}},
      {"cosine", "snr", {2.4221327155637689e+4, 1.1437497085460786e+4, 9.756738848186402e-1, 2.4287728059574842e-6, 2.4287669129333792e-9}},
      {"cosine", "sigma", {6.4254127711271708e-3, 9.3504928356045529e-3, 1.0123895639480042, 6.4166234511825641e+2, 2.0291169610021499e+4}},
      {"cosine", "posterior_variance", {0.0, 2.1789496145662041e-5, 3.1361999040579383e-3, 7.4999392818446614e-1, 9.9899757608819212e-1}},
      {"cosine", "posterior_log_variance_clipped", {-1.0734082532466369e+1, -1.0734082532466369e+1, -5.7647434336091621, -2.8769016823859686e-1, -1.002926674673118e-3}},
      {"cosine", "posterior_mean_coef1", {1.0, 5.2778140933621195e-1, 4.3745882261457138e-3, 2.3376761898175099e-3, 1.5568917154900465e-3}},
      {"cosine", "posterior_mean_coef2", {0.0, 4.7221859042566183e-1, 9.9535161947217106e-1, 4.9999696394663298e-1, 3.1622699874134656e-2}},
      {"sigmoid", "betas", {1.4920520081703202e-4, 1.4979833041933023e-4, 1.0020120209938985e-2, 1.995020166958067e-2, 1.9950794799182968e-2}},
      {"sigmoid", "alpha_bar", {9.9985079479918297e-1, 9.9970101881945361e-1, 3.0193105660219512e-1, 4.0489620005559888e-5, 3.9681819905332069e-5}},
      {"sigmoid", "one_minus_alpha_bar", {1.4920520081703202e-4, 2.9898118054638998e-4, 6.9806894339780488e-1, 9.9995951037999444e-1, 9.9996031818009467e-1}},
      {"sigmoid", "snr", {6.7011792439144546e+3, 3.3436921246765223e+3, 4.3252326214738257e-1, 4.0491259481269831e-5, 3.96833946146504e-5}},
      {"sigmoid", "sigma", {1.2215869446384623e-2, 1.7293657711038336e-2, 1.5205309519735038, 1.5715179905826338e+2, 1.5874336866656477e+2}},
      {"sigmoid", "posterior_variance", {0.0, 7.4756176731345623e-5, 9.9762541159169482e-3, 1.9950185225571041e-2, 1.9950778682289382e-2}},
      {"sigmoid", "posterior_log_variance_clipped", {-9.5012787172498356, -9.5012787172498356, -4.6075475982025883, -3.9145168511995887, -3.9144871047142779}},
      {"sigmoid", "posterior_mean_coef1", {1.0, 5.0099191656050436e-1, 7.9271180201956943e-3, 1.2823679451698196e-4, 1.2695484693040083e-4}},
      {"sigmoid", "posterior_mean_coef2", {0.0, 4.9900808064524165e-1, 9.9062151336195079e-1, 9.8997382930737121e-1, 9.8997354599551337e-1}},
      {"linear_zero_snr", "betas", {1.0e-4, 1.2068663551061712e-4, 1.027104254954214e-2, 7.5226723115046898e-1, 1.0}},
      {"linear_zero_snr", "alpha_bar", {9.999e-1, 9.9977932543315293e-1, 7.6028750547114721e-2, 4.2132624650880553e-9, 0.0}},
      {"linear_zero_snr", "one_minus_alpha_bar", {1.0e-4, 2.2067456684706606e-4, 9.2397124945288528e-1, 9.9999999578673753e-1, 1.0}},
      {"linear_zero_snr", "snr", {9.9989999999999995e+3, 4.5305598180964338e+3, 8.2284757877622191e-2, 4.213262482839636e-9, 0.0}},
      {"linear_zero_snr", "sigma", {1.0000500037503126e-2, 1.4856758558317453e-2, 3.4861037034686835, 1.5406030095597292e+4, kInf}},
      {"linear_zero_snr", "posterior_variance", {0.0, 5.4689870806116274e-5, 1.0262271891569187e-2, 7.5226722152594303e-1, 9.9999999578673753e-1}},
      {"linear_zero_snr", "posterior_log_variance_clipped", {-9.8138320429028376, -9.8138320429028376, -4.5792810318251229, -2.8466367037950417e-1, -4.2132624739638457e-9}},
      {"linear_zero_snr", "posterior_mean_coef1", {1.0, 5.4687136244210209e-1, 3.0809656669111266e-3, 9.8104668580064726e-5, 6.4909648474537708e-5}},
      {"linear_zero_snr", "posterior_mean_coef2", {0.0, 4.5312863604914849e-1, 9.9400169951728248e-1, 4.9772759870287729e-1, 0.0}},
      {"scaled_linear_zero_snr", "betas", {8.4999999999999995e-4, 9.173335933719811e-4, 5.5157787345965626e-3, 7.5113700417650247e-1, 1.0}},
      {"scaled_linear_zero_snr", "alpha_bar", {9.9915e-1, 9.9823344614018239e-1, 2.4235916655614539e-1, 1.9678880566211869e-7, 0.0}},
      {"scaled_linear_zero_snr", "one_minus_alpha_bar", {8.4999999999999995e-4, 1.7665538598176149e-3, 7.5764083344385461e-1, 9.9999980321119434e-1, 1.0}},
      {"scaled_linear_zero_snr", "snr", {1.1754705882352942e+3, 5.6507388132691491e+2, 3.198866215466534e-1, 1.9678884438796034e-7, 0.0}},
      {"scaled_linear_zero_snr", "sigma", {2.9167158151720066e-2, 4.2067565831886625e-2, 1.7680802029011617, 2.2542379783370557e+3, kInf}},
      {"scaled_linear_zero_snr", "posterior_variance", {0.0, 4.4138679952089674e-4, 5.505992584949854e-3, 7.5113655802900026e-1, 9.9999980321119434e-1}},
      {"scaled_linear_zero_snr", "posterior_log_variance_clipped", {-7.7255889705224571, -7.7255889705224571, -5.2019182189844129, -2.8616780882253547e-1, -1.9678882502503825e-7}},
      {"scaled_linear_zero_snr", "posterior_mean_coef1", {1.0, 5.1905784735459338e-1, 3.5939682796519181e-3, 6.6794280444395879e-4, 4.4360884308376754e-4}},
      {"scaled_linear_zero_snr", "posterior_mean_coef2", {0.0, 4.8094205509252231e-1, 9.9546898699785416e-1, 4.9886140379149324e-1, 0.0}},
  };
  const long idx[] = {0, 1, 499, 998, 999};
  for (const row& r : rows) {
    const latent::noise_schedule s = make(r.schedule);
    const Eigen::ArrayXd& tab = table(s, r.table);
    for (int k = 0; k < 5; ++k) {
      INFO(r.schedule << " " << r.table << " t = " << idx[k]);
      const double want = r.values[std::size_t(k)], got = tab(idx[k]);
      if (std::isinf(want)) {
        CHECK(std::isinf(got));
      } else if (want == 0) {
        CHECK(got == 0.0);
      } else {
        CHECK(std::abs(got - want) <= 1e-12 * std::abs(want));
      }
    }
  }
}

TEST_CASE("derived tables are consistent", "[diffusion][schedule]") {
  for (const char* name : {"linear", "cosine", "linear_zero_snr"}) {
    const latent::noise_schedule s = make(name);
    for (long t = 0; t < s.size(); ++t) {
      INFO(name << " t = " << t);
      CHECK(s.alpha_bar()(t) + s.one_minus_alpha_bar()(t) == Approx(1.0).epsilon(1e-15));
      CHECK(s.sqrt_alpha_bar()(t) == Approx(std::sqrt(s.alpha_bar()(t))).epsilon(1e-15));
      CHECK(s.sqrt_one_minus_alpha_bar()(t) ==
            Approx(std::sqrt(s.one_minus_alpha_bar()(t))).epsilon(1e-15));
      CHECK(std::isfinite(s.posterior_variance()(t)));
      CHECK(std::isfinite(s.posterior_log_variance_clipped()(t)));
      CHECK(std::isfinite(s.posterior_mean_coef1()(t)));
      CHECK(std::isfinite(s.posterior_mean_coef2()(t)));
      if (s.alpha_bar()(t) > 1e-300) {
        CHECK(s.log_snr()(t) == Approx(std::log(s.snr()(t))).epsilon(1e-13).margin(1e-13));
        CHECK(s.sigma()(t) == Approx(std::sqrt(1.0 / s.snr()(t))).epsilon(1e-13));
      }
    }
  }
  const latent::noise_schedule z = make("linear_zero_snr");
  CHECK(z.betas()(999) == 1.0);
  CHECK(z.alpha_bar()(999) == 0.0);
  CHECK(z.log_snr()(999) == -kInf);
  // The rescale keeps alpha_bar_0.
  CHECK(z.alpha_bar()(0) == Approx(make("linear").alpha_bar()(0)).epsilon(1e-15));
}

TEST_CASE("one minus alpha_bar keeps relative precision near t = 0", "[diffusion][schedule]") {
  // 1 - (1 - 1e-6) in double has relative error ~1e-10; -expm1(log1p(-1e-6)) is exact.
  Eigen::ArrayXd b = Eigen::ArrayXd::Constant(3, 1e-6);
  const latent::noise_schedule s(b);
  CHECK(std::abs(s.one_minus_alpha_bar()(0) - 1e-6) <= 1e-21);
  CHECK(std::abs(s.one_minus_alpha_bar()(1) - (2e-6 - 1e-12)) <= 1e-20);
}

TEST_CASE("T = 1 and T = 10^4 schedules", "[diffusion][schedule]") {
  const latent::noise_schedule one(latent::linear_betas(1));
  CHECK(one.size() == 1);
  CHECK(one.betas()(0) == 1e-4);
  CHECK(one.posterior_variance()(0) == 0.0);
  CHECK(one.posterior_log_variance_clipped()(0) == Approx(std::log(1e-4)));
  const latent::noise_schedule big(latent::linear_betas(10000));
  CHECK(big.size() == 10000);
  CHECK((big.alpha_bar() > 0).all());
  CHECK(big.alpha_bar()(9999) < 1e-40);
  CHECK(big.sigma().allFinite());
  CHECK(big.posterior_mean_coef1().allFinite());
  const latent::noise_schedule cz(latent::rescale_zero_terminal_snr(latent::cosine_betas(10000)));
  CHECK(cz.alpha_bar()(9999) == 0.0);
}

TEST_CASE("invalid schedule configurations throw", "[diffusion][schedule]") {
  CHECK_THROWS_AS(latent::linear_betas(0), std::domain_error);
  CHECK_THROWS_WITH(latent::linear_betas(0),
                    Contains("latent::linear_betas: num_train_timesteps = 0 is out of range"));
  CHECK_THROWS_WITH(latent::linear_betas(10, 0.0, 0.02),
                    Contains("latent::linear_betas: beta_start is 0, but must be in (0, 1)"));
  CHECK_THROWS_WITH(latent::scaled_linear_betas(10, 1e-4, 1.5), Contains("beta_end is 1.5"));
  CHECK_THROWS_WITH(latent::cosine_betas(10, 0.008, 1.0), Contains("max_beta is 1"));
  CHECK_THROWS_AS(latent::sigmoid_betas(-3), std::domain_error);
  Eigen::ArrayXd b(3);
  b << 0.1, 1.2, 0.3;
  CHECK_THROWS_AS(latent::noise_schedule(b), std::domain_error);
  CHECK_THROWS_WITH(latent::noise_schedule(b),
                    Contains("latent::noise_schedule: betas[1] is 1.2, but must be in (0, 1)"));
  b << 0.1, 0.2, 0.0;
  CHECK_THROWS_WITH(latent::noise_schedule(b), Contains("betas[2] is 0"));
  b << 1.0, 0.2, 0.3;
  CHECK_THROWS_WITH(latent::noise_schedule(b), Contains("betas[0] is 1"));
  CHECK_THROWS_AS(latent::noise_schedule(Eigen::ArrayXd(0)), std::invalid_argument);
  CHECK_THROWS_WITH(latent::rescale_zero_terminal_snr(Eigen::ArrayXd::Constant(1, 0.1)),
                    Contains("at least 2"));
  b << 0.1, std::nan(""), 0.3;
  CHECK_THROWS_WITH(latent::rescale_zero_terminal_snr(b), Contains("betas[1] is nan"));
  // sqrt(alpha_bar) that does not move in double cannot be rescaled (would divide by 0).
  CHECK_THROWS_WITH(latent::rescale_zero_terminal_snr(Eigen::ArrayXd::Constant(4, 1e-17)),
                    Contains("squares to 0 in double"));
  CHECK_THROWS_AS(latent::rescale_zero_terminal_snr(Eigen::ArrayXd::Constant(4, 1e-17)),
                  std::domain_error);
  // Extreme generator parameters that round a beta to 0 are reported by the generator.
  CHECK_THROWS_WITH(latent::cosine_betas(10, 1e16), Contains("latent::cosine_betas: the parameters give betas["));
  CHECK_THROWS_WITH(latent::linear_betas(6, 4 * 4.9406564584124654e-324, 4.9406564584124654e-324),
                    Contains("after rounding, but every beta must be in (0, 1)"));
}

TEST_CASE("inference timesteps match diffusers' set_timesteps", "[diffusion][timesteps]") {
  using latent::timestep_spacing;
  using V = std::vector<std::int64_t>;
  // tools/diffusion_reference.py, section "timesteps".
  CHECK(latent::inference_timesteps(1000, 7, timestep_spacing::leading, 1) ==
        V{853, 711, 569, 427, 285, 143, 1});
  CHECK(latent::inference_timesteps(1000, 7, timestep_spacing::linspace) ==
        V{999, 832, 666, 500, 333, 166, 0});
  CHECK(latent::inference_timesteps(1000, 7, timestep_spacing::trailing) ==
        V{999, 856, 713, 570, 428, 285, 142});
  CHECK(latent::inference_timesteps(1000, 3, timestep_spacing::trailing) == V{999, 666, 332});
  CHECK(latent::inference_timesteps(10, 4, timestep_spacing::linspace) == V{9, 6, 3, 0});
  CHECK(latent::inference_timesteps(10, 4, timestep_spacing::leading) == V{6, 4, 2, 0});
  CHECK(latent::inference_timesteps(10, 4, timestep_spacing::trailing) == V{9, 7, 4, 1});
  const V lead50 = latent::inference_timesteps(1000, 50, timestep_spacing::leading, 1);
  REQUIRE(lead50.size() == 50);
  CHECK(lead50.front() == 981);
  CHECK(lead50.back() == 1);
  CHECK(lead50[25] == 481);
  CHECK(latent::inference_timesteps(1, 1, timestep_spacing::trailing) == V{0});
  CHECK(latent::inference_timesteps(1000, 1000, timestep_spacing::linspace).back() == 0);
  CHECK(latent::previous_timestep(lead50, 0) == 961);
  CHECK(latent::previous_timestep(lead50, 49) == -1);
  CHECK(latent::custom_timesteps(1000, V{999, 500, 3}) == V{999, 500, 3});
}

TEST_CASE("invalid timesteps throw", "[diffusion][timesteps]") {
  using latent::timestep_spacing;
  using V = std::vector<std::int64_t>;
  CHECK_THROWS_AS(latent::inference_timesteps(100, 101, timestep_spacing::leading),
                  std::domain_error);
  CHECK_THROWS_WITH(latent::inference_timesteps(100, 101, timestep_spacing::leading),
                    Contains("num_inference_steps = 101 is out of range [1, 100]"));
  CHECK_THROWS_WITH(latent::inference_timesteps(0, 1, timestep_spacing::leading),
                    Contains("num_train_timesteps = 0"));
  CHECK_THROWS_WITH(latent::inference_timesteps(100, 100, timestep_spacing::leading, 1),
                    Contains("(steps_offset = 1) is out of range [0, 99]"));
  CHECK_THROWS_WITH(latent::inference_timesteps(100, 10, timestep_spacing::leading, -1),
                    Contains("steps_offset = -1 is out of range [0, 99]"));
  CHECK_THROWS_AS(latent::inference_timesteps(100, 10, timestep_spacing::leading,
                                              std::numeric_limits<std::int64_t>::max()),
                  std::domain_error);
  CHECK_THROWS_WITH(latent::inference_timesteps(std::int64_t(1) << 60, 3, timestep_spacing::trailing),
                    Contains("is out of range [1, 2^53] for linspace and trailing spacing"));
  const auto huge = latent::inference_timesteps(std::numeric_limits<std::int64_t>::max(), 3,
                                                timestep_spacing::leading, 5);
  CHECK(huge.back() == 5);
  CHECK_THROWS_AS(latent::inference_timesteps(100, 10, timestep_spacing::trailing, 1),
                  std::invalid_argument);
  CHECK_THROWS_WITH(latent::custom_timesteps(1000, V{999, 999, 3}),
                    Contains("timesteps must be strictly descending, but timesteps[1] = 999 follows 999"));
  CHECK_THROWS_WITH(latent::custom_timesteps(1000, V{3, 500}), Contains("strictly descending"));
  CHECK_THROWS_WITH(latent::custom_timesteps(1000, V{1000, 5}),
                    Contains("latent::custom_timesteps: timesteps[0] = 1000 is out of range [0, 999]"));
  CHECK_THROWS_AS(latent::custom_timesteps(1000, V{}), std::invalid_argument);
  CHECK_THROWS_WITH(latent::custom_timesteps(1000, V{5, -1}), Contains("timesteps[1] = -1"));
  CHECK_THROWS_WITH(latent::previous_timestep(V{5, 1}, 2), Contains("i = 2 is out of range"));
}
