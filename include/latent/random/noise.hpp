// latent/random/noise.hpp: standard normal and uniform noise as Eigen nullary expressions.
#pragma once

#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <type_traits>

#include <Eigen/Core>

#include "latent/core/check.hpp"
#include "latent/core/parallel.hpp"
#include "latent/core/traits.hpp"
#include "latent/random/noise_kernels.hpp"
#include "latent/random/philox.hpp"

namespace latent {
namespace detail {

/// The real type behind a scalar: float, double, or the (recursive) value type of an
/// AutoDiffScalar.
template <class S, class = void>
struct noise_real {
  using type = S;
};
template <class S>
struct noise_real<S, std::enable_if_t<is_autodiff_v<S>>> {
  using type = typename noise_real<typename S::Real>::type;
};
template <class S>
using noise_real_t = typename noise_real<S>::type;

/// Nullary functor behind the noise expressions: the parameters of one reserved counter range.
/// Eigen evaluates it through the chunk-caching evaluator at the end of this file; the call
/// operators (one chunk per call, slow) exist for completeness and give the same values.
template <class T, noise_kind Kind, bool RowMajor>
struct noise_op {
  static_assert(std::is_same<T, float>::value || std::is_same<T, double>::value,
                "latent noise: the real scalar must be float or double");
  noise_params params;
  Eigen::Index inner = 0;  // rows (column-major) or cols (row-major)

