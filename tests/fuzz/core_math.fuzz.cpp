// Fuzzes latent/core/math.hpp with arbitrary values (NaN, infinities, subnormals included).
// Properties: softplus >= 0 and finite for finite input; log_sigmoid <= 0; log_sum_exp lies in
// [max, max + log n] for finite input, is NaN iff an input is NaN, -inf iff all are -inf.
#include <Eigen/Core>
#include <cmath>
#include <limits>

#include "fuzz_input.hpp"
#include "latent/core/math.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::input in(data, size);
  const auto n = static_cast<Eigen::Index>(in.integer(0, 64));
  Eigen::ArrayXd x(n);
  for (Eigen::Index i = 0; i < n; ++i) x(i) = in.value(800.0);

  const Eigen::ArrayXd sp = latent::softplus(x);
  const Eigen::ArrayXd ls = latent::log_sigmoid(x);
  for (Eigen::Index i = 0; i < n; ++i) {
    const double v = x(i);
    fuzz::require(std::isnan(v) == std::isnan(sp(i)), "softplus NaN iff input NaN");
    if (std::isfinite(v)) {
      fuzz::require(std::isfinite(sp(i)) && sp(i) >= 0, "softplus finite and >= 0");
      fuzz::require(std::isfinite(ls(i)) && ls(i) <= 0, "log_sigmoid finite and <= 0");
      fuzz::require(latent::softplus(v) >= 0, "scalar softplus >= 0");
      const double s = latent::sigmoid(v);
      fuzz::require(s >= 0 && s <= 1, "sigmoid in [0, 1]");
    }
  }

  const double lse = latent::log_sum_exp(x);
  const bool any_nan = x.isNaN().any();
  fuzz::require(std::isnan(lse) == any_nan, "log_sum_exp NaN iff an input is NaN");
  if (!any_nan && n > 0) {
    const double m = x.maxCoeff();
    if (std::isfinite(m)) {
      fuzz::require(lse >= m && lse <= m + std::log(static_cast<double>(n)) + 1e-12 * (1 + std::abs(m)),
                    "log_sum_exp in [max, max + log n]");
    } else {
      fuzz::require(lse == m, "log_sum_exp equals an infinite max");
    }
  }
  fuzz::expect_documented([&] { (void)latent::log_mean_exp(x); });
  fuzz::expect_documented([&] { (void)latent::logit(in.any_double()); });
  return 0;
}
