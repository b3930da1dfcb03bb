// Tests for latent/divergences/kl_full_gaussian.hpp and kl_monte_carlo.hpp.
// Spot values: tools/vae_reference.py, section "full" (torch.distributions.kl_divergence).
#include "latent/divergences/kl_full_gaussian.hpp"

#include <catch2/catch.hpp>
#include <cmath>

#include "distributions/gaussian_fixtures.hpp"
#include "distributions/vae_test_util.hpp"
#include "latent/divergences/kl_monte_carlo.hpp"

using Catch::Matchers::Contains;

namespace {
template <class S>
double tol() { return std::is_same<S, float>::value ? 5e-5 : 1e-12; }
#ifdef LATENT_SANITIZER_BUILD
constexpr Eigen::Index kDraws = 4000;
#else
constexpr Eigen::Index kDraws = 100000;
#endif
}  // namespace

TEMPLATE_TEST_CASE("full and low-rank KLs match torch", "[kl_full]", float, double) {
  using S = TestType;
  vae_test::full_fixture<S> f;
  latent::full_gaussian q(f.mu_q, f.l_q), p(f.mu_p, f.l_p);
  latent::standard_normal<S> n(3);
  CHECK(double(latent::kl_divergence(q, p)) == Approx(2.126402695558785).epsilon(tol<S>()));
  CHECK(double(latent::kl_divergence(q, n)) == Approx(1.086647618286246).epsilon(tol<S>()));
  latent::lowrank_gaussian lr(f.mu_q, f.w, f.d);
  latent::diag_gaussian<S> dp(f.dp_mu.array(), f.dp_lv.array());
  CHECK(double(latent::kl_divergence(lr, dp)) == Approx(0.9539533692767117).epsilon(tol<S>()));
  CHECK(double(latent::kl_divergence(lr, n)) == Approx(0.9539912329403069).epsilon(tol<S>()));
  CHECK(double(latent::kl_divergence(lr, p)) == Approx(2.1648734130282605).epsilon(tol<S>()));
}

TEMPLATE_TEST_CASE("KL(diag || full) matches torch per column", "[kl_full][kl_diag_full]", float,
                   double) {
  using S = TestType;
  using A = Eigen::Array<S, Eigen::Dynamic, Eigen::Dynamic>;
  vae_test::full_fixture<S> f;
  latent::full_gaussian<S> p(f.mu_p, f.l_p), q(f.mu_q, f.l_q);
  // DQ_MU, DQ_LV of tools/vae_reference.py (columns), torch.distributions.kl_divergence of a
  // MultivariateNormal with diagonal covariance against p, per column.
  const A mq = vae_test::from_cols<S>({{0.3, 1.0, 0.1}, {-0.2, 0.5, -0.6}});
  const A lvq = vae_test::from_cols<S>({{-0.5, 0.4, -1.0}, {0.2, 0.1, 0.3}});
  const latent::row_x<S> kl = latent::kl_divergence(latent::diag_gaussian<S>(mq, lvq), p);
  REQUIRE(kl.cols() == 2);
  CHECK(double(kl(0)) == Approx(0.5303953267927697).epsilon(tol<S>()));
  CHECK(double(kl(1)) == Approx(1.1985744331703256).epsilon(tol<S>()));
  // The mean-field approximation of q (same mean, diag(Sigma_q)) against q itself.
  const Eigen::Matrix<S, -1, 1> var = (f.l_q * f.l_q.transpose()).diagonal();
  const latent::row_x<S> mf = latent::kl_divergence(
      latent::diag_gaussian<S>(A(f.mu_q.array()), A(var.array().log())), q);
  CHECK(double(mf(0)) == Approx(1.104415801629076).epsilon(tol<S>()));
  // A diagonal p written as a full Gaussian: KL(p || p) = 0, and the diag || diag KL agrees.
  const Eigen::Matrix<S, -1, 1> sd = (Eigen::Matrix<S, -1, 1>(3) << S(0.9), S(1.1), S(0.7)).finished();
  latent::full_gaussian<S> pd(f.mu_p, Eigen::Matrix<S, -1, -1>(sd.asDiagonal()));
  const A lvp = A(sd.array().square().log());
  CHECK(std::abs(double(latent::kl_divergence(latent::diag_gaussian<S>(A(f.mu_p.array()), lvp), pd)(0))) <
        10 * tol<S>());
  const latent::row_x<S> kdd = latent::kl_divergence(
      latent::diag_gaussian<S>(mq, lvq),
      latent::diag_gaussian<S>(A(f.mu_p.array().replicate(1, 2)), A(lvp.replicate(1, 2))));
  const latent::row_x<S> kdf = latent::kl_divergence(latent::diag_gaussian<S>(mq, lvq), pd);
  CHECK(double((kdd - kdf).abs().maxCoeff()) < 10 * tol<S>());
}

