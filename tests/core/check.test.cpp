// Tests of latent/core/check.hpp: every check, its exception type and its exact message.
#include "latent/core/check.hpp"

#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <unsupported/Eigen/AutoDiff>

namespace {
constexpr double nan_v = std::numeric_limits<double>::quiet_NaN();
constexpr double inf_v = std::numeric_limits<double>::infinity();
const char* fn = "latent::kl_divergence";
}  // namespace

TEST_CASE("check_finite: scalars and arrays, with the offending index", "[core][check]") {
  CHECK_NOTHROW(latent::check_finite(fn, "x", 1.0));
  CHECK_NOTHROW(latent::check_finite(fn, "x", -3e38f));
  CHECK_THROWS_AS(latent::check_finite(fn, "x", nan_v), std::domain_error);
  CHECK_THROWS_WITH(latent::check_finite(fn, "x", nan_v),
                    "latent::kl_divergence: x is nan, but must be finite");
  CHECK_THROWS_WITH(latent::check_finite(fn, "x", -inf_v),
                    "latent::kl_divergence: x is -inf, but must be finite");

  Eigen::ArrayXd v = Eigen::ArrayXd::Zero(5);
  CHECK_NOTHROW(latent::check_finite(fn, "log_var", v));
  v(3) = nan_v;
  CHECK_THROWS_AS(latent::check_finite(fn, "log_var", v), std::domain_error);
  CHECK_THROWS_WITH(latent::check_finite(fn, "log_var", v),
                    "latent::kl_divergence: log_var[3] is nan, but must be finite");
  // A row vector names its index the same way; a matrix names (row, col).
  Eigen::RowVectorXf r = Eigen::RowVectorXf::Zero(4);
  r(2) = std::numeric_limits<float>::infinity();
  CHECK_THROWS_WITH(latent::check_finite(fn, "w", r),
                    "latent::kl_divergence: w[2] is inf, but must be finite");
  Eigen::MatrixXd m = Eigen::MatrixXd::Zero(3, 4);
  m(2, 1) = -inf_v;
  CHECK_THROWS_WITH(latent::check_finite(fn, "mu", m),
                    "latent::kl_divergence: mu(2, 1) is -inf, but must be finite");
  // Expressions are accepted.
  CHECK_THROWS_WITH(latent::check_finite(fn, "mu", m * 2.0),
                    "latent::kl_divergence: mu(2, 1) is -inf, but must be finite");
  // AutoDiffScalar values are checked by value.
  using ad = Eigen::AutoDiffScalar<Eigen::VectorXd>;
  CHECK_THROWS_WITH(latent::check_finite(fn, "a", ad(nan_v)),
                    "latent::kl_divergence: a is nan, but must be finite");
}

TEST_CASE("check_positive and check_nonnegative", "[core][check]") {
  CHECK_NOTHROW(latent::check_positive(fn, "sigma", 1e-300));
  CHECK_THROWS_AS(latent::check_positive(fn, "sigma", 0.0), std::domain_error);
  CHECK_THROWS_WITH(latent::check_positive(fn, "sigma", 0.0),
                    "latent::kl_divergence: sigma is 0, but must be positive and finite");
  CHECK_THROWS_WITH(latent::check_positive(fn, "sigma", inf_v),
                    "latent::kl_divergence: sigma is inf, but must be positive and finite");
  CHECK_THROWS_WITH(latent::check_positive(fn, "sigma", -0.25),
                    "latent::kl_divergence: sigma is -0.25, but must be positive and finite");
  Eigen::Array3d s(1.0, 0.5, -2.0);
  CHECK_THROWS_WITH(latent::check_positive(fn, "scale", s),
                    "latent::kl_divergence: scale[2] is -2, but must be positive and finite");
  CHECK_NOTHROW(latent::check_nonnegative(fn, "w", 0.0));
  CHECK_THROWS_AS(latent::check_nonnegative(fn, "w", -1e-9), std::domain_error);
  CHECK_THROWS_WITH(latent::check_nonnegative(fn, "w", -1e-9),
                    "latent::kl_divergence: w is -1e-09, but must be non-negative and finite");
  Eigen::Array3d w(1.0, nan_v, 0.0);
  CHECK_THROWS_WITH(latent::check_nonnegative(fn, "w", w),
                    "latent::kl_divergence: w[1] is nan, but must be non-negative and finite");
}

