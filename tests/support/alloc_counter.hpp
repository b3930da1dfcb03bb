// tests/support/alloc_counter.hpp: counts heap allocations in a test executable.
//
// Include from exactly ONE translation unit of a test executable. It replaces malloc, calloc,
// realloc, the aligned allocators and free (glibc's documented "replacing malloc" mechanism,
// forwarding to __libc_malloc and friends), so every allocation is seen: operator new, Eigen's
// aligned_malloc, std containers. Disabled under the sanitizers (which interpose malloc
// themselves) and off glibc; then allocations_in() returns -1 and tests skip the count.
#pragma once

#include <cstddef>

#if defined(_OPENMP)
#include <omp.h>
#endif

#if !defined(LATENT_SANITIZER_BUILD) && defined(__GLIBC__)
#define LATENT_COUNT_MALLOC 1
extern "C" {
void* __libc_malloc(std::size_t);
void* __libc_calloc(std::size_t, std::size_t);
void* __libc_realloc(void*, std::size_t);
void* __libc_memalign(std::size_t, std::size_t);
void __libc_free(void*);
}
namespace alloc_counter_detail {
inline volatile bool counting = false;
inline volatile long allocations = 0;
inline void note() {
  if (counting) allocations = allocations + 1;
}
}  // namespace alloc_counter_detail
extern "C" {
void* malloc(std::size_t n) noexcept {
  alloc_counter_detail::note();
  return __libc_malloc(n);
}
void* calloc(std::size_t a, std::size_t b) noexcept {
  alloc_counter_detail::note();
  return __libc_calloc(a, b);
}
void* realloc(void* p, std::size_t n) noexcept {
  alloc_counter_detail::note();
  return __libc_realloc(p, n);
}
void* memalign(std::size_t a, std::size_t n) noexcept {
  alloc_counter_detail::note();
  return __libc_memalign(a, n);
}
void* aligned_alloc(std::size_t a, std::size_t n) noexcept {
  alloc_counter_detail::note();
  return __libc_memalign(a, n);
}
int posix_memalign(void** p, std::size_t a, std::size_t n) noexcept {
  alloc_counter_detail::note();
  *p = __libc_memalign(a, n);
  return *p ? 0 : 12;  // ENOMEM
}
void free(void* p) noexcept { __libc_free(p); }
}
#endif

namespace alloc_counter {

/// True when allocations are counted in this build.
inline constexpr bool enabled =
#ifdef LATENT_COUNT_MALLOC
    true;
#else
    false;
#endif

/// Number of heap allocations made while running f (-1 when counting is disabled).
/// With OpenMP the call runs on one thread, after one uncounted warm-up call: the OpenMP runtime allocates bookkeeping for its
/// thread team (and Eigen's GEMM parallelizes through it), which is not latent's allocation.
template <class F>
long allocations_in(F&& f) {
#ifdef LATENT_COUNT_MALLOC
#if defined(_OPENMP)
  const int threads = omp_get_max_threads();
  omp_set_num_threads(1);
  f();  // the runtime sets up its one-thread team on first use
#endif
  alloc_counter_detail::allocations = 0;
  alloc_counter_detail::counting = true;
  f();
  alloc_counter_detail::counting = false;
#if defined(_OPENMP)
  omp_set_num_threads(threads);
#endif
  return alloc_counter_detail::allocations;
#else
  f();
  return -1;
#endif
}

}  // namespace alloc_counter