TEMPLATE_TEST_CASE("KL(p, p) = 0 and KL >= 0 for the full and low-rank pairs", "[kl_full]", float,
                   double) {
  using S = TestType;
  vae_test::full_fixture<S> f;
  latent::full_gaussian q(f.mu_q, f.l_q), p(f.mu_p, f.l_p);
  CHECK(std::abs(double(latent::kl_divergence(q, q))) < 10 * tol<S>());
  CHECK(double(latent::kl_divergence(p, q)) > 0);
  latent::lowrank_gaussian lr(f.mu_q, f.w, f.d);
  // The low-rank q as a full Gaussian: KL(lr || its own dense form) = 0.
  auto dense = latent::full_gaussian<S>::from_covariance(f.mu_q, lr.covariance());
  CHECK(std::abs(double(latent::kl_divergence(lr, dense))) < 100 * tol<S>());
  // A low-rank q with W = 0 is diagonal: KL(q || diag with the same parameters) = 0.
  latent::lowrank_gaussian<S> diag_lr(f.mu_q, Eigen::Matrix<S, -1, -1>::Zero(3, 1), f.d);
  latent::diag_gaussian<S> same(f.mu_q.array(), f.d.array().log());
  CHECK(std::abs(double(latent::kl_divergence(diag_lr, same))) < 10 * tol<S>());
  std::srand(3);
  for (int rep = 0; rep < 10; ++rep) {
    const Eigen::Matrix<S, -1, 1> m = Eigen::Matrix<S, -1, 1>::Random(3);
    Eigen::Matrix<S, -1, -1> l = Eigen::Matrix<S, -1, -1>::Random(3, 3).template triangularView<Eigen::Lower>();
    l.diagonal() = l.diagonal().cwiseAbs().array() + S(0.2);
    latent::full_gaussian<S> r(m, l);
    CHECK(double(latent::kl_divergence(r, q)) > 0);
    CHECK(double(latent::kl_divergence(lr, r)) > 0);
  }
}