TEST_CASE("check_in_range, check_probability and check_index", "[core][check]") {
  CHECK_NOTHROW(latent::check_in_range(fn, "eta", 0.0, 0.0, 1.0));
  CHECK_NOTHROW(latent::check_in_range(fn, "eta", 1.0, 0.0, 1.0));
  CHECK_THROWS_AS(latent::check_in_range(fn, "eta", 1.5, 0.0, 1.0), std::domain_error);
  CHECK_THROWS_WITH(latent::check_in_range(fn, "eta", 1.5, 0.0, 1.0),
                    "latent::kl_divergence: eta = 1.5 is out of range [0, 1]");
  CHECK_THROWS_WITH(latent::check_in_range(fn, "eta", nan_v, 0.0, 1.0),
                    "latent::kl_divergence: eta = nan is out of range [0, 1]");
  CHECK_THROWS_WITH(latent::check_in_range(fn, "k", 7, 1, 5),
                    "latent::kl_divergence: k = 7 is out of range [1, 5]");
  Eigen::Array3d b(0.1, 0.2, 1.0);
  CHECK_THROWS_WITH(latent::check_in_range(fn, "betas", b, 1e-12, 0.999),
                    "latent::kl_divergence: betas[2] is 1, but must be in [1e-12, 0.999]");

  CHECK_NOTHROW(latent::check_probability(fn, "p", 0.0));
  CHECK_NOTHROW(latent::check_probability(fn, "p", 1.0f));
  CHECK_THROWS_AS(latent::check_probability(fn, "p", 1.0000001), std::domain_error);
  CHECK_THROWS_WITH(latent::check_probability(fn, "p", -0.5),
                    "latent::kl_divergence: p is -0.5, but must be a probability in [0, 1]");
  Eigen::Array2f p(0.5f, 2.0f);
  CHECK_THROWS_WITH(latent::check_probability(fn, "probs", p),
                    "latent::kl_divergence: probs[1] is 2, but must be a probability in [0, 1]");

  CHECK_NOTHROW(latent::check_index("latent::ddpm_step", "t", 999, 1000));
  CHECK_THROWS_AS(latent::check_index("latent::ddpm_step", "t", 1000, 1000), std::domain_error);
  CHECK_THROWS_WITH(latent::check_index("latent::ddpm_step", "t", 1000, 1000),
                    "latent::ddpm_step: t = 1000 is out of range [0, 999]");
  CHECK_THROWS_WITH(latent::check_index("latent::ddpm_step", "t", -1, 1000),
                    "latent::ddpm_step: t = -1 is out of range [0, 999]");
}

