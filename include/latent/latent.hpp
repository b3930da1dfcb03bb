// latent/latent.hpp: the umbrella header. Includes every public header of latent.
//
// Including only the headers you use compiles faster; each header includes what it needs.
#pragma once

// core
#include "latent/core/check.hpp"
#include "latent/core/constants.hpp"
#include "latent/core/math.hpp"
#include "latent/core/parallel.hpp"
#include "latent/core/traits.hpp"

// random
#include "latent/random/noise.hpp"
#include "latent/random/philox.hpp"

// distributions
#include "latent/distributions/categorical.hpp"
#include "latent/distributions/diag_gaussian.hpp"
#include "latent/distributions/full_gaussian.hpp"
#include "latent/distributions/gumbel_softmax.hpp"
#include "latent/distributions/lowrank_gaussian.hpp"

// divergences
#include "latent/divergences/categorical_divergence.hpp"
#include "latent/divergences/kl_full_gaussian.hpp"
#include "latent/divergences/kl_gaussian.hpp"
#include "latent/divergences/kl_monte_carlo.hpp"

// objectives
#include "latent/objectives/discretized_gaussian.hpp"
#include "latent/objectives/elbo.hpp"
#include "latent/objectives/hierarchical_elbo.hpp"
#include "latent/objectives/iwae.hpp"
#include "latent/objectives/likelihoods.hpp"

// diffusion
#include "latent/diffusion/continuous.hpp"
#include "latent/diffusion/ddim.hpp"
#include "latent/diffusion/ddpm.hpp"
#include "latent/diffusion/forward.hpp"
#include "latent/diffusion/guidance.hpp"
#include "latent/diffusion/posterior.hpp"
#include "latent/diffusion/predictions.hpp"
#include "latent/diffusion/schedule.hpp"
#include "latent/diffusion/sigma_schedules.hpp"
#include "latent/diffusion/timesteps.hpp"
#include "latent/diffusion/training.hpp"
#include "latent/diffusion/vdm_elbo.hpp"

// score
#include "latent/score/discrete_sigmas.hpp"
#include "latent/score/edm.hpp"
#include "latent/score/langevin.hpp"
#include "latent/score/samplers.hpp"
#include "latent/score/score_matching.hpp"
#include "latent/score/sde.hpp"

// quantize
#include "latent/quantize/ema.hpp"
#include "latent/quantize/hierarchical.hpp"
#include "latent/quantize/kl.hpp"
#include "latent/quantize/losses.hpp"
#include "latent/quantize/nearest.hpp"
