// examples/demo.cpp: train a diffusion model on 2-D data with latent, then sample it four ways.
//
//   ./demo [output-folder]          (default: out/demo)
//
// The denoiser is a small MLP written in this example with Eigen (examples/common/mlp.hpp:
// hand-written backpropagation and Adam); everything around it is latent:
//   training  latent::sample_timesteps_low_discrepancy, latent::randn, latent::q_sample,
//             latent::training_target (DDPM Algorithm 1, epsilon prediction)
//   sampling  latent::ddpm_step (1000 steps), latent::ddim_step (50 steps),
//             latent::sample_dpmpp_2m (20 steps, sigma space via latent::discrete_sigmas),
//             latent::annealed_langevin (Song & Ermon 2019)
// For each data set (a swiss roll and a ring of 8 Gaussians) and sampler it prints the energy
// distance between 2000 samples and 2000 held-out data points, beside the same distance for a
// second data sample (the yardstick: what a perfect sampler would score), and writes SVG plots
// of data against samples and of a DDPM denoising trajectory.
#include <Eigen/Dense>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "common/data.hpp"
#include "common/mlp.hpp"
#include "common/progress.hpp"
#include "common/svg.hpp"
#include "latent/diffusion/ddim.hpp"
#include "latent/diffusion/ddpm.hpp"
#include "latent/diffusion/forward.hpp"
#include "latent/diffusion/schedule.hpp"
#include "latent/diffusion/sigma_schedules.hpp"
#include "latent/diffusion/timesteps.hpp"
#include "latent/diffusion/training.hpp"
#include "latent/random/noise.hpp"
#include "latent/score/discrete_sigmas.hpp"
#include "latent/score/langevin.hpp"
#include "latent/score/samplers.hpp"

namespace {

using matrix = Eigen::MatrixXf;
using array = Eigen::ArrayXXf;
constexpr std::int64_t T = 1000;
constexpr int embed_dim = 16;

// Sinusoidal embedding of a (possibly fractional) timestep, as in the Transformer / DDPM U-Net.
void embed(double t, Eigen::Ref<Eigen::VectorXf> out) {
  for (int k = 0; k < embed_dim / 2; ++k) {
    const double w = std::exp(-std::log(1000.0) * k / (embed_dim / 2));
    out(2 * k) = static_cast<float>(std::sin(t * w));
    out(2 * k + 1) = static_cast<float>(std::cos(t * w));
  }
}

// The epsilon model: eps_hat(x_t, t) = MLP([x_t; embed(t)]).
struct eps_model {
  examples::mlp net{{2 + embed_dim, 128, 128, 128, 2}, 7};
  matrix input;

  template <class X, class TS>
  const matrix& predict(const X& x, const TS& t_of_column) {
    input.resize(2 + embed_dim, x.cols());
    input.topRows(2) = x.matrix();
    for (Eigen::Index j = 0; j < x.cols(); ++j) embed(t_of_column(j), input.col(j).tail(embed_dim));
    return net.forward(input);
  }
  template <class X>
  const matrix& predict_at(const X& x, double t) {
    return predict(x, [t](Eigen::Index) { return t; });
  }
};

double train(eps_model& model, const latent::noise_schedule& schedule, const matrix& data,
             latent::philox4x32& engine, int steps, const std::string& label) {
  const Eigen::Index B = 512;
  examples::progress bar("training " + label, steps);
  array x0(2, B), noise(2, B), xt(2, B), target(2, B);
  double loss_avg = 0;
  for (int step = 1; step <= steps; ++step) {
    // A random minibatch of the training data.
    const Eigen::ArrayXd u = latent::rand_uniform<Eigen::ArrayXd>(B, engine);
    for (Eigen::Index j = 0; j < B; ++j)
      x0.col(j) = data.col(std::min<Eigen::Index>(data.cols() - 1, Eigen::Index(u(j) * data.cols()))).array();
    // DDPM Algorithm 1: t ~ U{0..T-1} (stratified), eps ~ N(0, I), x_t = q_sample, target eps.
    const auto t = latent::sample_timesteps_low_discrepancy(T, B, engine);
    latent::fill_randn(noise, engine);
    xt = latent::q_sample(schedule, t, x0, noise);
    latent::training_target(schedule, latent::prediction_type::epsilon, t, x0, noise, target);
    const matrix& pred = model.predict(xt, [&](Eigen::Index j) { return double(t(j)); });
    const matrix diff = pred - target.matrix();
    const double loss = diff.squaredNorm() / double(diff.size());
    model.net.backward(diff * (2.0f / float(diff.size())));
    const float lr = 2e-3f * 0.5f * (1.0f + std::cos(3.14159265f * float(step) / float(steps))) + 5e-5f;
    model.net.adam_step(lr);
    loss_avg = step == 1 ? loss : 0.98 * loss_avg + 0.02 * loss;
    if (step % 50 == 0 || step == steps) {
      char buf[48];
      std::snprintf(buf, sizeof buf, "loss %.4f", loss_avg);
      bar.update(step, buf);
    }
  }
  return loss_avg;
}

struct sampler_result {
  std::string name;
  matrix samples;
  double seconds, energy;
};

}  // namespace

