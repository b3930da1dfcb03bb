// Fuzzes the sigma-space side: sigma schedules (latent/diffusion/sigma_schedules.hpp) with any
// n and parameters; the sampler steps of latent/score/samplers.hpp (to_d,
// get_ancestral_step, churn_gamma, churn_step, euler, euler ancestral, heun, DPM-Solver++ 1S
// and 2M) and the Langevin steps of latent/score/langevin.hpp (langevin_step, annealed step
// and step size, mala_log_proposal, mala_accept) with arbitrary sigmas, eta, tau and inputs
// (NaN and infinities included), in float and double.
// Properties: only documented exceptions escape; a step that throws leaves its output
// untouched; a schedule that returns is strictly decreasing, positive and finite (then 0);
// with sigmas in [1e-8, 1e8], ordered as documented, eta in [0, 10] and inputs with
// |x| <= 4, every step output is finite.
#include <Eigen/Core>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>

#include "fuzz_input.hpp"
#include "latent/diffusion/sigma_schedules.hpp"
#include "latent/score/langevin.hpp"
#include "latent/score/samplers.hpp"

namespace {

template <class A>
bool bitwise_equal(const A& a, const A& b) {
  if (a.size() != b.size()) return false;
  return a.size() == 0 ||
         std::memcmp(a.data(), b.data(), sizeof(typename A::Scalar) * std::size_t(a.size())) == 0;
}

/// A sigma: usually in [1e-8, 1e8] (log-uniform), sometimes 0, negative, NaN, inf or huge.
double any_sigma(fuzz::input& in, bool& sane) {
  switch (in.integer(0, 7)) {
    case 0: sane = false; return in.any_double();
    case 1: sane = false; return -std::abs(in.value(1.0));
    default: return std::pow(10.0, 8.0 * std::tanh(in.value(3.0)));
  }
}

void fuzz_schedules(fuzz::input& in) {
  const auto n = static_cast<Eigen::Index>(in.integer(-2, 40));
  bool sane = true;
  const double lo = any_sigma(in, sane), hi = any_sigma(in, sane);
  const double rho = in.integer(0, 3) == 0 ? in.value(20.0) : 7.0 * std::abs(std::tanh(in.value(1.0))) + 0.1;
  const bool zero = in.boolean();
  const int which = static_cast<int>(in.integer(0, 3));
  fuzz::expect_documented([&] {
    Eigen::ArrayXd s;
    switch (which) {
      case 0: s = latent::sigmas_karras(n, lo, hi, rho, zero); break;
      case 1: s = latent::sigmas_exponential(n, lo, hi, zero); break;
      case 2: s = latent::sigmas_polyexponential(n, lo, hi, rho, zero); break;
      default: s = latent::sigmas_geometric(n, lo, hi);
    }
    const Eigen::Index m = (zero && which < 3) ? s.size() - 1 : s.size();
    fuzz::require(m == n, "n noise levels");
    if (m < s.size()) fuzz::require(s(m) == 0.0, "final zero");
    const bool moderate = sane && rho >= 0.05 && rho <= 100;
    for (Eigen::Index i = 0; i < m && moderate; ++i) {
      if (!(std::isfinite(s(i)) && s(i) >= 0))
        std::fprintf(stderr, "which %d n %ld lo %.17g hi %.17g rho %.17g s %.17g\n", which, long(n), lo, hi, rho, s(i));
      fuzz::require(std::isfinite(s(i)) && s(i) >= 0, "levels finite and non-negative");
      // Levels are non-increasing; equal neighbours can only come from rounding when
      // sigma_min and sigma_max are (nearly) equal.
      if (i > 0) fuzz::require(s(i) <= s(i - 1) * (1 + 1e-12), "levels non-increasing");
    }
  });
}

template <class S>
void fuzz_steps(fuzz::input& in) {
  using A = Eigen::Array<S, Eigen::Dynamic, Eigen::Dynamic>;
  const auto D = static_cast<Eigen::Index>(in.integer(0, 4));
  const auto B = static_cast<Eigen::Index>(in.integer(0, 3));
  const bool wild = in.integer(0, 3) == 0;
  const bool bad_shape = in.integer(0, 15) == 0;
  A x(D, B), d(D, B), d2(D, B), z(D, B);
  for (Eigen::Index i = 0; i < x.size(); ++i) {
    x(i) = S(wild ? in.value(10) : 4 * std::tanh(in.value(10)));
    d(i) = S(wild ? in.value(10) : 4 * std::tanh(in.value(10)));
    d2(i) = S(wild ? in.value(10) : 4 * std::tanh(in.value(10)));
    z(i) = S(wild ? in.value(10) : 4 * std::tanh(in.value(10)));
  }
  bool sane = !wild && x.allFinite() && d.allFinite() && d2.allFinite() && z.allFinite();
  double s0 = any_sigma(in, sane), s1 = any_sigma(in, sane), s2 = any_sigma(in, sane);
  if (in.integer(0, 3) == 0) s2 = 0.0;  // the final step to sigma = 0
  const double eta = in.integer(0, 5) == 0 ? in.value(2.0) : 10 * std::abs(std::tanh(in.value(1.0)));
  const double s_noise = in.integer(0, 5) == 0 ? in.value(2.0) : 1.0;
  const bool eta_ok = eta >= 0 && eta <= 10 && s_noise >= 0 && s_noise <= 10;
  A out = A::Constant(bad_shape ? D + 1 : D, B, S(-3.5));
  const A sentinel = out;
  const int which = static_cast<int>(in.integer(0, 11));
  // The documented ordering of each step (when it holds, finite inputs give finite output).
  bool ordered = true;
  bool threw = true;
  fuzz::expect_documented([&] {
    switch (which) {
      case 0: ordered = s0 > 0; out = latent::to_d(x, s0, d); break;
      case 1: {
        const auto a = latent::get_ancestral_step(s0, s1, eta);
        // Known bug (bugs.md, B7): sigma_from > ~1e154 squares to inf; sigma_down = inf.
        if (s0 < 1e150) {
          fuzz::require(a.up >= 0 && a.down >= 0 && a.up <= s1 && a.down <= s1 * (1 + 1e-15),
                        "0 <= sigma_up, sigma_down <= sigma_to");
          fuzz::require(std::abs(a.up * a.up + a.down * a.down - s1 * s1) <= 1e-12 * s1 * s1,
                        "sigma_up^2 + sigma_down^2 = sigma_to^2");
        }
        break;
      }
      case 2: {
        latent::churn_options c;
        c.s_churn = in.value(100.0);
        c.s_tmin = in.value(1.0);
        c.s_tmax = in.boolean() ? in.value(100.0) : c.s_tmax;
        c.s_noise = s_noise;
        const double g = latent::churn_gamma(s0, static_cast<Eigen::Index>(in.integer(-1, 100)), c);
        fuzz::require(g >= 0 && g <= std::sqrt(2.0) - 1, "gamma in [0, sqrt 2 - 1]");
        break;
      }
      case 3: ordered = s1 >= s0; latent::churn_step(x, s0, s1, z, out, s_noise); break;
      case 4: ordered = s1 <= s0; latent::euler_step(x, d, s0, s1, out); break;
      case 5: ordered = s1 <= s0; latent::euler_ancestral_step(x, d, s0, s1, z, out, eta, s_noise); break;
      case 6: ordered = s1 <= s0; latent::heun_step(x, d, d2, z, s0, s1, out); break;
      case 7: ordered = s1 <= s0; latent::dpmpp_1s_step(x, d, s0, s1, out); break;
      case 8: ordered = s0 > s1 && s1 > s2; latent::dpmpp_2m_step(x, d, d2, s0, s1, s2, out); break;
      case 9: latent::langevin_step(x, d, s0, z, out); break;
      case 10: latent::annealed_langevin_step(x, d, eta, s0, s1, z, out); ordered = s1 <= s0; break;
      default: {
        Eigen::Array<S, 1, Eigen::Dynamic> lp = Eigen::Array<S, 1, Eigen::Dynamic>::Constant(B, S(in.value(3.0)));
        Eigen::Array<S, 1, Eigen::Dynamic> lpy = Eigen::Array<S, 1, Eigen::Dynamic>::Constant(B, S(in.value(3.0)));
        Eigen::Array<S, 1, Eigen::Dynamic> u(B);
        for (Eigen::Index j = 0; j < B; ++j) u(j) = S(in.integer(0, 5) == 0 ? in.value(2.0) : 0.5);
        A xs = x, ds = d;
        Eigen::Array<bool, 1, Eigen::Dynamic> acc;
        const A x_before = xs;
        const Eigen::Array<S, 1, Eigen::Dynamic> lp_before = lp;
        try {
          latent::mala_accept(xs, lp, ds, z, lpy, d2, s0, u, acc);
        } catch (...) {
          // Known bug (bugs.md, B6): mala_accept validates uniform[j] inside its loop, after
          // columns < j may have been accepted. Checked only when column 0 is the bad one.
          if (B > 0 && !(u(0) > 0 && u(0) <= 1))
            fuzz::require(bitwise_equal(xs, x_before) && bitwise_equal(lp, lp_before),
                          "mala_accept that throws leaves the chains untouched");
          throw;
        }
        (void)latent::mala_log_proposal(x, z, d, s0);
        ordered = false;  // no output array to check
      }
    }
    threw = false;
  });
  if (threw) {
    fuzz::require(bitwise_equal(out, sentinel), "a step that throws leaves out untouched");
  } else if (sane && eta_ok && ordered && which != 1 && which != 2 && which != 11) {
    if (!out.allFinite()) {
      std::fprintf(stderr, "step %d %s s0 %.17g s1 %.17g s2 %.17g eta %.17g s_noise %.17g\n", which,
                   sizeof(S) == 4 ? "float" : "double", s0, s1, s2, eta, s_noise);
      for (Eigen::Index i = 0; i < x.size(); ++i)
        std::fprintf(stderr, "  x %.9g d %.9g d2 %.9g z %.9g out %.9g\n", double(x(i)), double(d(i)),
                     double(d2(i)), double(z(i)), double(out(i)));
    }
    fuzz::require(out.allFinite(), "finite inputs and sane sigmas give a finite step");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::input in(data, size);
  switch (in.integer(0, 2)) {
    case 0: fuzz_schedules(in); break;
    case 1: fuzz_steps<float>(in); break;
    default: fuzz_steps<double>(in);
  }
  return 0;
}
