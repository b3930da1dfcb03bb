// A consumer of latent: includes the umbrella header and checks a few values.
#include <latent/latent.hpp>

#include <cmath>
#include <cstdio>

int main() {
  Eigen::ArrayXd x(3);
  x << -100.0, 0.0, 100.0;
  const Eigen::ArrayXd sp = latent::softplus(x);
  const double lse = latent::log_sum_exp(x);
  const bool ok = std::abs(sp(1) - std::log(2.0)) < 1e-15 && sp(2) == 100.0 &&
                  std::abs(lse - 100.0) < 1e-12;
  std::printf("latent consumer: softplus(0) = %.17g, log_sum_exp = %.17g: %s\n", sp(1), lse,
              ok ? "ok" : "WRONG");
  return ok ? 0 : 1;
}
