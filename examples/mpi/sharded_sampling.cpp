// examples/mpi/sharded_sampling.cpp: one DDPM sampling job sharded across MPI ranks.
//
//   mpirun -np 2 ./sharded_sampling [samples]
//
// N samples of a 2-D Gaussian mixture are drawn with 1000 DDPM steps and the mixture's exact
// epsilon-predictor. Rank r owns a contiguous range of columns (global sample indices). The
// noise of step s is the slice [first, first + count) of ONE global noise array: the
// expression randn(D, N, engine) over stream s is created on every rank, which reserves the
// same counters everywhere, and each rank evaluates only its columns. Because every noise value
// is a pure function of (seed, stream, counter, global index), the gathered result is
// bit-identical to a single-process run, for any number of ranks. Rank 0 checks exactly that by
// running the whole job alone and comparing every bit.
#include <mpi.h>

#include <Eigen/Dense>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "../common/gmm.hpp"
#include "latent/diffusion/ddpm.hpp"
#include "latent/diffusion/schedule.hpp"
#include "latent/diffusion/timesteps.hpp"
#include "latent/random/noise.hpp"
#include "latent/random/philox.hpp"

namespace {

constexpr std::uint64_t seed = 20261122;
constexpr Eigen::Index D = 2;

// Samples columns [first, first + count) of the global job of n samples. Allocates its
// buffers once; every step writes in place.
Eigen::MatrixXf sample_columns(const latent::noise_schedule& schedule,
                               const std::vector<std::int64_t>& timesteps,
                               const examples::gmm& data, Eigen::Index n, Eigen::Index first,
                               Eigen::Index count) {
  latent::philox4x32 init(seed, /*stream=*/0);
  Eigen::ArrayXXf x = latent::randn<Eigen::ArrayXXf>(D, n, init).middleCols(first, count);
  Eigen::ArrayXXf eps(D, count), noise(D, count);
  latent::ddpm_options options;  // epsilon prediction, fixed_small variance
  for (std::size_t i = 0; i < timesteps.size(); ++i) {
    const std::int64_t t = timesteps[i], prev = latent::previous_timestep(timesteps, i);
    const double ab = schedule.alpha_bar()(t);
    data.epsilon(x, std::sqrt(ab), std::sqrt(1.0 - ab), eps);
    // Stream i + 1 carries the noise of step i; this rank evaluates only its columns.
    latent::philox4x32 step_engine(seed, /*stream=*/i + 1);
    noise = latent::randn<Eigen::ArrayXXf>(D, n, step_engine).middleCols(first, count);
    latent::ddpm_step(schedule, options, t, prev, x, eps, x, noise);
  }
  return x.matrix();
}

}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  const Eigen::Index n = argc > 1 ? std::atol(argv[1]) : 4096;

  const latent::noise_schedule schedule(latent::linear_betas(1000));
  const auto timesteps =
      latent::inference_timesteps(1000, 1000, latent::timestep_spacing::leading);
  const examples::gmm data = examples::three_blobs();

  // Contiguous shards whose boundaries are multiples of 64 columns, so every rank's slice
  // starts on the same vector-packet boundary as in the single-process run.
  const Eigen::Index blocks = (n + 63) / 64;
  const Eigen::Index b0 = blocks * rank / size, b1 = blocks * (rank + 1) / size;
  const Eigen::Index first = std::min(n, b0 * 64), last = std::min(n, b1 * 64);
  const double t0 = MPI_Wtime();
  const Eigen::MatrixXf mine = sample_columns(schedule, timesteps, data, n, first, last - first);
  const double elapsed = MPI_Wtime() - t0;

  // Gather every shard on rank 0 (columns are contiguous in column-major storage).
  std::vector<int> counts(static_cast<std::size_t>(size)), displs(static_cast<std::size_t>(size));
  const int my_count = static_cast<int>(mine.size());
  MPI_Gather(&my_count, 1, MPI_INT, counts.data(), 1, MPI_INT, 0, MPI_COMM_WORLD);
  Eigen::MatrixXf gathered(D, n);
  if (rank == 0) {
    for (int r = 1; r < size; ++r) displs[std::size_t(r)] = displs[std::size_t(r - 1)] + counts[std::size_t(r - 1)];
  }
  MPI_Gatherv(mine.data(), my_count, MPI_FLOAT, gathered.data(), counts.data(), displs.data(),
              MPI_FLOAT, 0, MPI_COMM_WORLD);
  std::printf("rank %d of %d: samples [%ld, %ld) in %.2f s\n", rank, size,
              static_cast<long>(first), static_cast<long>(last), elapsed);
  std::fflush(stdout);

  int ok = 1;
  if (rank == 0) {
    const Eigen::MatrixXf single = sample_columns(schedule, timesteps, data, n, 0, n);
    const bool identical =
        std::memcmp(single.data(), gathered.data(), sizeof(float) * static_cast<std::size_t>(single.size())) == 0;
    const Eigen::Vector2d mean = gathered.cast<double>().rowwise().mean();
    const Eigen::Vector2d want = data.means * data.weights;
    std::printf("%d ranks, %ld samples, 1000 DDPM steps: sample mean (%.3f, %.3f), mixture mean (%.3f, %.3f)\n",
                size, static_cast<long>(n), mean(0), mean(1), want(0), want(1));
    std::printf("verdict: the gathered samples are %s to the single-process run\n",
                identical ? "bit-identical" : "NOT identical");
    ok = identical ? 1 : 0;
  }
  MPI_Bcast(&ok, 1, MPI_INT, 0, MPI_COMM_WORLD);
  MPI_Finalize();
  return ok ? 0 : 1;
}
