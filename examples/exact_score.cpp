// examples/exact_score.cpp: every sampler of latent against the number of steps, driven by the
// closed-form score and denoiser of a 2-D Gaussian mixture (no training, so every error is the
// sampler's own discretization error plus sampling noise).
//
//   ./exact_score [output-folder]          (default: out/exact_score)
//
// Data: the demo's three-component mixture (examples/common/gmm.hpp, three_blobs). Noised at
// x = a x0 + s eps it stays a mixture, with exact E[x0|x], eps_hat and score (gmm.hpp's
// formulas, evaluated here column-vectorized).
// Samplers (all from latent):
//   DDPM (ddpm_step) and DDIM (ddim_step, eta = 0) on the linear-beta schedule, T = 1000,
//     trailing timestep spacing;
//   Euler, Euler ancestral, Heun, DPM-Solver++(2M) (sample_*) on Karras sigmas in [0.002, 80];
//   probability-flow ODE, reverse-SDE Euler-Maruyama, and predictor-corrector (reverse diffusion
//     + one Langevin corrector step, snr 0.16) on the VP SDE (pc_sample);
//   annealed Langevin dynamics (annealed_langevin, 10 geometric levels from 10 to 0.01);
//   unadjusted Langevin (langevin_dynamics) and MALA (mala_chains) on the clean density. They
//     cannot cross between modes in these step counts, so their chains start in the right mode
//     (weights exact) with a 3x too wide spread: they measure within-mode convergence.
// Accuracy: energy distance (Szekely & Rizzo 2013) between 2000 samples and 2000 exact samples,
// beside the same distance between two exact samples (the yardstick, ~ the noise floor).
// For the deterministic ODE solvers in sigma space (Euler, Heun, DPM-Solver++(2M)) it also
// measures the discretization error without sampling noise: the RMS distance of each sample to
// the exact probability-flow solution from the same starting noise.
// Verdict: every sampler at its largest step count (500) within 0.01 of the yardstick (moving 5%
// of the mass between two modes 4 apart costs about 2 * 0.05^2 * 4 = 0.02), and Heun and
// DPM-Solver++(2M) closer to the exact ODE solution than Euler at 10 and 20 steps, with an
// observed order above 1.5 between 50 and 200 steps.
#include <Eigen/Dense>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "common/data.hpp"
#include "common/gmm.hpp"
#include "common/progress.hpp"
#include "common/svg.hpp"
#include "latent/diffusion/ddim.hpp"
#include "latent/diffusion/ddpm.hpp"
#include "latent/diffusion/schedule.hpp"
#include "latent/diffusion/sigma_schedules.hpp"
#include "latent/diffusion/timesteps.hpp"
#include "latent/random/noise.hpp"
#include "latent/score/langevin.hpp"
#include "latent/score/samplers.hpp"
#include "latent/score/sde.hpp"

namespace {

using arr = Eigen::ArrayXXd;
using row = Eigen::Array<double, 1, Eigen::Dynamic>;

// The mixture's exact posterior quantities for x = a x0 + s eps, vectorized over columns.
struct exact_mixture {
  examples::gmm g;

