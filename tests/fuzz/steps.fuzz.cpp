// Fuzzes the DDPM and DDIM steps (latent/diffusion/ddpm.hpp, ddim.hpp) and DDIM inversion with
// arbitrary schedules (optionally rescaled to zero terminal SNR), options (prediction and
// variance types, clipping, thresholding with arbitrary ratios, eta, set_alpha_to_one,
// use_clipped_model_output), timesteps t / prev_t in and out of range, and inputs with NaN
// and infinities, in float and double.
// Properties: only documented exceptions escape; when a step throws, `out` is bit-for-bit
// untouched; finite inputs (x_t, model output, noise, and a non-negative learned variance)
// of moderate size (|x| <= 4, eta <= 1e6) give a finite output.
#include <Eigen/Core>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>

#include "fuzz_input.hpp"
#include "latent/diffusion/ddim.hpp"
#include "latent/diffusion/ddpm.hpp"
#include "latent/diffusion/schedule.hpp"

namespace {

template <class A>
bool bitwise_equal(const A& a, const A& b) {
  if (a.size() != b.size()) return false;
  return a.size() == 0 ||
         std::memcmp(a.data(), b.data(), sizeof(typename A::Scalar) * std::size_t(a.size())) == 0;
}

template <class S>
void run(fuzz::input& in, const latent::noise_schedule& sched) {
  using A = Eigen::Array<S, Eigen::Dynamic, Eigen::Dynamic>;
  const auto T = sched.size();
  const auto D = static_cast<Eigen::Index>(in.integer(0, 4));
  const auto B = static_cast<Eigen::Index>(in.integer(0, 3));
  const bool bad_shape = in.integer(0, 15) == 0;
  A x(D, B), m(D, B), v(D, B), z(D, B);
  const bool wild = in.integer(0, 3) == 0;  // NaN / inf / huge values allowed in the data
  for (Eigen::Index i = 0; i < x.size(); ++i) {
    x(i) = S(wild ? in.value(10) : 4 * std::tanh(in.value(10)));
    m(i) = S(wild ? in.value(10) : 4 * std::tanh(in.value(10)));
    v(i) = S(wild ? in.value(1) : std::abs(std::tanh(in.value(1))));
    z(i) = S(wild ? in.value(5) : 4 * std::tanh(in.value(5)));
  }
  const bool finite = x.allFinite() && m.allFinite() && v.allFinite() && z.allFinite();
  const auto t = static_cast<std::int64_t>(in.integer(-2, T + 1));
  const auto prev_t = static_cast<std::int64_t>(in.integer(-3, T));
  A out = A::Constant(bad_shape ? D + 1 : D, B, S(-7.25));
  const A sentinel = out;

  const auto pick = [&in](double usual) {
    return in.integer(0, 3) == 0 ? in.value(2.0) : usual;
  };
  const int which = static_cast<int>(in.integer(0, 2));
  const auto pred = static_cast<latent::prediction_type>(in.integer(0, 2));
  bool learned_nonneg = true;
  bool threw = true;
  bool moderate = true;
  char desc[256] = "";
  auto body = [&] {
    if (which == 0) {
      latent::ddpm_options o;
      o.prediction = pred;
      o.variance = static_cast<latent::variance_type>(in.integer(0, 5));
      o.clip_sample = in.boolean();
      o.clip_sample_range = pick(1.0);
      o.thresholding = in.boolean();
      o.dynamic_thresholding_ratio = pick(0.995);
      o.sample_max_value = pick(1.5);
      std::snprintf(desc, sizeof desc, "var %d clip %d %.17g thr %d %.17g %.17g", int(o.variance),
                    o.clip_sample, o.clip_sample_range, o.thresholding,
                    o.dynamic_thresholding_ratio, o.sample_max_value);
      if (o.variance == latent::variance_type::learned) learned_nonneg = (v >= S(0)).all();
      if (o.variance == latent::variance_type::learned ||
          o.variance == latent::variance_type::learned_range) {
        latent::ddpm_step(sched, o, t, prev_t, x, m, v, out, z);
      } else {
        latent::ddpm_step(sched, o, t, prev_t, x, m, out, z);
      }
    } else if (which == 1) {
      latent::ddim_options o;
      o.prediction = pred;
      o.eta = in.integer(0, 2) == 0 ? in.value(2.0) : std::abs(in.value(1.0));
      o.clip_sample = in.boolean();
      o.clip_sample_range = pick(1.0);
      o.thresholding = in.boolean();
      o.dynamic_thresholding_ratio = pick(0.995);
      o.sample_max_value = pick(1.5);
      o.set_alpha_to_one = in.boolean();
      o.use_clipped_model_output = in.boolean();
      moderate = std::abs(o.eta) <= 1e6;  // sigma = eta * ... overflows float for eta ~1e38
      std::snprintf(desc, sizeof desc, "eta %.17g clip %d %.17g thr %d %.17g %.17g one %d ucmo %d",
                    o.eta, o.clip_sample, o.clip_sample_range, o.thresholding,
                    o.dynamic_thresholding_ratio, o.sample_max_value, o.set_alpha_to_one,
                    o.use_clipped_model_output);
      if (in.boolean()) {
        latent::ddim_step(sched, o, t, prev_t, x, m, out, z);
      } else {
        latent::ddim_step(sched, o, t, prev_t, x, m, out);
      }
    } else {
      latent::ddim_inversion_step(sched, pred, prev_t, t, x, m, out);
    }
    threw = false;
  };
  fuzz::expect_documented(body);
  // Where alpha_bar or 1 - alpha_bar at the source step is below ~1e-60, the coefficients
  // exceed 1e30 and x0_hat (x_t - sqrt(1 - alpha_bar) eps) / sqrt(alpha_bar) can exceed the
  // scalar's range for ordinary inputs: the step is then computed in double and overflows to
  // +-inf, the correct limit. There only NaN is a violation.
  const std::int64_t src = which == 2 ? prev_t : t;
  const bool huge = src >= 0 && src < T &&
                    (sched.alpha_bar()(src) < 1e-60 || sched.one_minus_alpha_bar()(src) < 1e-60);
  const bool bad = huge ? out.isNaN().any() : !out.allFinite();
  if (threw) {
    fuzz::require(bitwise_equal(out, sentinel), "a step that throws leaves out untouched");
  } else if (!wild && moderate && finite && learned_nonneg && bad) {
    std::fprintf(stderr, "step %d pred %d t %lld prev_t %lld T %lld %s\n", which, int(pred),
                 (long long)t, (long long)prev_t, (long long)T, sizeof(S) == 4 ? "float" : "double");
    std::fprintf(stderr, "  %s\n", desc);
    for (Eigen::Index i = 0; i < T; ++i)
      std::fprintf(stderr, "  beta %.17g alpha_bar %.17g\n", sched.betas()(i), sched.alpha_bar()(i));
    for (Eigen::Index i = 0; i < x.size(); ++i)
      std::fprintf(stderr, "  x %.9g m %.9g v %.9g z %.9g out %.9g\n", double(x(i)), double(m(i)),
                   double(v(i)), double(z(i)), double(out(i)));
    fuzz::require(false, "finite inputs give a finite step (or +-inf where the exact step overflows)");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::input in(data, size);
  const auto T = static_cast<std::int64_t>(in.integer(1, 12));
  Eigen::ArrayXd betas(T);
  const int kind = static_cast<int>(in.integer(0, 3));
  for (std::int64_t i = 0; i < T; ++i) {
    // Betas in (0, 1): typical (1e-4 .. 0.02), tiny (down to 1e-300) or close to 1.
    const double u = std::abs(std::tanh(in.value(3.0)));
    betas(i) = kind == 0 ? 1e-4 + 0.2 * u
             : kind == 1 ? std::pow(10.0, -300.0 * u) * 0.5
             : kind == 2 ? 1.0 - std::pow(10.0, -15.0 * u) * 0.5
                         : 0.5 * u + 1e-12;
    if (!(betas(i) > 0 && betas(i) < 1)) betas(i) = 0.5;
  }
  Eigen::ArrayXd b = betas;
  if (T >= 2 && in.boolean()) {
    try {
      b = latent::rescale_zero_terminal_snr(betas);
    } catch (const std::domain_error&) {
      return 0;  // documented: sqrt(alpha_bar) does not move or underflows before T - 1
    }
  }
  const latent::noise_schedule sched(b);  // betas in (0, 1), rescaled ones too: never throws
  if (in.boolean()) run<float>(in, sched); else run<double>(in, sched);
  return 0;
}