TEST_CASE("shape checks throw invalid_argument with both shapes", "[core][check]") {
  Eigen::MatrixXd a(3, 4), b(4, 3), c(3, 4);
  CHECK_NOTHROW(latent::check_same_shape(fn, "mu", a, "log_var", c));
  CHECK_THROWS_AS(latent::check_same_shape(fn, "mu", a, "log_var", b), std::invalid_argument);
  CHECK_THROWS_WITH(latent::check_same_shape(fn, "mu", a, "log_var", b),
                    "latent::kl_divergence: mu is 3 x 4 but log_var is 4 x 3; they must have "
                    "the same shape");
  CHECK_NOTHROW(latent::check_same_size(fn, "mu", a, "log_var", b));
  Eigen::VectorXd v(5);
  CHECK_THROWS_AS(latent::check_same_size(fn, "mu", a, "t", v), std::invalid_argument);
  CHECK_THROWS_WITH(latent::check_same_size(fn, "mu", a, "t", v),
                    "latent::kl_divergence: mu has 12 elements but t has 5; they must "
                    "have the same size");
  CHECK_NOTHROW(latent::check_rows(fn, "x", a, 3));
  CHECK_THROWS_WITH(latent::check_rows(fn, "x", a, 2),
                    "latent::kl_divergence: x has 3 rows, but must have 2");
  CHECK_NOTHROW(latent::check_cols(fn, "x", a, 4));
  CHECK_THROWS_WITH(latent::check_cols(fn, "x", a, 5),
                    "latent::kl_divergence: x has 4 columns, but must have 5");
  CHECK_NOTHROW(latent::check_size(fn, "t", v, 5));
  CHECK_THROWS_WITH(latent::check_size(fn, "t", v, 4),
                    "latent::kl_divergence: t has 5 elements, but must have 4");
  CHECK_THROWS_AS(latent::check_cols(fn, "x", a, 5), std::invalid_argument);
  Eigen::MatrixXd e(0, 3);
  CHECK_NOTHROW(latent::check_non_empty(fn, "x", a));
  CHECK_THROWS_AS(latent::check_non_empty(fn, "x", e), std::invalid_argument);
  CHECK_THROWS_WITH(latent::check_non_empty(fn, "x", e),
                    "latent::kl_divergence: x is empty (0 x 3), but must have at least one "
                    "element");
  CHECK_NOTHROW(latent::check_square(fn, "L", Eigen::MatrixXd(2, 2)));
  CHECK_THROWS_AS(latent::check_square(fn, "L", a), std::invalid_argument);
  CHECK_THROWS_WITH(latent::check_square(fn, "L", a),
                    "latent::kl_divergence: L is 3 x 4, but must be square");
}

TEST_CASE("checks accept every kind of Eigen expression", "[core][check]") {
  Eigen::ArrayXd v(6);
  v << 1, 2, 3, -4, 5, 6;
  // VectorBlock (head/tail/segment) derives from EigenBase<Block<...>>, not EigenBase<itself>.
  CHECK_NOTHROW(latent::check_positive(fn, "v", v.head(3)));
  CHECK_THROWS_WITH(latent::check_positive(fn, "v", v.segment(2, 3)),
                    "latent::kl_divergence: v[1] is -4, but must be positive and finite");
  CHECK_NOTHROW(latent::check_finite(fn, "v", v.tail(2)));
  Eigen::MatrixXd m = Eigen::MatrixXd::Ones(3, 3);
  CHECK_NOTHROW(latent::check_positive(fn, "m", m.col(1)));
  CHECK_NOTHROW(latent::check_positive(fn, "m", m.row(2).transpose()));
  CHECK_NOTHROW(latent::check_positive(fn, "m", Eigen::Map<Eigen::ArrayXd>(v.data(), 3)));
  static_assert(latent::is_eigen_v<decltype(v.head(3))>, "VectorBlock is an Eigen type");
  static_assert(!latent::is_eigen_v<double>, "double is not an Eigen type");
}

TEST_CASE("values are printed exactly (shortest round-trip)", "[core][check]") {
  CHECK(latent::detail::format_value(0.1) == "0.1");
  CHECK(latent::detail::format_value(1e-4) == "0.0001");
  CHECK(latent::detail::format_value(0.999) == "0.999");
  CHECK(latent::detail::format_value(1.0 / 3.0) == "0.3333333333333333");
  CHECK(latent::detail::format_value(-0.0) == "-0");
  CHECK(latent::detail::format_value(1e300) == "1e+300");
  // Subnormals print (found by the core_math fuzzer: std::stod threw out_of_range on them).
  CHECK(latent::detail::format_value(5e-324) == "4.94066e-324");
  CHECK_THROWS_WITH(latent::check_positive("latent::f", "x", -5e-324),
                    "latent::f: x is -4.94066e-324, but must be positive and finite");
}