int main(int argc, char** argv) {
  const std::string out_dir = argc > 1 ? argv[1] : "out/demo";
  std::filesystem::create_directories(out_dir);
  const auto t_start = std::chrono::steady_clock::now();
  std::printf("latent demo: train a 2-D diffusion model, sample it four ways (figures in %s)\n",
              out_dir.c_str());

  const latent::noise_schedule schedule(latent::linear_betas(T));
  const latent::discrete_sigmas sigma_table(schedule.alpha_bar());
  latent::philox4x32 engine(2026);
  const Eigen::Index n_eval = 2000;
  bool all_ok = true;
  std::vector<examples::panel> trajectory_panels;

  struct dataset {
    std::string name;
    matrix (*make)(Eigen::Index, latent::philox4x32&);
  };
  const dataset datasets[] = {{"swiss roll", examples::swiss_roll},
                              {"ring of 8 Gaussians", examples::ring_mixture}};
  std::vector<examples::panel> panels;
  for (const auto& ds : datasets) {
    std::printf("\n== %s ==\n", ds.name.c_str());
    const matrix train_data = ds.make(20000, engine);
    const matrix test_data = ds.make(n_eval, engine);
    const matrix yard_data = ds.make(n_eval, engine);
    eps_model model;
    const double loss = train(model, schedule, train_data, engine, 3000, ds.name);
    std::printf("  final training loss (EMA) %.4f; %zu parameters\n", loss, model.net.parameter_count());

    std::vector<sampler_result> results;
    auto run = [&](const std::string& name, auto&& body) {
      const auto t0 = std::chrono::steady_clock::now();
      array x(2, n_eval);
      body(x);
      const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      results.push_back({name, x.matrix(), secs, examples::energy_distance(x.matrix(), test_data)});
    };

    // DDPM, 1000 ancestral steps, with a trajectory snapshot for the figure.
    std::vector<std::pair<std::int64_t, matrix>> snaps;
    run("DDPM, 1000 steps", [&](array& x) {
      const auto ts = latent::inference_timesteps(T, T, latent::timestep_spacing::leading);
      latent::fill_randn(x, engine);
      array eps(2, n_eval);
      examples::progress bar("DDPM sampling", static_cast<long>(ts.size()));
      for (std::size_t i = 0; i < ts.size(); ++i) {
        const std::int64_t tk = ts[i];
        if (tk == 999 || tk == 500 || tk == 250 || tk == 120 || tk == 60 || tk == 30 || tk == 10)
          snaps.emplace_back(tk, x.matrix());
        eps = model.predict_at(x, double(ts[i])).array();
        latent::ddpm_step(schedule, latent::ddpm_options{}, ts[i], latent::previous_timestep(ts, i),
                          x, eps, x, engine);
        if (i % 50 == 49 || i + 1 == ts.size()) bar.update(long(i + 1));
      }
      snaps.emplace_back(-1, x.matrix());
    });
    // DDIM, 50 deterministic steps (eta = 0), trailing spacing.
    run("DDIM, 50 steps", [&](array& x) {
      const auto ts = latent::inference_timesteps(T, 50, latent::timestep_spacing::trailing);
      latent::fill_randn(x, engine);
      array eps(2, n_eval);
      for (std::size_t i = 0; i < ts.size(); ++i) {
        eps = model.predict_at(x, double(ts[i])).array();
        latent::ddim_step(schedule, latent::ddim_options{}, ts[i], latent::previous_timestep(ts, i), x, eps, x);
      }
    });
    // DPM-Solver++(2M), 20 steps on Karras sigmas, through the k-diffusion denoiser view of the
    // epsilon model: D(x, sigma) = x - sigma eps(x / sqrt(1 + sigma^2), t(sigma)).
    run("DPM-Solver++(2M), 20 steps", [&](array& x) {
      const Eigen::ArrayXd sigmas =
          latent::sigmas_karras(20, sigma_table.sigma_min(), sigma_table.sigma_max());
      x = latent::randn_like(x, engine) * float(sigmas(0));
      latent::sample_dpmpp_2m(
          [&](const array& xs, double sigma, array& denoised) {
            const double c_in = 1.0 / std::sqrt(1.0 + sigma * sigma);
            const matrix& e = model.predict_at(xs * float(c_in), sigma_table.timestep(sigma));
            denoised = xs - float(sigma) * e.array();
          },
          x, sigmas);
    });
    // Annealed Langevin dynamics on 30 geometric levels, 30 steps each, with the score
    // s(x, sigma) = -eps(x / sqrt(1 + sigma^2), t(sigma)) / sigma and a final Tweedie step.
    run("annealed Langevin, 30x30", [&](array& x) {
      const Eigen::ArrayXd sigmas = Eigen::ArrayXd::LinSpaced(30, std::log(10.0), std::log(0.01)).exp();
      x = latent::randn_like(x, engine) * 10.0f;
      latent::annealed_langevin(
          [&](const array& xs, double sigma, array& score) {
            const double c_in = 1.0 / std::sqrt(1.0 + sigma * sigma);
            const double t = sigma_table.timestep(sigma);
            const matrix& e = model.predict_at(xs * float(c_in), t);
            score = -e.array() / float(sigma);
          },
          x, sigmas, 2e-5, 30, true, engine);
    });

    const double yard = examples::energy_distance(yard_data, test_data);
    std::printf("  %-28s %10s %12s   (yardstick: a second data sample scores %.4f)\n", "sampler",
                "seconds", "energy dist.", yard);
    for (const auto& r : results) {
      // Verdict: within 0.02 of the yardstick (the distance a perfect sampler would show, up to
      // sampling noise); a collapsed or blurred sampler is an order of magnitude above it.
      const bool ok = r.energy <= yard + 0.02;
      all_ok = all_ok && ok;
      std::printf("  %-28s %10.2f %12.4f   %s\n", r.name.c_str(), r.seconds, r.energy, ok ? "ok" : "TOO FAR");
    }

    for (const auto& r : results) {
      examples::panel p;
      p.title = r.name;
      p.equal_aspect = true;
      p.data.push_back({ds.name, examples::row(test_data, 0), examples::row(test_data, 1), "#999999"});
      p.data.push_back({"samples", examples::row(r.samples, 0), examples::row(r.samples, 1), examples::palette(1)});
      panels.push_back(p);
    }
    if (trajectory_panels.empty()) {
      for (const auto& [t, x] : snaps) {
        examples::panel p;
        p.title = t >= 0 ? "DDPM x_t, t = " + std::to_string(t) : "DDPM x_0 (final)";
        p.equal_aspect = true;
        p.data.push_back({"", examples::row(x, 0), examples::row(x, 1), examples::palette(0), false, 1.0, 0.4});
        trajectory_panels.push_back(p);
      }
    }
  }
  examples::write_svg(out_dir + "/samples.svg", panels, 4, 360, 330);
  examples::write_svg(out_dir + "/trajectory.svg", trajectory_panels, 4, 300, 300);
  const double total = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  std::printf("\nwrote %s/samples.svg and %s/trajectory.svg\n", out_dir.c_str(), out_dir.c_str());
  std::printf("verdict: %s (every sampler within 0.02 of the data-vs-data energy distance), %.1f s\n",
              all_ok ? "PASS" : "FAIL", total);
  return all_ok ? 0 : 1;
}