  T operator()(Eigen::Index i) const noexcept {
    alignas(64) T buf[chunk_elems<T>];
    const auto u = static_cast<std::uint64_t>(i);
    noise_chunk<T, Kind>(params, u / chunk_elems<T>, buf);
    return buf[u % chunk_elems<T>];
  }
  T operator()(Eigen::Index row, Eigen::Index col) const noexcept {
    return (*this)(RowMajor ? row * inner + col : col * inner + row);
  }
};

template <class T>
inline std::uint64_t blocks_for(Eigen::Index size) {
  const std::uint64_t n = static_cast<std::uint64_t>(size);
  return (n + chunk_elems<T> - 1) / chunk_elems<T> * chunk_blocks;
}

/// The Eigen plain type of the noise for a requested type: same kind (Array or Matrix), same
/// compile-time shape and storage order, scalar float or double.
template <class Plain, class T>
struct noise_plain;
template <class S, int R, int C, int O, int MR, int MC, class T>
struct noise_plain<Eigen::Array<S, R, C, O, MR, MC>, T> {
  using type = Eigen::Array<T, R, C, O, MR, MC>;
};
template <class S, int R, int C, int O, int MR, int MC, class T>
struct noise_plain<Eigen::Matrix<S, R, C, O, MR, MC>, T> {
  using type = Eigen::Matrix<T, R, C, O, MR, MC>;
};

template <class Plain, noise_kind Kind>
using noise_xpr_t =
    Eigen::CwiseNullaryOp<noise_op<noise_real_t<typename Plain::Scalar>, Kind,
                                   (Plain::Flags & Eigen::RowMajorBit) != 0>,
                          typename noise_plain<Plain, noise_real_t<typename Plain::Scalar>>::type>;

inline void check_noise_shape(const char* function, Eigen::Index rows, Eigen::Index cols,
                              Eigen::Index fixed_rows, Eigen::Index fixed_cols) {
  if (rows < 0 || cols < 0) {
    throw std::invalid_argument(std::string(function) + ": the shape " + std::to_string(rows) +
                                " x " + std::to_string(cols) + " has a negative dimension");
  }
  if ((fixed_rows != Eigen::Dynamic && rows != fixed_rows) ||
      (fixed_cols != Eigen::Dynamic && cols != fixed_cols)) {
    throw std::invalid_argument(std::string(function) + ": the shape " + std::to_string(rows) +
                                " x " + std::to_string(cols) +
                                " does not match the fixed-size type " +
                                std::to_string(fixed_rows == Eigen::Dynamic ? rows : fixed_rows) +
                                " x " +
                                std::to_string(fixed_cols == Eigen::Dynamic ? cols : fixed_cols));
  }
}

template <class Plain, noise_kind Kind>
inline auto make_noise(const char* function, Eigen::Index rows, Eigen::Index cols,
                       philox4x32& engine) {
  using xpr = noise_xpr_t<Plain, Kind>;
  using T = noise_real_t<typename Plain::Scalar>;
  check_noise_shape(function, rows, cols, Plain::RowsAtCompileTime, Plain::ColsAtCompileTime);
  noise_op<T, Kind, (Plain::Flags & Eigen::RowMajorBit) != 0> f;
  f.params = noise_params(engine.seed(), engine.stream(), engine.reserve(blocks_for<T>(rows * cols)));
  f.inner = (Plain::Flags & Eigen::RowMajorBit) ? cols : rows;
  xpr noise(rows, cols, f);
  if constexpr (is_autodiff_v<typename Plain::Scalar>) {
    return noise.template cast<typename Plain::Scalar>();
  } else {
    return noise;
  }
}

}  // namespace detail

/// Standard normal noise \f$ z_{ij} \sim \mathcal N(0, 1) \f$, i.i.d., as an Eigen nullary
/// expression of shape rows x cols with the kind (Array/Matrix), storage order and scalar of
/// `Plain` (float, double, or AutoDiffScalar: then constant noise, zero derivatives).
/// Box-Muller transform (Box & Muller 1958) of Philox4x32-10 words (Salmon et al. 2011).
/// Creating the expression reserves its counter range on `engine`; the value at each index is a
/// pure function of (seed, stream, counter, index). Returns an expression.
template <class Plain>
inline auto randn(Eigen::Index rows, Eigen::Index cols, philox4x32& engine) {
  return detail::make_noise<Plain, detail::noise_kind::normal>("latent::randn", rows, cols, engine);
}
/// Vector form of randn: `size` elements of the vector type `Plain`. Returns an expression.
template <class Plain>
inline auto randn(Eigen::Index size, philox4x32& engine) {
  static_assert(Plain::IsVectorAtCompileTime, "latent::randn(size, engine) needs a vector type");
  return Plain::ColsAtCompileTime == 1 ? randn<Plain>(size, 1, engine)
                                       : randn<Plain>(1, size, engine);
}
/// Standard normal noise with the shape, kind and scalar of `x` (its values are not read).
/// Returns an expression.
template <class Derived>
inline auto randn_like(const Eigen::DenseBase<Derived>& x, philox4x32& engine) {
  return detail::make_noise<plain_array_t<Derived>, detail::noise_kind::normal>(
      "latent::randn_like", x.rows(), x.cols(), engine);
}

/// Uniform noise in the open interval (0, 1): float with 24 random bits,
/// \f$ u = \max(k\,2^{-24}, 2^{-25}) \f$; double with 52 bits, \f$ u = \max(k\,2^{-52}, 2^{-53}) \f$.
/// Never 0, never 1. Returns an expression; reserves its counter range on `engine`.
template <class Plain>
inline auto rand_uniform(Eigen::Index rows, Eigen::Index cols, philox4x32& engine) {
  return detail::make_noise<Plain, detail::noise_kind::uniform>("latent::rand_uniform", rows, cols,
                                                                engine);
}
/// Vector form of rand_uniform. Returns an expression.
template <class Plain>
inline auto rand_uniform(Eigen::Index size, philox4x32& engine) {
  static_assert(Plain::IsVectorAtCompileTime,
                "latent::rand_uniform(size, engine) needs a vector type");
  return Plain::ColsAtCompileTime == 1 ? rand_uniform<Plain>(size, 1, engine)
                                       : rand_uniform<Plain>(1, size, engine);
}
/// Uniform (0, 1) noise with the shape, kind and scalar of `x`. Returns an expression.
template <class Derived>
inline auto rand_uniform_like(const Eigen::DenseBase<Derived>& x, philox4x32& engine) {
  return detail::make_noise<plain_array_t<Derived>, detail::noise_kind::uniform>(
      "latent::rand_uniform_like", x.rows(), x.cols(), engine);
}

namespace detail {

/// True when `out` is one contiguous run of memory in its storage order.
template <class Derived>
inline bool is_contiguous(const Eigen::DenseBase<Derived>& out) {
  if constexpr ((Derived::Flags & Eigen::DirectAccessBit) != 0) {
    const Derived& d = out.derived();
    return d.innerStride() == 1 && (d.outerSize() <= 1 || d.outerStride() == d.innerSize());
  } else {
    return false;
  }
}

/// Runs span(c0, c1) over the chunk ranges [c0, c1) that tile [0, chunks): in parallel tasks
/// of fill_task_chunks chunks under OpenMP when the run has at least latent::parallel_threshold
/// elements (core/parallel.hpp), else as one range. Every chunk of noise is a pure function of
/// (params, chunk), so any split gives identical bits.
template <class Span>
inline void for_chunk_ranges(Eigen::Index chunks, Eigen::Index elements, const Span& span) {
#if defined(_OPENMP)
  // Below the threshold the parallel construct is not entered at all: even a serialized
  // region makes the OpenMP runtime allocate.
  if (elements >= parallel_threshold && omp_get_max_threads() > 1 && !omp_in_parallel()) {
    constexpr Eigen::Index S = fill_task_chunks;
    const Eigen::Index tasks = (chunks + S - 1) / S;
#pragma omp parallel for schedule(static)
    for (Eigen::Index t = 0; t < tasks; ++t) span(t * S, t * S + S < chunks ? t * S + S : chunks);
    return;
  }
#else
  static_cast<void>(elements);
#endif
  span(0, chunks);
}

/// Writes the first n elements of the noise of `p` straight into `data` (no cache), in
/// parallel under OpenMP (bit-identical to one thread).
template <class T, noise_kind Kind>
inline void fill_contiguous(const noise_params& p, T* data, Eigen::Index n) {
  constexpr Eigen::Index E = chunk_elems<T>;
  const Eigen::Index full = n / E;
  for_chunk_ranges(full, n, [&](Eigen::Index c0, Eigen::Index c1) {
    noise_range<T, Kind>(p, static_cast<std::uint64_t>(c0), static_cast<std::uint64_t>(c1 - c0),
                         data + c0 * E);
  });
  if (full * E < n) {
    alignas(64) T buf[E];
    noise_chunk<T, Kind>(p, static_cast<std::uint64_t>(full), buf);
    for (Eigen::Index i = full * E; i < n; ++i) data[i] = buf[i - full * E];
  }
}

template <noise_kind Kind, class Derived>
inline void fill_noise(const char* function, Eigen::DenseBase<Derived>& out, philox4x32& engine) {
  using S = typename Derived::Scalar;
  using T = noise_real_t<S>;
  if constexpr (std::is_same<S, T>::value && (Derived::Flags & Eigen::DirectAccessBit) != 0 &&
                (Derived::Flags & Eigen::LvalueBit) != 0) {
    if (is_contiguous(out)) {
      const noise_params p(engine.seed(), engine.stream(), engine.reserve(blocks_for<T>(out.size())));
      fill_contiguous<T, Kind>(p, out.derived().data(), out.size());
      return;
    }
  }
  out.derived() = make_noise<plain_array_t<Derived>, Kind>(function, out.rows(), out.cols(), engine);
}

}  // namespace detail

/// Writes standard normals into `out` (any writable Eigen object, e.g. a Map or a block);
/// identical to `out = randn_like(out, engine)`. Contiguous float/double outputs are written
/// chunk by chunk without a cache, in parallel when compiled with OpenMP (bit-identical to one
/// thread). Allocates nothing. Writes an output.
template <class Derived>
inline void fill_randn(Eigen::DenseBase<Derived>& out, philox4x32& engine) {
  detail::fill_noise<detail::noise_kind::normal>("latent::fill_randn", out, engine);
}
template <class Derived>
inline void fill_randn(Eigen::DenseBase<Derived>&& out, philox4x32& engine) {
  fill_randn(out, engine);
}
/// Writes uniforms in (0, 1) into `out`; identical to `out = rand_uniform_like(out, engine)`.
/// Allocates nothing. Writes an output.
template <class Derived>
inline void fill_rand_uniform(Eigen::DenseBase<Derived>& out, philox4x32& engine) {
  detail::fill_noise<detail::noise_kind::uniform>("latent::fill_rand_uniform", out, engine);
}
template <class Derived>
inline void fill_rand_uniform(Eigen::DenseBase<Derived>&& out, philox4x32& engine) {
  fill_rand_uniform(out, engine);
}

namespace detail {

// The fused assignment runs on the x86 SIMD backends with g++ or clang++ (it needs an empty
// asm statement to keep the noise register opaque, see fused_sink_bound); elsewhere
// assign_with_noise takes the noise expression's path, with the same values.
#if (defined(__GNUC__) || defined(__clang__)) && defined(LATENT_RANDOM_HAS_SSE2) && \
    !defined(LATENT_RANDOM_NO_SIMD)
#define LATENT_NOISE_FUSED 1
#endif

#if defined(LATENT_NOISE_FUSED)
/// Nullary functor standing for the noise inside a fused assignment: element i is read from
/// data[i mod E] (E = chunk_elems<T>), a chunk-sized buffer where the kernel has just put it.
/// Pieces never straddle a chunk, so a piece and its packets are contiguous there.
template <class T, bool RowMajor>
struct noise_feed_op {
  static constexpr Eigen::Index mask = chunk_elems<T> - 1;
  const T* data;
  Eigen::Index inner;
  T operator()(Eigen::Index i) const { return data[i & mask]; }
  T operator()(Eigen::Index row, Eigen::Index col) const {
    return (*this)(RowMajor ? row * inner + col : col * inner + row);
  }
  template <class P>
  P packetOp(Eigen::Index i) const {
    return Eigen::internal::ploadu<P>(data + (i & mask));
  }
  template <class P>
  P packetOp(Eigen::Index row, Eigen::Index col) const {
    return packetOp<P>(RowMajor ? row * inner + col : col * inner + row);
  }
};

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wignored-attributes"
#endif
/// The sink of a fused assignment (see noise_range_to in noise_kernels.hpp), as the kernel
/// holds it (fused_sink::bind): puts each register of noise into the feed buffer and evaluates
/// the caller's expression on those elements, straight into out. Registers the kernel computes
/// for the padding of a partial final batch land outside [begin, end) and are dropped.
template <class T, class Expr>
struct fused_sink_bound {
  using B = backend_native;
  using Evaluator = Eigen::internal::evaluator<Expr>;
  static constexpr Eigen::Index mask = chunk_elems<T> - 1;
  static constexpr int K = sizeof(T) == 4 ? B::W : B::W / 2;  // elements per register
  static constexpr int P = Eigen::internal::packet_traits<T>::size;
  static constexpr bool packets = (Evaluator::Flags & Eigen::PacketAccessBit) != 0 && K % P == 0;
  Evaluator ev;
  T* feed;
  T* out;    // element 0 of the whole output
  T* begin;  // the run this kernel call writes: [begin, end)
  T* end;
  template <class V>
  LATENT_KERNEL_INLINE void operator()(T* at, V v) const {
    const auto a = reinterpret_cast<std::uintptr_t>(at);
    if (a < reinterpret_cast<std::uintptr_t>(begin) || a >= reinterpret_cast<std::uintptr_t>(end)) return;
    const Eigen::Index i = at - out;
    // The register is the product R cos(theta) (or R sin): opaque to the compiler, so that it
    // cannot fuse that multiply with an addition of the caller's expression (the noise-argument
    // form adds the stored, rounded value; the two must agree bit for bit).
    __asm__("" : "+v"(v));
    if constexpr (sizeof(T) == 4) {
      B::fstore(feed + (i & mask), v);
    } else {
      B::dstore(feed + (i & mask), v);
    }
    if constexpr (packets) {
      using Packet = typename Eigen::internal::packet_traits<T>::type;
      for (int k = 0; k < K; k += P)
        Eigen::internal::pstoreu(out + i + k, ev.template packet<Eigen::Unaligned, Packet>(i + k));
    } else {
      for (int k = 0; k < K; ++k) out[i + k] = ev.coeff(i + k);
    }
  }
};

/// The sink a fused assignment passes to the kernel: the expression (copyable, unlike its
/// evaluator) and where it goes.
template <class T, class Expr>
struct fused_sink {
  Expr expr;
  T* feed;
  T* out;
  T* begin;
  T* end;
  fused_sink_bound<T, Expr> bind() const {
    return {Eigen::internal::evaluator<Expr>(expr), feed, out, begin, end};
  }
};

/// Evaluates out[c0 E, c1 E) (E = chunk_elems<T>) of `make(noise)` inside the noise kernel:
/// each register of noise goes through the feed into the expression's packet at the same index
/// and straight to `out`, so the caller's operands are loaded while the kernel computes (no
/// cache of noise, no second pass). With `tail`, also the elements from c1 E to n (the final
/// partial chunk). `out` holds the n elements contiguously in the noise's storage order; `shape`
/// is a noise-shaped feed expression (its buffer is replaced by this call's own).
template <class T, noise_kind Kind, class Feed, class Make>
inline void fused_noise_span(const noise_params& p, const Feed& shape, T* out, Eigen::Index c0,
                             Eigen::Index c1, Eigen::Index n, bool tail, const Make& make) {
  using Op = std::decay_t<decltype(shape.functor())>;
  constexpr Eigen::Index E = chunk_elems<T>;
  alignas(64) T feed[E];
  const Feed z(shape.rows(), shape.cols(), Op{feed, shape.functor().inner});
  using Expr = std::decay_t<decltype(make(z))>;
  const fused_sink<T, Expr> sink{make(z), feed, out, out + c0 * E, out + c1 * E};
  noise_range_to<T, Kind>(p, static_cast<std::uint64_t>(c0), static_cast<std::uint64_t>(c1 - c0),
                          out + c0 * E, sink);
  if (tail && c1 * E < n) {
    // The final partial chunk: whole packets, then single elements, as Eigen's own loop does
    // for an aligned output (a compiler may fuse multiply-adds differently in the two forms).
    noise_chunk<T, Kind>(p, static_cast<std::uint64_t>(c1), feed);
    const auto bound = sink.bind();
    const Eigen::Index i0 = c1 * E, left = n - i0;  // 0 < left < E
    Eigen::Index k = 0;
    if constexpr (decltype(bound)::packets) {
      using Packet = typename Eigen::internal::packet_traits<T>::type;
      constexpr Eigen::Index P = decltype(bound)::P;
      for (; k + P <= left; k += P)
        Eigen::internal::pstoreu(out + i0 + k, bound.ev.template packet<Eigen::Unaligned, Packet>(i0 + k));
    }
    for (; k < left && k < E; ++k) out[i0 + k] = bound.ev.coeff(i0 + k);
  }
}

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
#endif  // LATENT_NOISE_FUSED

/// `out = make(noise)`, noise shaped and ordered like `out` from `engine`: the same noise and
/// the same counter range as latent::assign(out, make(randn_like(out, engine))) (for Kind
/// normal), and the same results wherever the compiler evaluates the two compiled copies of
/// make's expression alike (bit for bit without multiply-add contraction; docs/random.md). When
/// out is a contiguous float/double array and make(noise) allows linear access, the expression
/// is evaluated inside the noise kernel (fused_noise_span; in parallel under OpenMP above
/// latent::parallel_threshold); otherwise through the noise expression's cache. `make` is
/// called with a noise expression and returns the expression to assign, element-wise in the
/// noise. Allocates nothing.
template <noise_kind Kind, class DerivedOut, class Make>
inline void assign_with_noise(const char* function, const Eigen::DenseBase<DerivedOut>& out_,
                              philox4x32& engine, const Make& make) {
  auto& out = const_cast<DerivedOut&>(out_.derived());
  using S = typename DerivedOut::Scalar;
  using T = noise_real_t<S>;
  using Plain = plain_array_t<DerivedOut>;
  constexpr bool row_major = (Plain::Flags & Eigen::RowMajorBit) != 0;
#if defined(LATENT_NOISE_FUSED)
  if constexpr (std::is_same<S, T>::value && (DerivedOut::Flags & Eigen::DirectAccessBit) != 0 &&
                (DerivedOut::Flags & Eigen::LvalueBit) != 0) {
    using Feed = Eigen::CwiseNullaryOp<noise_feed_op<T, row_major>, typename noise_plain<Plain, T>::type>;
    using Expr = std::decay_t<decltype(make(std::declval<const Feed&>()))>;
    if constexpr ((Eigen::internal::evaluator<Expr>::Flags & Eigen::LinearAccessBit) != 0) {
      if (is_contiguous(out)) {
        const Eigen::Index n = out.size();
        const noise_params p(engine.seed(), engine.stream(), engine.reserve(blocks_for<T>(n)));
        const Feed shape(out.rows(), out.cols(),
                         noise_feed_op<T, row_major>{nullptr, row_major ? out.cols() : out.rows()});
        T* data = out.data();
        const Eigen::Index chunks = n / chunk_elems<T>;
        for_chunk_ranges(chunks, n, [&](Eigen::Index c0, Eigen::Index c1) {
          fused_noise_span<T, Kind>(p, shape, data, c0, c1, n, c1 == chunks, make);
        });
        return;
      }
    }
  }
#endif
  latent::assign(out, make(make_noise<Plain, Kind>(function, out.rows(), out.cols(), engine)));
}

/// Noise sources, so that a step with a noise argument and its engine overload share one body:
///  - check(function, x): the noise has x's shape (given noise only);
///  - assign(function, out, make): out = make(noise);
///  - expr(out): the noise as an expression shaped like out (an engine reserves its range here).
/// An engine source draws nothing until assign or expr is called.
template <class Z>
struct given_noise {
  Z z;  // the caller's noise: a reference to it, or a cast expression of it
  template <class DerivedX>
  void check(const char* function, const Eigen::DenseBase<DerivedX>& x) const {
    check_same_shape(function, "x", x, "noise", z);
  }
  template <class DerivedOut>
  const std::decay_t<Z>& expr(const Eigen::DenseBase<DerivedOut>&) const {
    return z;
  }
  template <class DerivedOut, class Make>
  void assign(const char*, const Eigen::DenseBase<DerivedOut>& out, const Make& make) const {
    latent::assign(out, make(z));
  }
};
/// A given_noise holding a reference to `z` (the caller's array or expression).
template <class Derived>
inline given_noise<const Derived&> given(const Eigen::DenseBase<Derived>& z) {
  return {z.derived()};
}
/// A given_noise of `z` cast to the scalar S (a reference to z when it already has it).
template <class S, class Derived>
inline auto given_as(const Eigen::DenseBase<Derived>& z) {
  using Z = decltype(z.derived().template cast<S>());
  return given_noise<Z>{z.derived().template cast<S>()};
}
/// Standard normals from an engine, fused into the assignment (assign_with_noise).
struct engine_noise {
  philox4x32& engine;
  template <class DerivedX>
  void check(const char*, const Eigen::DenseBase<DerivedX>&) const {}
  template <class DerivedOut>
  auto expr(const Eigen::DenseBase<DerivedOut>& out) const {
    return randn_like(out.derived(), engine);
  }
  template <class DerivedOut, class Make>
  void assign(const char* function, const Eigen::DenseBase<DerivedOut>& out, const Make& make) const {
    assign_with_noise<noise_kind::normal>(function, out, engine, make);
  }
};

}  // namespace detail

}  // namespace latent