  // Posterior weights r_k(x) (K x n).
  arr responsibilities(const arr& x, double a, double s) const {
    const Eigen::Index K = g.components(), n = x.cols();
    arr logit(K, n);
    for (Eigen::Index k = 0; k < K; ++k) {
      const double v = a * a * g.stds(k) * g.stds(k) + s * s;
      const arr d = x.colwise() - (a * g.means.col(k)).array();
      // D = 2, so -D/2 log v = -log v.
      logit.row(k) = std::log(g.weights(k)) - std::log(v) - 0.5 * d.square().colwise().sum() / v;
    }
    const row mx = logit.colwise().maxCoeff();
    arr r = (logit.rowwise() - mx).exp();
    const row total = r.colwise().sum();
    r.rowwise() /= total;
    return r;
  }
  // E[x0 | x] into out.
  void denoise(const arr& x, double a, double s, arr& out) const {
    const arr r = responsibilities(x, a, s);
    out.setZero(x.rows(), x.cols());
    for (Eigen::Index k = 0; k < g.components(); ++k) {
      const double c2 = g.stds(k) * g.stds(k), v = a * a * c2 + s * s;
      const arr mk = g.means.col(k).array().replicate(1, x.cols());
      out += (mk + (a * c2 / v) * (x - a * mk)).rowwise() * r.row(k);
    }
  }
  void epsilon(const arr& x, double a, double s, arr& out) const {
    denoise(x, a, s, out);
    out = (x - a * out) / s;
  }
  // grad log p_a,s(x) = (a E[x0|x] - x) / s^2 generalizes to s = 0 through the components:
  // sum_k r_k (a mu_k - x) / v_k.
  void score(const arr& x, double a, double s, arr& out) const {
    const arr r = responsibilities(x, a, s);
    out.setZero(x.rows(), x.cols());
    for (Eigen::Index k = 0; k < g.components(); ++k) {
      const double v = a * a * g.stds(k) * g.stds(k) + s * s;
      out += ((-(x.colwise() - (a * g.means.col(k)).array())) / v).rowwise() * r.row(k);
    }
  }
  void log_density(const arr& x, row& out) const {  // clean density (a = 1, s = 0)
    const Eigen::Index K = g.components();
    arr lp(K, x.cols());
    for (Eigen::Index k = 0; k < K; ++k) {
      const double v = g.stds(k) * g.stds(k);
      lp.row(k) = std::log(g.weights(k)) - std::log(2 * M_PI * v) -
                  0.5 * (x.colwise() - g.means.col(k).array()).square().colwise().sum() / v;
    }
    const row mx = lp.colwise().maxCoeff();
    out = mx + (lp.rowwise() - mx).exp().colwise().sum().log();
  }
};

struct sampler {
  std::string name;
  std::function<void(arr&, Eigen::Index, latent::philox4x32&)> run;  // fills x (2 x n)
  int evals_per_step;
  Eigen::Index min_steps = 1;  // fewer steps are invalid for this sampler (not run)
};

}  // namespace

