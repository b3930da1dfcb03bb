# Flags for latent's own targets (tests, benchmarks, examples). Set per target through an
# INTERFACE library, never through the global CMAKE_CXX_FLAGS variables.
add_library(latent_project_options INTERFACE)
if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
  target_compile_options(latent_project_options INTERFACE -Wall -Wextra -Wpedantic)
  if(LATENT_WERROR)
    target_compile_options(latent_project_options INTERFACE -Werror)
  endif()
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    # Build speed only: g++ collects garbage every few hundred MB while it instantiates Eigen's
    # templates (about a tenth of a test's compile time); a larger heap threshold skips most of
    # those passes at ~15 % more peak memory (about 1 GB per heavy test file).
    target_compile_options(latent_project_options INTERFACE
      --param=ggc-min-expand=400 --param=ggc-min-heapsize=1048576)
  endif()
  if(LATENT_SANITIZE)
    target_compile_options(latent_project_options INTERFACE
      -fsanitize=${LATENT_SANITIZE} -fno-sanitize-recover=all -fno-omit-frame-pointer)
    target_link_options(latent_project_options INTERFACE -fsanitize=${LATENT_SANITIZE} -fno-sanitize-recover=all)
    # Tells the statistical tests to use smaller sample sizes (same tolerances scale with them).
    target_compile_definitions(latent_project_options INTERFACE LATENT_SANITIZER_BUILD=1)
    if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
      # GCC documents that -fsanitize=address makes -Wmaybe-uninitialized report false
      # positives (seen in libstdc++'s <regex> inside Catch2); clang++ keeps the warning.
      target_compile_options(latent_project_options INTERFACE -Wno-maybe-uninitialized)
    endif()
  endif()
endif()
if(LATENT_OPENMP)
  find_package(OpenMP REQUIRED)
  target_link_libraries(latent_project_options INTERFACE OpenMP::OpenMP_CXX)
endif()

# Benchmarks and examples: -O3 -march=native unless LATENT_NATIVE is OFF.
add_library(latent_native_options INTERFACE)
if(LATENT_NATIVE AND CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
  target_compile_options(latent_native_options INTERFACE -O3 -march=native)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    # g++ 12 false positives: -W(maybe-)uninitialized fire inside avx512fintrin.h on Eigen's
    # AVX-512 code (the "__Y is used uninitialized" of GCC bug 105593, fixed in GCC 13).
    # clang++ builds keep both warnings.
    target_compile_options(latent_native_options INTERFACE -Wno-maybe-uninitialized -Wno-uninitialized)
  endif()
endif()
