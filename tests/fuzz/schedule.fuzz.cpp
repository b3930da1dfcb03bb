// Fuzzes schedule construction (latent/diffusion/schedule.hpp): the four beta schedules with
// arbitrary T and parameters, noise_schedule from arbitrary betas (NaN, infinities, 0, 1,
// negative values included), and the zero-terminal-SNR rescale.
// Properties: only std::invalid_argument / std::domain_error naming "latent::" escape; a
// schedule that constructs has betas in (0, 1) (the last may be 1 after the rescale), and
// every table is finite and in range, except the documented infinities of zero terminal SNR
// (log_alpha_bar = -inf, log_snr = -inf, sigma = inf at the last step); rescaled betas lie in
// (0, 1] with the last exactly 1, and build a noise_schedule whose alpha_bar ends at 0.
#include <Eigen/Core>
#include <cmath>
#include <cstdint>
#include <string>

#include "fuzz_input.hpp"
#include "latent/diffusion/schedule.hpp"

namespace {

void check_tables(const latent::noise_schedule& s) {
  const Eigen::Index T = s.size();
  fuzz::require(T >= 1, "a schedule has at least one step");
  for (Eigen::Index t = 0; t < T; ++t) {
    const bool terminal = s.betas()(t) == 1.0;
    fuzz::require(t == T - 1 || !terminal, "only the last beta may be 1");
    const double ab = s.alpha_bar()(t), om = s.one_minus_alpha_bar()(t);
    fuzz::require(ab >= 0 && ab <= 1, "alpha_bar in [0, 1]");
    fuzz::require(om >= 0 && om <= 1, "1 - alpha_bar in [0, 1]");
    fuzz::require(s.sqrt_alpha_bar()(t) >= 0 && s.sqrt_alpha_bar()(t) <= 1, "sqrt alpha_bar");
    fuzz::require(std::isfinite(s.sqrt_one_minus_alpha_bar()(t)), "sqrt(1 - alpha_bar) finite");
    fuzz::require(!std::isnan(s.log_alpha_bar()(t)) && s.log_alpha_bar()(t) <= 0,
                  "log_alpha_bar <= 0, not NaN");
    fuzz::require(!std::isnan(s.log_snr()(t)), "log_snr not NaN");
    fuzz::require(!std::isnan(s.snr()(t)) && s.snr()(t) >= 0, "snr >= 0");
    fuzz::require(!std::isnan(s.sigma()(t)) && s.sigma()(t) >= 0, "sigma >= 0");
    fuzz::require(std::isfinite(s.posterior_variance()(t)) && s.posterior_variance()(t) >= 0,
                  "posterior variance finite and >= 0");
    fuzz::require(!std::isnan(s.posterior_log_variance_clipped()(t)),
                  "clipped posterior log-variance not NaN");
    fuzz::require(std::isfinite(s.posterior_mean_coef1()(t)) &&
                      std::isfinite(s.posterior_mean_coef2()(t)),
                  "posterior mean coefficients finite");
    if (!terminal) {
      fuzz::require(ab > 0 || s.log_alpha_bar()(t) < -700, "alpha_bar > 0 before the end");
      fuzz::require(std::isfinite(s.log_alpha_bar()(t)), "log_alpha_bar finite before the end");
    } else {
      fuzz::require(ab == 0 && s.snr()(t) == 0, "zero terminal SNR gives alpha_bar = snr = 0");
    }
  }
  fuzz::require(s.alpha_bar_at(-1) == 1.0 && s.one_minus_alpha_bar_at(-1) == 0.0, "t = -1");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::input in(data, size);
  const int which = static_cast<int>(in.integer(0, 4));
  const auto T = static_cast<std::int64_t>(in.integer(-3, 300));
  const double p1 = in.value(1.0), p2 = in.value(1.0);
  Eigen::ArrayXd betas;
  fuzz::expect_documented([&] {
    switch (which) {
      case 0: betas = latent::linear_betas(T, p1, p2); break;
      case 1: betas = latent::scaled_linear_betas(T, p1, p2); break;
      case 2: betas = latent::cosine_betas(T, p1, p2); break;
      case 3: betas = latent::sigmoid_betas(T, p1, p2); break;
      default: {
        const auto n = static_cast<Eigen::Index>(in.integer(0, 24));
        betas.resize(n);
        for (Eigen::Index i = 0; i < n; ++i) {
          const auto k = in.integer(0, 7);
          betas(i) = k == 0 ? 1.0 : k == 1 ? in.any_double() : std::abs(in.value(1.0));
        }
      }
    }
  });
  if (which < 4 && betas.size() > 0) {
    fuzz::require(betas.size() == T, "a beta schedule has T entries");
    // Extreme parameters that round a beta out of (0, 1) throw (B4, fixed in 3d3038a).
    fuzz::require((betas > 0).all() && (betas < 1).all(), "schedule betas lie in (0, 1)");
  }
  fuzz::expect_documented([&] {
    const latent::noise_schedule s(betas);
    check_tables(s);
  });
  Eigen::ArrayXd r;
  try {
    r = latent::rescale_zero_terminal_snr(betas);
  } catch (const std::invalid_argument& e) {
    fuzz::require(std::string(e.what()).rfind("latent::", 0) == 0, "documented message");
    return 0;
  } catch (const std::domain_error& e) {
    fuzz::require(std::string(e.what()).rfind("latent::", 0) == 0, "documented message");
    return 0;
  }
  fuzz::require(r.size() == betas.size(), "rescale keeps the length");
  fuzz::require(r(r.size() - 1) == 1.0, "rescaled last beta is 1");
  // Inner rescaled betas are kept inside (0, 1), so the result always makes a schedule
  // (an exception from the constructor here escapes and is reported as a crash).
  fuzz::require(r.allFinite() && (r.head(r.size() - 1) > 0).all() &&
                    (r.head(r.size() - 1) < 1).all(),
                "inner rescaled betas in (0, 1)");
  const latent::noise_schedule s(r);
  check_tables(s);
  fuzz::require(s.alpha_bar()(s.size() - 1) == 0.0, "rescaled schedule ends at alpha_bar 0");
  return 0;
}