int main(int argc, char** argv) {
  const std::string out_dir = argc > 1 ? argv[1] : "out/exact_score";
  std::filesystem::create_directories(out_dir);
  const auto t_start = std::chrono::steady_clock::now();
  std::printf("latent exact_score: every sampler with the exact score of a 2-D Gaussian mixture, "
              "figures in %s\n", out_dir.c_str());
  const exact_mixture mix{examples::three_blobs()};
  const Eigen::Index n = 2000;
  latent::philox4x32 engine(1234);
  const Eigen::MatrixXf reference = mix.g.sample(n, engine);
  const double yard = examples::energy_distance(mix.g.sample(n, engine), reference);
  const std::vector<Eigen::Index> steps = {5, 10, 20, 50, 100, 200, 500};

  const latent::noise_schedule schedule(latent::linear_betas(1000));
  const latent::vp_sde vp;
  auto karras = [](Eigen::Index N) { return latent::sigmas_karras(N, 0.002, 80.0); };
  auto denoiser = [&](const arr& x, double sigma, arr& out) { mix.denoise(x, 1.0, sigma, out); };
  auto vp_score = [&](const arr& x, double t, arr& out) {
    mix.score(x, vp.mean_coeff(t), vp.marginal_std(t), out);
  };
  auto pc = [&](latent::pc_predictor p, Eigen::Index corrector) {
    return [&, p, corrector](arr& x, Eigen::Index N, latent::philox4x32& e) {
      latent::pc_options o;
      o.steps = N;
      o.predictor = p;
      o.corrector_steps = corrector;
      o.norm = latent::corrector_norm::batch_mean;  // D = 2: see langevin_corrector_step
      latent::pc_sample(vp, vp_score, x, o, e);
    };
  };
  // Langevin chains on the clean density start in the right mode, 3x too wide.
  auto start_in_modes = [&](arr& x, latent::philox4x32& e) {
    const Eigen::ArrayXd u = latent::rand_uniform<Eigen::ArrayXd>(x.cols(), 1, e);
    const arr z = latent::randn<arr>(2, x.cols(), e);
    for (Eigen::Index i = 0; i < x.cols(); ++i) {
      Eigen::Index k = 0;
      double c = mix.g.weights(0);
      while (u(i) > c && k + 1 < mix.g.components()) c += mix.g.weights(++k);
      x.col(i) = mix.g.means.col(k).array() + 3 * mix.g.stds(k) * z.col(i);
    }
  };
  auto clean_score = [&](const arr& x, arr& out) { mix.score(x, 1.0, 0.0, out); };
  auto clean_log_prob = [&](const arr& x, row& out) { mix.log_density(x, out); };

  std::vector<sampler> samplers = {
      {"DDPM", [&](arr& x, Eigen::Index N, latent::philox4x32& e) {
         const auto ts = latent::inference_timesteps(1000, N, latent::timestep_spacing::trailing);
         latent::fill_randn(x, e);
         arr eps(2, x.cols());
         for (std::size_t i = 0; i < ts.size(); ++i) {
           const double ab = schedule.alpha_bar()(ts[i]);
           mix.epsilon(x, std::sqrt(ab), std::sqrt(1 - ab), eps);
           latent::ddpm_step(schedule, latent::ddpm_options{}, ts[i], latent::previous_timestep(ts, i), x, eps, x, e);
         }
       }, 1},
      {"DDIM (eta = 0)", [&](arr& x, Eigen::Index N, latent::philox4x32& e) {
         const auto ts = latent::inference_timesteps(1000, N, latent::timestep_spacing::trailing);
         latent::fill_randn(x, e);
         arr eps(2, x.cols());
         for (std::size_t i = 0; i < ts.size(); ++i) {
           const double ab = schedule.alpha_bar()(ts[i]);
           mix.epsilon(x, std::sqrt(ab), std::sqrt(1 - ab), eps);
           latent::ddim_step(schedule, latent::ddim_options{}, ts[i], latent::previous_timestep(ts, i), x, eps, x);
         }
       }, 1},
      {"Euler", [&](arr& x, Eigen::Index N, latent::philox4x32& e) {
         const Eigen::ArrayXd s = karras(N);
         x = latent::randn_like(x, e) * s(0);
         latent::sample_euler(denoiser, x, s);
       }, 1},
      {"Euler ancestral", [&](arr& x, Eigen::Index N, latent::philox4x32& e) {
         const Eigen::ArrayXd s = karras(N);
         x = latent::randn_like(x, e) * s(0);
         latent::sample_euler_ancestral(denoiser, x, s, e);
       }, 1},
      {"Heun", [&](arr& x, Eigen::Index N, latent::philox4x32& e) {
         const Eigen::ArrayXd s = karras(N);
         x = latent::randn_like(x, e) * s(0);
         latent::sample_heun(denoiser, x, s);
       }, 2},
      {"DPM-Solver++(2M)", [&](arr& x, Eigen::Index N, latent::philox4x32& e) {
         const Eigen::ArrayXd s = karras(N);
         x = latent::randn_like(x, e) * s(0);
         latent::sample_dpmpp_2m(denoiser, x, s);
       }, 1},
      {"prob. flow ODE (VP)", pc(latent::pc_predictor::probability_flow, 0), 1},
      {"reverse SDE E-M (VP)", pc(latent::pc_predictor::euler_maruyama, 0), 1},
      // The VP corrector's alpha = 1 - beta(t) dt (score_sde) is negative below beta_max = 20 steps.
      {"PC: rev. diff.+Langevin", pc(latent::pc_predictor::reverse_diffusion, 1), 2, 50},
      {"annealed Langevin", [&](arr& x, Eigen::Index N, latent::philox4x32& e) {
         const Eigen::Index levels = std::min<Eigen::Index>(N, 10);
         const Eigen::ArrayXd s = latent::sigmas_geometric(levels, 0.01, 10.0);
         x = latent::randn_like(x, e) * 10.0;
         latent::annealed_langevin([&](const arr& xs, double sigma, arr& out) { mix.score(xs, 1.0, sigma, out); },
                                   x, s, 5e-5, N / levels, true, e);
       }, 1},
      {"ULA (clean, tau 0.005)", [&](arr& x, Eigen::Index N, latent::philox4x32& e) {
         start_in_modes(x, e);
         latent::langevin_dynamics(clean_score, x, 0.005, N, e);
       }, 1},
      {"MALA (clean, tau 0.02)", [&](arr& x, Eigen::Index N, latent::philox4x32& e) {
         start_in_modes(x, e);
         latent::mala_chains<arr> chains(clean_log_prob, clean_score, x);
         for (Eigen::Index i = 0; i < N; ++i) chains.step(clean_log_prob, clean_score, 0.02, e);
         x = chains.state();
       }, 1},
  };

  std::vector<std::vector<double>> err(samplers.size());
  long total_steps = 0;
  for (const auto& s : samplers)
    for (auto N : steps)
      if (N >= s.min_steps) total_steps += long(N * s.evals_per_step);
  examples::progress bar("sampling", total_steps);
  long done = 0;
  for (std::size_t i = 0; i < samplers.size(); ++i) {
    for (auto N : steps) {
      if (N < samplers[i].min_steps) {
        err[i].push_back(std::numeric_limits<double>::quiet_NaN());
        continue;
      }
      arr x(2, n);
      samplers[i].run(x, N, engine);
      err[i].push_back(examples::energy_distance(x.cast<float>().matrix(), reference));
      done += long(N * samplers[i].evals_per_step);
      bar.update(done, samplers[i].name);
    }
  }

  std::printf("\n  energy distance to %ld exact samples (yardstick: two exact samples score %.5f)\n",
              long(n), yard);
  std::printf("  %-25s", "sampler \\ steps");
  for (auto N : steps) std::printf(" %8ld", long(N));
  std::printf("   verdict at %ld\n", long(steps.back()));
  bool pass = true;
  const double tolerance = 0.01;
  for (std::size_t i = 0; i < samplers.size(); ++i) {
    std::printf("  %-25s", samplers[i].name.c_str());
    for (double v : err[i]) std::isfinite(v) ? std::printf(" %8.4f", v) : std::printf(" %8s", "-");
    const bool ok = err[i].back() <= yard + tolerance;
    pass = pass && ok;
    std::printf("   %s\n", ok ? "ok" : "TOO FAR");
  }
  // Discretization error of the deterministic sigma-space solvers, free of sampling noise: RMS
  // distance per sample to the exact ODE solution from the same starting noise (Heun with 2000
  // steps, itself converged to ~1e-6), on the same Karras grids.
  const arr start = latent::randn<arr>(2, n, engine) * 80.0;
  arr exact_flow = start;
  latent::sample_heun(denoiser, exact_flow, karras(2000));
  const std::vector<std::string> ode_names = {"Euler", "Heun", "DPM-Solver++(2M)"};
  std::vector<std::vector<double>> ode_err(ode_names.size());
  for (std::size_t i = 0; i < ode_names.size(); ++i) {
    for (auto N : steps) {
      arr x = start;
      const Eigen::ArrayXd sg = karras(N);
      if (i == 0) latent::sample_euler(denoiser, x, sg);
      if (i == 1) latent::sample_heun(denoiser, x, sg);
      if (i == 2) latent::sample_dpmpp_2m(denoiser, x, sg);
      ode_err[i].push_back(std::sqrt((x - exact_flow).square().colwise().sum().mean()));
    }
  }
  std::printf("\n  ODE solvers: RMS distance to the exact probability-flow solution from the same noise\n");
  std::printf("  %-25s", "solver \\ steps");
  for (auto N : steps) std::printf(" %8ld", long(N));
  std::printf("\n");
  for (std::size_t i = 0; i < ode_names.size(); ++i) {
    std::printf("  %-25s", ode_names[i].c_str());
    for (double v : ode_err[i]) std::printf(" %8.1e", v);
    std::printf("\n");
  }
  bool second_order_ok = true;
  for (std::size_t j : {std::size_t(1), std::size_t(2)}) {  // 10 and 20 steps
    const bool ok = ode_err[1][j] < ode_err[0][j] && ode_err[2][j] < ode_err[0][j];
    second_order_ok = second_order_ok && ok;
    std::printf("  at %ld steps: Euler %.2e, Heun %.2e, DPM-Solver++(2M) %.2e  %s\n", long(steps[j]),
                ode_err[0][j], ode_err[1][j], ode_err[2][j], ok ? "second order wins" : "SECOND ORDER LOSES");
  }
  // Observed order between 50 and 200 steps: the slope of log error against log steps; the
  // second-order solvers must show at least 1.5.
  std::vector<double> order;
  for (std::size_t i = 0; i < ode_names.size(); ++i) {
    order.push_back(std::log(ode_err[i][3] / ode_err[i][5]) / std::log(200.0 / 50.0));
    std::printf("  observed order of %-17s %.2f (50 -> 200 steps)\n", ode_names[i].c_str(), order.back());
  }
  second_order_ok = second_order_ok && order[1] > 1.5 && order[2] > 1.5;
  pass = pass && second_order_ok;

  // Figures: error vs steps (log-log), and samples of a few samplers at 20 steps.
  examples::panel p;
  p.title = "all samplers: energy distance to exact samples";
  p.xlabel = "steps";
  p.ylabel = "energy distance";
  p.log_x = p.log_y = true;
  std::vector<double> xs(steps.begin(), steps.end());
  for (std::size_t i = 0; i < samplers.size(); ++i) {
    examples::series s{samplers[i].name, xs, err[i], examples::palette(i), true};
    if (i >= 8) s.color = i == 8 ? "#000000" : i == 9 ? "#bcbd22" : i == 10 ? "#7f7f7f" : "#aec7e8";
    p.data.push_back(s);
  }
  p.data.push_back({"yardstick", {xs.front(), xs.back()}, {yard, yard}, "#cccccc", true});
  examples::panel q = p;
  q.title = "DDPM, DDIM and the sigma-space samplers";
  q.data.resize(6);
  examples::panel r = p;
  r.title = "SDE, PC and Langevin samplers";
  r.data.erase(r.data.begin(), r.data.begin() + 6);
  examples::panel o;
  o.title = "ODE solvers: RMS error vs exact flow";
  o.xlabel = "steps";
  o.ylabel = "RMS distance to the exact ODE solution";
  o.log_x = o.log_y = true;
  for (std::size_t i = 0; i < ode_names.size(); ++i)
    o.data.push_back({ode_names[i], xs, ode_err[i], examples::palette(i + 2), true});
  std::vector<examples::panel> panels = {p, q, r, o};
  auto index_of = [&](const std::string& name) {
    for (std::size_t i = 0; i < samplers.size(); ++i) if (samplers[i].name == name) return i;
    return std::size_t(0);
  };
  for (const char* name : {"Euler", "Heun", "DPM-Solver++(2M)"}) {
    arr x(2, n);
    samplers[index_of(name)].run(x, 10, engine);
    examples::panel s;
    s.title = std::string(name) + ", 10 steps";
    s.equal_aspect = true;
    s.data.push_back({"exact", examples::row(reference, 0), examples::row(reference, 1), "#999999"});
    const Eigen::MatrixXf xf = x.cast<float>().matrix();
    s.data.push_back({"sampler", examples::row(xf, 0), examples::row(xf, 1), examples::palette(1)});
    panels.push_back(s);
  }
  examples::write_svg(out_dir + "/error_vs_steps.svg", panels, 3, 460, 380);
  std::printf("wrote %s/error_vs_steps.svg\n", out_dir.c_str());
  const double total = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  std::printf("verdict: %s (every sampler within %.2f of the yardstick %.4f at %ld steps; Heun and "
              "DPM-Solver++(2M) beat Euler at 10 and 20 steps with orders %.2f, %.2f > 1.5: %s), %.1f s\n",
              pass ? "PASS" : "FAIL", tolerance, yard, long(steps.back()), order[1], order[2],
              second_order_ok ? "yes" : "no", total);
  return pass ? 0 : 1;
}