TEST_CASE("closed-form KLs equal the Monte Carlo estimate within 5 standard errors",
          "[kl_full][kl_monte_carlo][stat]") {
  vae_test::full_fixture<double> f;
  latent::philox4x32 engine(2718);
  latent::full_gaussian<double> q(f.mu_q, f.l_q), p(f.mu_p, f.l_p);
  latent::lowrank_gaussian<double> lr(f.mu_q, f.w, f.d);
  latent::diag_gaussian<double> dp(f.dp_mu.array(), f.dp_lv.array());
  latent::standard_normal<double> n(3);
  auto check = [&](double exact, const latent::monte_carlo_estimate<double>& mc, const char* what) {
    INFO(what << ": exact " << exact << ", Monte Carlo " << mc.mean(0) << " +- " << mc.std_error(0));
    CHECK(mc.std_error(0) > 0);
    CHECK(std::abs(mc.mean(0) - exact) < 5 * mc.std_error(0));
  };
  check(latent::kl_divergence(q, p), latent::kl_monte_carlo(q, p, kDraws, engine), "full || full");
  check(latent::kl_divergence(q, n), latent::kl_monte_carlo(q, n, kDraws, engine), "full || N(0, I)");
  check(latent::kl_divergence(lr, dp), latent::kl_monte_carlo(lr, dp, kDraws, engine), "lowrank || diag");
  check(latent::kl_divergence(lr, n), latent::kl_monte_carlo(lr, n, kDraws, engine), "lowrank || N(0, I)");
  check(latent::kl_divergence(lr, p), latent::kl_monte_carlo(lr, p, kDraws, engine), "lowrank || full");
  // Diagonal pairs, per column: B = 2 columns at once.
  const Eigen::ArrayXXd mq = Eigen::ArrayXXd::Random(4, 2), lq = Eigen::ArrayXXd::Random(4, 2);
  const Eigen::ArrayXXd mp = Eigen::ArrayXXd::Random(4, 2), lp = Eigen::ArrayXXd::Random(4, 2);
  latent::diag_gaussian<double> dq(mq, lq), dpp(mp, lp);
  const auto mc = latent::kl_monte_carlo(dq, dpp, kDraws, engine);
  const Eigen::ArrayXXd exact = latent::kl_divergence(dq, dpp);
  for (int j = 0; j < 2; ++j) CHECK(std::abs(mc.mean(j) - exact(j)) < 5 * mc.std_error(j));
  const auto mc0 = latent::kl_monte_carlo(dq, latent::standard_normal<double>(4), kDraws, engine);
  const Eigen::ArrayXXd exact0 = latent::kl_divergence(dq, latent::standard_normal<double>(4));
  for (int j = 0; j < 2; ++j) CHECK(std::abs(mc0.mean(j) - exact0(j)) < 5 * mc0.std_error(j));
  // KL(diag || full), per column, against a 4-dimensional full p.
  Eigen::MatrixXd l4 = Eigen::MatrixXd::Identity(4, 4) * 1.3;
  l4.bottomLeftCorner(3, 3).diagonal() << 0.4, -0.3, 0.2;
  const latent::full_gaussian<double> p4(Eigen::VectorXd::LinSpaced(4, -0.5, 0.5), l4);
  const auto mcf = latent::kl_monte_carlo(dq, p4, kDraws, engine);
  const Eigen::ArrayXXd exactf = latent::kl_divergence(dq, p4);
  for (int j = 0; j < 2; ++j) {
    INFO("diag || full column " << j << ": exact " << exactf(j) << ", Monte Carlo " << mcf.mean(j));
    CHECK(mcf.std_error(j) > 0);
    CHECK(std::abs(mcf.mean(j) - exactf(j)) < 5 * mcf.std_error(j));
  }
  // The noise-taking overload: identical to drawing by hand.
  latent::philox4x32 a(5), b(5);
  std::vector<Eigen::ArrayXXd> draws;
  for (int i = 0; i < 10; ++i) draws.push_back(latent::sample(q, b));
  const auto x = latent::kl_monte_carlo(q, p, 10, a), y = latent::kl_monte_carlo(q, p, draws);
  CHECK(x.mean(0) == y.mean(0));
  CHECK(x.std_error(0) == y.std_error(0));
  const auto one = latent::kl_monte_carlo(q, p, 1, a);
  CHECK(one.std_error(0) == 0);
}

TEST_CASE("full and Monte Carlo KLs validate their arguments", "[kl_full]") {
  vae_test::full_fixture<double> f;
  latent::full_gaussian<double> q(f.mu_q, f.l_q);
  latent::full_gaussian<double> p2(Eigen::VectorXd::Zero(2), Eigen::MatrixXd::Identity(2, 2));
  CHECK_THROWS_AS(latent::kl_divergence(q, p2), std::invalid_argument);
  CHECK_THROWS_WITH(latent::kl_divergence(q, p2),
                    Contains("latent::kl_divergence(full_gaussian, full_gaussian): q.mean has 3 rows, but must have 2"));
  CHECK_THROWS_WITH(latent::kl_divergence(q, latent::standard_normal<double>(4)),
                    Contains("latent::kl_divergence(full_gaussian, standard_normal): q.mean has 3 rows, but must have 4"));
  latent::lowrank_gaussian<double> lr(f.mu_q, f.w, f.d);
  latent::diag_gaussian<double> batch2(Eigen::ArrayXXd::Zero(3, 2), Eigen::ArrayXXd::Zero(3, 2));
  CHECK_THROWS_WITH(latent::kl_divergence(lr, batch2),
                    Contains("latent::kl_divergence(lowrank_gaussian, diag_gaussian): p.mean has 2 columns, but must have 1"));
  CHECK_THROWS_WITH(latent::kl_divergence(lr, latent::standard_normal<double>(2)),
                    Contains("latent::kl_divergence(lowrank_gaussian, standard_normal): q.mean has 3 rows, but must have 2"));
  CHECK_THROWS_WITH(latent::kl_divergence(lr, p2),
                    Contains("latent::kl_divergence(lowrank_gaussian, full_gaussian): q.mean has 3 rows, but must have 2"));
  latent::philox4x32 engine(1);
  CHECK_THROWS_AS(latent::kl_monte_carlo(q, q, 0, engine), std::invalid_argument);
  CHECK_THROWS_WITH(latent::kl_monte_carlo(q, q, 0, engine),
                    Contains("latent::kl_monte_carlo: draws = 0, but must be at least 1"));
  CHECK_THROWS_WITH(latent::kl_monte_carlo(q, q, std::vector<Eigen::ArrayXXd>{}),
                    Contains("latent::kl_monte_carlo: samples is empty"));
}

