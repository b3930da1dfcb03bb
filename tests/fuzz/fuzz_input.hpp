// tests/fuzz/fuzz_input.hpp: reads typed values from a fuzz input, deterministically.
//
// Once the bytes run out every read returns zero, so every input is a valid program.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <stdexcept>
#include <string>

namespace fuzz {

class input {
 public:
  input(const std::uint8_t* data, std::size_t size) : p_(data), n_(size) {}

  template <class T>
  T raw() {
    T v{};
    const std::size_t k = n_ < sizeof(T) ? n_ : sizeof(T);
    if (k) std::memcpy(&v, p_, k);
    p_ += k;
    n_ -= k;
    return v;
  }
  /// An integer in [lo, hi].
  long long integer(long long lo, long long hi) {
    const auto r = raw<std::uint32_t>();
    return lo + static_cast<long long>(r % static_cast<std::uint64_t>(hi - lo + 1));
  }
  bool boolean() { return raw<std::uint8_t>() & 1; }
  /// Any double bit pattern: NaN, infinities, subnormals, huge and tiny values.
  double any_double() { return raw<double>(); }
  /// A "mostly reasonable" double: with probability ~1/8 any bit pattern, else a value of
  /// moderate magnitude in [-scale, scale].
  double value(double scale = 10.0) {
    const auto sel = raw<std::uint8_t>();
    if ((sel & 7) == 0) return any_double();
    const auto r = raw<std::uint32_t>();
    return scale * (2.0 * (r / 4294967295.0) - 1.0);
  }
  std::size_t remaining() const { return n_; }

 private:
  const std::uint8_t* p_;
  std::size_t n_;
};

/// Runs f; the documented exceptions of latent (std::invalid_argument, std::domain_error)
/// are expected outcomes. Any other exception escapes and is reported as a crash.
template <class F>
void expect_documented(F&& f) {
  try {
    f();
  } catch (const std::invalid_argument& e) {
    if (std::string(e.what()).rfind("latent::", 0) != 0) throw;  // message must name the function
  } catch (const std::domain_error& e) {
    if (std::string(e.what()).rfind("latent::", 0) != 0) throw;
  }
}

/// Aborts (a crash the fuzzer reports) when a documented property fails.
inline void require(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "property violated: %s\n", what);
    std::abort();
  }
}

}  // namespace fuzz
