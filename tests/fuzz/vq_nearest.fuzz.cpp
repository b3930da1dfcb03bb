// Fuzzes the VQ lookup (latent/quantize/nearest.hpp): quantize, quantize_into,
// nearest_codes_into and squared_distances with arbitrary shapes (empty codebooks, D
// mismatches, wrong output sizes) and values (duplicates, near-ties, NaN, infinities, values
// near sqrt(DBL_MAX)), in float and double.
// Properties: only documented exceptions escape; when quantize_into throws, its outputs are
// untouched; the chosen index is in [0, K) and is the lowest-index minimizer of the direct
// squared distance of vq_squared_distance (brute force); quantized = codebook column;
// distances are that direct distance; squared_distances is >= 0 and K x B.
#include <Eigen/Core>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>

#include "fuzz_input.hpp"
#include "latent/quantize/nearest.hpp"

namespace {

template <class V>
void run(fuzz::input& in) {
  using M = Eigen::Matrix<V, Eigen::Dynamic, Eigen::Dynamic>;
  const auto D = static_cast<Eigen::Index>(in.integer(0, 5));
  const auto K = static_cast<Eigen::Index>(in.integer(0, 9));
  const auto B = static_cast<Eigen::Index>(in.integer(0, 5));
  const auto Dz = in.integer(0, 15) == 0 ? D + 1 : D;
  const int mode = static_cast<int>(in.integer(0, 3));
  const auto draw = [&]() -> V {
    switch (mode) {
      case 0: return V(in.integer(-2, 2));                 // many exact ties
      case 1: return V(in.value(3.0));                     // NaN / inf sometimes
      case 2: return V(1.3e154 * std::tanh(in.value(2.0)));  // overflowing cross terms (double)
      default: return V(std::ldexp(1.0, int(in.integer(-60, 60))) * std::tanh(in.value(2.0)));
    }
  };
  M e(D, K), z(Dz, B);
  for (Eigen::Index i = 0; i < e.size(); ++i) e(i) = draw();
  for (Eigen::Index i = 0; i < z.size(); ++i) z(i) = in.integer(0, 3) == 0 && e.size() > 0 ? e(i % e.size()) : draw();

  const auto bad_out = in.integer(0, 15) == 0;
  Eigen::Matrix<Eigen::Index, 1, Eigen::Dynamic> idx =
      Eigen::Matrix<Eigen::Index, 1, Eigen::Dynamic>::Constant(bad_out ? B + 1 : B, -5);
  M q = M::Constant(Dz, B, V(-9));
  Eigen::Matrix<V, 1, Eigen::Dynamic> dist = Eigen::Matrix<V, 1, Eigen::Dynamic>::Constant(B, V(-9));
  const auto idx0 = idx;
  const M q0 = q;
  const auto dist0 = dist;
  latent::vq_workspace<V> ws;
  bool threw = true;
  fuzz::expect_documented([&] {
    latent::quantize_into(z, e, idx, q, dist, ws);
    threw = false;
  });
  if (threw) {
    fuzz::require(idx == idx0 && (q.array() == q0.array()).all() && dist == dist0,
                  "quantize_into that throws leaves its outputs untouched");
  } else {
    for (Eigen::Index b = 0; b < B; ++b) {
      const Eigen::Index k = idx(b);
      fuzz::require(k >= 0 && k < K, "index in [0, K)");
      // Brute force: lowest-index minimizer of the direct distance.
      Eigen::Index best = 0;
      V best_d = latent::vq_squared_distance(z.col(b), e.col(0));
      for (Eigen::Index j = 1; j < K; ++j) {
        const V dj = latent::vq_squared_distance(z.col(b), e.col(j));
        if (dj < best_d) { best_d = dj; best = j; }
      }
      // B8 (fixed): magnitudes whose distance expansion would overflow now throw a
      // domain_error instead of returning a wrong code, so every result is compared.
      if (k != best) {
        std::fprintf(stderr, "%s mode %d D %ld K %ld b %ld k %ld best %ld\n", sizeof(V) == 4 ? "float" : "double",
                     mode, long(D), long(K), long(b), long(k), long(best));
        for (Eigen::Index j = 0; j < K; ++j)
          std::fprintf(stderr, "  d[%ld] = %.17g\n", long(j), double(latent::vq_squared_distance(z.col(b), e.col(j))));
        for (Eigen::Index i = 0; i < z.size(); ++i) std::fprintf(stderr, "  z %.17g\n", double(z(i)));
        for (Eigen::Index i = 0; i < e.size(); ++i) std::fprintf(stderr, "  e %.17g\n", double(e(i)));
      }
      fuzz::require(k == best, "index is the lowest-index brute-force minimizer");
      fuzz::require(q.col(b) == e.col(k), "quantized is the chosen code");
      fuzz::require(dist(b) == best_d || (std::isnan(dist(b)) && std::isnan(best_d)),
                    "distance is the direct distance");
    }
    const auto r = latent::quantize(z, e);
    fuzz::require((r.indices.matrix() == idx), "quantize agrees with quantize_into");
  }
  fuzz::expect_documented([&] {
    Eigen::Matrix<int, Eigen::Dynamic, 1> ii(B);
    latent::nearest_codes_into(z, e, ii, ws);
  });
  fuzz::expect_documented([&] {
    const M sd = latent::squared_distances(z, e);
    fuzz::require(sd.rows() == K && sd.cols() == B, "K x B distances");
    for (Eigen::Index i = 0; i < sd.size(); ++i) fuzz::require(!(sd(i) < 0), "distances >= 0");
  });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::input in(data, size);
  if (in.boolean()) run<float>(in); else run<double>(in);
  return 0;
}