TEST_CASE("KL VJPs of the full and low-rank pairs match AutoDiffScalar and finite differences",
          "[kl_full][grad]") {
  using vae_test::arr;
  using vae_test::tril;
  using vae_test::vec;
  vae_test::full_fixture<double> f;
  const double g = 0.8;
  const arr mq = f.mu_q, lq = f.l_q.array(), mp = f.mu_p, lp = f.l_p.array();
  const arr w = f.w.array(), ld = f.d.array().log(), dmu = f.dp_mu, dlv = f.dp_lv;
  const latent::full_gaussian<double> q(f.mu_q, f.l_q), p(f.mu_p, f.l_p);
  const latent::lowrank_gaussian<double> r(f.mu_q, f.w, f.d);
  auto lowrank = [](const auto& m, const auto& wf, const auto& logd) {
    using S = typename std::decay_t<decltype(m)>::Scalar;
    return latent::lowrank_gaussian<S>(vec(m), wf.matrix(), vec(logd.exp()));
  };
  int block = 0;
  auto check = [&block](const vae_test::grad_errors& e) {
    ++block;
    INFO("block " << block << " ad " << e.ad << " fd " << e.fd);
    CHECK(e.ad < 1e-12);
    CHECK(e.fd < 1e-7);
  };
  {  // full || full
    const auto d = latent::kl_divergence_vjp(q, p, g);
    check(vae_test::grad_check(
        {arr(d.q.mean), arr(d.q.scale_tril), arr(d.p.mean), arr(d.p.scale_tril)}, {mq, lq, mp, lp},
        [&](const auto& v) {
          using S = typename std::decay_t<decltype(v[0])>::Scalar;
          return S(g * latent::kl_divergence(latent::full_gaussian<S>(vec(v[0]), tril(v[1])),
                                              latent::full_gaussian<S>(vec(v[2]), tril(v[3]))));
        }));
  }
  {  // full || N(0, I)
    const auto d = latent::kl_divergence_vjp(q, latent::standard_normal<double>(3), g);
    CHECK(d.p.mean.size() == 0);
    check(vae_test::grad_check({arr(d.q.mean), arr(d.q.scale_tril)}, {mq, lq}, [&](const auto& v) {
      using S = typename std::decay_t<decltype(v[0])>::Scalar;
      return S(g * latent::kl_divergence(latent::full_gaussian<S>(vec(v[0]), tril(v[1])),
                                          latent::standard_normal<S>(3)));
    }));
  }
  {  // low rank || diag
    const latent::diag_gaussian<double> dp(dmu, dlv);
    const auto d = latent::kl_divergence_vjp(r, dp, g);
    check(vae_test::grad_check({arr(d.q.mean), arr(d.q.cov_factor), arr(d.q.log_cov_diag), d.p.mean,
                                d.p.log_var},
                               {mq, w, ld, dmu, dlv}, [&](const auto& v) {
                                 using S = typename std::decay_t<decltype(v[0])>::Scalar;
                                 return S(g * latent::kl_divergence(lowrank(v[0], v[1], v[2]),
                                                                     latent::diag_gaussian<S>(v[3], v[4])));
                               }));
  }
  {  // low rank || N(0, I)
    const auto d = latent::kl_divergence_vjp(r, latent::standard_normal<double>(3), g);
    check(vae_test::grad_check({arr(d.q.mean), arr(d.q.cov_factor), arr(d.q.log_cov_diag)}, {mq, w, ld},
                               [&](const auto& v) {
                                 using S = typename std::decay_t<decltype(v[0])>::Scalar;
                                 return S(g * latent::kl_divergence(lowrank(v[0], v[1], v[2]),
                                                                     latent::standard_normal<S>(3)));
                               }));
  }
  {  // low rank || full
    const auto d = latent::kl_divergence_vjp(r, p, g);
    check(vae_test::grad_check(
        {arr(d.q.mean), arr(d.q.cov_factor), arr(d.q.log_cov_diag), arr(d.p.mean), arr(d.p.scale_tril)},
        {mq, w, ld, mp, lp}, [&](const auto& v) {
          using S = typename std::decay_t<decltype(v[0])>::Scalar;
          return S(g * latent::kl_divergence(lowrank(v[0], v[1], v[2]),
                                              latent::full_gaussian<S>(vec(v[3]), tril(v[4]))));
        }));
  }
  {  // diag (B = 2 columns) || full, upstream row
    const arr qm = (arr(3, 2) << 0.3, -0.2, 1.0, 0.5, 0.1, -0.6).finished();
    const arr qlv = (arr(3, 2) << -0.5, 0.2, 0.4, 0.1, -1.0, 0.3).finished();
    const arr g_row = (arr(1, 2) << 0.7, -1.3).finished();
    const auto d = latent::kl_divergence_vjp(latent::diag_gaussian<double>(qm, qlv), p, g_row);
    check(vae_test::grad_check(
        {d.q.mean, d.q.log_var, arr(d.p.mean), arr(d.p.scale_tril)}, {qm, qlv, mp, lp},
        [&](const auto& v) {
          using S = typename std::decay_t<decltype(v[0])>::Scalar;
          return S((latent::kl_divergence(latent::diag_gaussian<S>(v[0], v[1]),
                                          latent::full_gaussian<S>(vec(v[2]), tril(v[3]))) *
                    g_row.cast<S>())
                       .sum());
        }));
    // torch.autograd through torch.distributions.kl_divergence (tools/vae_reference.py, "full").
    const arr t_mq = vae_test::from_cols({{0.4962175871266781, 0.45953036862127766, -0.43578643578643583},
                                          {-0.19083850252681425, -0.5425498022900621, 2.0768913626056484}});
    const arr t_lvq = vae_test::from_cols({{-0.06648026794665034, 0.16077823177800282, -0.08722897059182688},
                                           {-0.41031459493836836, -0.0527313815390777, -1.140629030457963}});
    const arr t_mp = (arr(3, 1) << -0.30537908459986385, 0.08301943366878445, -1.6411049268192126).finished();
    const arr t_lp = (arr(3, 3) << 0.8177987118518723, 0, 0, 0.09638659621903894, -0.38780142322243716, 0,
                      -0.028500105471023662, -0.005669317709846244, 5.826001792093587)
                         .finished();
    CHECK(vae_test::max_abs_diff(d.q.mean, t_mq) < 1e-12);
    CHECK(vae_test::max_abs_diff(d.q.log_var, t_lvq) < 1e-12);
    CHECK(vae_test::max_abs_diff(arr(d.p.mean), t_mp) < 1e-12);
    CHECK(vae_test::max_abs_diff(arr(d.p.scale_tril), t_lp) < 1e-12);
  }
  {  // float agrees with double
    vae_test::full_fixture<float> ff;
    const latent::full_gaussian<float> qf(ff.mu_q, ff.l_q), pf(ff.mu_p, ff.l_p);
    const auto dd = latent::kl_divergence_vjp(q, p, g);
    const auto df = latent::kl_divergence_vjp(qf, pf, float(g));
    CHECK((df.p.scale_tril.cast<double>() - dd.p.scale_tril).cwiseAbs().maxCoeff() < 5e-5);
    CHECK((df.q.scale_tril.cast<double>() - dd.q.scale_tril).cwiseAbs().maxCoeff() < 5e-5);
    const latent::lowrank_gaussian<float> rf(ff.mu_q, ff.w, ff.d);
    const auto ld_ = latent::kl_divergence_vjp(r, p, g);
    const auto lf = latent::kl_divergence_vjp(rf, pf, float(g));
    CHECK((lf.q.cov_factor.cast<double>() - ld_.q.cov_factor).cwiseAbs().maxCoeff() < 5e-5);
    CHECK((lf.p.scale_tril.cast<double>() - ld_.p.scale_tril).cwiseAbs().maxCoeff() < 5e-5);
  }
  // Every check of the gradient functions and of KL(diag || full): exception type and message.
  const latent::full_gaussian<double> p2(Eigen::VectorXd::Zero(2), Eigen::MatrixXd::Identity(2, 2));
  CHECK_THROWS_AS(latent::kl_divergence_vjp(q, p2, g), std::invalid_argument);
  CHECK_THROWS_WITH(latent::kl_divergence_vjp(q, p2, g),
                    Contains("latent::kl_divergence_vjp(full_gaussian, full_gaussian): q.mean has 3 rows, but must have 2"));
  CHECK_THROWS_AS(latent::kl_divergence_vjp(q, latent::standard_normal<double>(2), g), std::invalid_argument);
  CHECK_THROWS_WITH(latent::kl_divergence_vjp(q, latent::standard_normal<double>(2), g),
                    Contains("latent::kl_divergence_vjp(full_gaussian, standard_normal): q.mean has 3 rows, but must have 2"));
  const latent::diag_gaussian<double> dp2(arr::Zero(2, 1), arr::Zero(2, 1)), dp_b2(arr::Zero(3, 2), arr::Zero(3, 2));
  CHECK_THROWS_AS(latent::kl_divergence_vjp(r, dp2, g), std::invalid_argument);
  CHECK_THROWS_WITH(latent::kl_divergence_vjp(r, dp2, g),
                    Contains("latent::kl_divergence_vjp(lowrank_gaussian, diag_gaussian): p.mean has 2 rows, but must have 3"));
  CHECK_THROWS_AS(latent::kl_divergence_vjp(r, dp_b2, g), std::invalid_argument);
  CHECK_THROWS_WITH(latent::kl_divergence_vjp(r, dp_b2, g),
                    Contains("latent::kl_divergence_vjp(lowrank_gaussian, diag_gaussian): p.mean has 2 columns, but must have 1"));
  CHECK_THROWS_AS(latent::kl_divergence_vjp(r, latent::standard_normal<double>(4), g), std::invalid_argument);
  CHECK_THROWS_WITH(latent::kl_divergence_vjp(r, latent::standard_normal<double>(4), g),
                    Contains("latent::kl_divergence_vjp(lowrank_gaussian, standard_normal): q.mean has 3 rows, but must have 4"));
  CHECK_THROWS_AS(latent::kl_divergence_vjp(r, p2, g), std::invalid_argument);
  CHECK_THROWS_WITH(latent::kl_divergence_vjp(r, p2, g),
                    Contains("latent::kl_divergence_vjp(lowrank_gaussian, full_gaussian): q.mean has 3 rows, but must have 2"));
  const latent::diag_gaussian<double> dq2(arr::Zero(2, 2), arr::Zero(2, 2));
  CHECK_THROWS_AS(latent::kl_divergence(dq2, p), std::invalid_argument);
  CHECK_THROWS_WITH(latent::kl_divergence(dq2, p),
                    Contains("latent::kl_divergence(diag_gaussian, full_gaussian): q.mean has 2 rows, but must have 3"));
  CHECK_THROWS_AS(latent::kl_divergence_vjp(dq2, p, arr::Ones(1, 2)), std::invalid_argument);
  CHECK_THROWS_WITH(latent::kl_divergence_vjp(dq2, p, arr::Ones(1, 2)),
                    Contains("latent::kl_divergence_vjp(diag_gaussian, full_gaussian): q.mean has 2 rows, but must have 3"));
  CHECK_THROWS_AS(latent::kl_divergence_vjp(latent::diag_gaussian<double>(arr::Zero(3, 2), arr::Zero(3, 2)), p,
                                            arr::Ones(2, 2)),
                  std::invalid_argument);
  CHECK_THROWS_WITH(latent::kl_divergence_vjp(latent::diag_gaussian<double>(arr::Zero(3, 2), arr::Zero(3, 2)), p,
                                              arr::Ones(2, 2)),
                    Contains("latent::kl_divergence_vjp(diag_gaussian, full_gaussian): grad has 2 rows, but must have 1"));
  CHECK_THROWS_AS(latent::kl_divergence_vjp(latent::diag_gaussian<double>(arr::Zero(3, 2), arr::Zero(3, 2)), p,
                                            arr::Ones(1, 3)),
                  std::invalid_argument);
  CHECK_THROWS_WITH(latent::kl_divergence_vjp(latent::diag_gaussian<double>(arr::Zero(3, 2), arr::Zero(3, 2)), p,
                                              arr::Ones(1, 3)),
                    Contains("latent::kl_divergence_vjp(diag_gaussian, full_gaussian): grad has 3 columns, but must have 2"));
}