namespace Eigen {
namespace internal {
template <class T, latent::detail::noise_kind Kind, bool RowMajor>
struct functor_traits<latent::detail::noise_op<T, Kind, RowMajor>> {
  enum { Cost = 10 * NumTraits<T>::MulCost, PacketAccess = true, IsRepeatable = true };
};
template <class T, latent::detail::noise_kind Kind, bool RowMajor>
struct functor_has_linear_access<latent::detail::noise_op<T, Kind, RowMajor>> {
  enum { ret = 1 };
};
#if defined(LATENT_NOISE_FUSED)
template <class T, bool RowMajor>
struct functor_traits<latent::detail::noise_feed_op<T, RowMajor>> {
  enum { Cost = 1, PacketAccess = true, IsRepeatable = true };
};
template <class T, bool RowMajor>
struct functor_has_linear_access<latent::detail::noise_feed_op<T, RowMajor>> {
  enum { ret = 1 };
};
#endif

/// Evaluator of latent's noise expressions. It caches a run of the noise and serves coeff(i)
/// and packet(i) from it, recomputing when i leaves it. Two refill sizes:
///  - expressions below stream_threshold elements (whose operands stay in the caches) refill up
///    to cache_chunks chunks (2048 floats or 1024 doubles) by one call of the software-pipelined
///    kernel, never more than the expression has (a small expression pays for its own size);
///  - larger ones refill one batch (256 floats or 128 doubles with AVX-512): short refills
///    overlap with the memory traffic of the caller's loop, which one long refill stalls
///    (1M-element steps measured 10-15 % slower with 2048-float refills).
/// The value at i depends only on the reserved counter range and i, never on the order or the
/// block split of the evaluation.
// g++ 12 at -O3 reports m_cache as "may be used uninitialized" where a one-shot coeff() inlines
// a fresh evaluator: it cannot see that the initial m_first sends the first access to the
// refill. A false positive; silenced for this evaluator only.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
template <class T, latent::detail::noise_kind Kind, bool RowMajor, class Plain>
struct evaluator<CwiseNullaryOp<latent::detail::noise_op<T, Kind, RowMajor>, Plain>>
    : evaluator_base<CwiseNullaryOp<latent::detail::noise_op<T, Kind, RowMajor>, Plain>> {
  using XprType = CwiseNullaryOp<latent::detail::noise_op<T, Kind, RowMajor>, Plain>;
  using PlainClean = typename internal::remove_all<Plain>::type;
  using CoeffReturnType = T;
  static constexpr Index CE = latent::detail::chunk_elems<T>;
  static constexpr Index E = CE * latent::detail::cache_chunks;  // cache capacity
  static constexpr Index BC = latent::detail::noise_batching<latent::detail::backend_native>::chunks;
  enum {
    CoeffReadCost = functor_traits<latent::detail::noise_op<T, Kind, RowMajor>>::Cost,
    Flags = evaluator<PlainClean>::Flags & (HereditaryBits | LinearAccessBit | PacketAccessBit),
    Alignment = AlignedMax
  };

  explicit evaluator(const XprType& x)
      : m_params(x.functor().params), m_inner(x.functor().inner),
        m_chunks(static_cast<std::uint64_t>((x.size() + CE - 1) / CE)),
        m_span(x.size() >= latent::detail::stream_threshold ? BC * CE : E) {}
  evaluator(const evaluator& o)
      : evaluator_base<XprType>(), m_params(o.m_params), m_inner(o.m_inner), m_chunks(o.m_chunks),
        m_span(o.m_span) {}

  // Fast path: one subtraction and one unsigned compare per packet (i in the cached run,
  // packet not straddling its end); everything else goes out of line.
  EIGEN_STRONG_INLINE T coeff(Index i) const {
    const std::size_t o = static_cast<std::size_t>(i) - m_first;
    if (EIGEN_PREDICT_TRUE(o < static_cast<std::size_t>(m_span))) return m_cache[o];
    return coeff_slow(i);
  }
  EIGEN_STRONG_INLINE T coeff(Index row, Index col) const {
    return coeff(RowMajor ? row * m_inner + col : col * m_inner + row);
  }
  template <int LoadMode, typename PacketType>
  EIGEN_STRONG_INLINE PacketType packet(Index i) const {
    constexpr std::size_t P = unpacket_traits<PacketType>::size;
    const std::size_t o = static_cast<std::size_t>(i) - m_first;
    if (EIGEN_PREDICT_TRUE(o <= static_cast<std::size_t>(m_span) - P)) return ploadu<PacketType>(m_cache + o);
    return packet_slow<PacketType>(i);
  }
  template <int LoadMode, typename PacketType>
  EIGEN_STRONG_INLINE PacketType packet(Index row, Index col) const {
    return packet<LoadMode, PacketType>(RowMajor ? row * m_inner + col : col * m_inner + row);
  }

 private:
  EIGEN_DONT_INLINE T coeff_slow(Index i) const {
    const Index c = i / m_span;
    refill(c);
    return m_cache[i - c * m_span];
  }
  template <typename PacketType>
  EIGEN_DONT_INLINE PacketType packet_slow(Index i) const {
    constexpr Index P = unpacket_traits<PacketType>::size;
    const Index c = i / m_span;
    if (i - c * m_span + P <= m_span) {
      refill(c);
      return ploadu<PacketType>(m_cache + (i - c * m_span));
    }
    alignas(64) T tmp[P];
    for (Index k = 0; k < P; ++k) tmp[k] = coeff(i + k);
    return ploadu<PacketType>(tmp);
  }
  // Out of line: the kernel needs the whole register file, and inlined into the user's loop it
  // would spill that loop's live values (and its own) on every packet.
  EIGEN_DONT_INLINE void refill(Index c) const {
    const std::uint64_t span = static_cast<std::uint64_t>(m_span / CE);
    const std::uint64_t c0 = static_cast<std::uint64_t>(c) * span;
    const std::uint64_t left = m_chunks > c0 ? m_chunks - c0 : 0;
    latent::detail::noise_range<T, Kind>(m_params, c0, left < span ? left : span, m_cache);
    m_first = static_cast<std::size_t>(c * m_span);
  }
  latent::detail::noise_params m_params;
  Index m_inner;
  std::uint64_t m_chunks;  // chunks of the whole expression
  Index m_span;            // elements per refill: E, or one batch from stream_threshold on
  // First index of the cached run; the initial value makes every o = i - m_first >= m_span.
  mutable std::size_t m_first = static_cast<std::size_t>(-2 * E);
  alignas(64) mutable T m_cache[E];
};
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

/// Plain assignment `dst = randn<...>(...)` (or rand_uniform) to a contiguous destination in
/// the noise's storage order: written chunk by chunk straight into dst, exactly as fill_randn
/// does (same values: both are the pure function of (params, index)), without the evaluator's
/// cache and its extra copy. Anything else takes Eigen's usual loop through the evaluator.
template <class DstXprType, class T, latent::detail::noise_kind Kind, bool RowMajor, class Plain>
struct Assignment<DstXprType, CwiseNullaryOp<latent::detail::noise_op<T, Kind, RowMajor>, Plain>,
                  assign_op<T, T>, Dense2Dense, void> {
  using SrcXprType = CwiseNullaryOp<latent::detail::noise_op<T, Kind, RowMajor>, Plain>;
  static void run(DstXprType& dst, const SrcXprType& src, const assign_op<T, T>& func) {
    resize_if_allowed(dst, src, func);
    if constexpr ((DstXprType::Flags & DirectAccessBit) != 0 && (DstXprType::Flags & LvalueBit) != 0) {
      const bool same_order = DstXprType::IsVectorAtCompileTime ||
                              (((DstXprType::Flags & RowMajorBit) != 0) == RowMajor);
      if (same_order && latent::detail::is_contiguous(dst)) {
        latent::detail::fill_contiguous<T, Kind>(src.functor().params, dst.data(), dst.size());
        return;
      }
    }
    call_dense_assignment_loop(dst, src, func);
  }
};

}  // namespace internal
}  // namespace Eigen
