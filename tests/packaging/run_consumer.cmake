# cmake -DMODE=find_package|add_subdirectory|fetchcontent -DLATENT_SOURCE_DIR=... -DWORK_DIR=...
#       -DCXX=... -DGENERATOR=... -P run_consumer.cmake
# Builds tests/packaging/consumer against latent and runs it.
cmake_minimum_required(VERSION 3.16)
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})

function(run)
  execute_process(COMMAND ${ARGV} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "command failed (${rc}): ${ARGV}\n${out}\n${err}")
  endif()
  message(STATUS "${out}")
endfunction()

set(consumer_args -G ${GENERATOR} -DCMAKE_CXX_COMPILER=${CXX} -DCMAKE_BUILD_TYPE=Release
    -DLATENT_MODE=${MODE} -DLATENT_SOURCE_DIR=${LATENT_SOURCE_DIR})

if(MODE STREQUAL "find_package")
  # Install latent (headers and CMake package only) to a temporary prefix first.
  run(${CMAKE_COMMAND} -S ${LATENT_SOURCE_DIR} -B ${WORK_DIR}/latent-build -G ${GENERATOR}
      -DCMAKE_CXX_COMPILER=${CXX} -DLATENT_BUILD_TESTS=OFF -DLATENT_BUILD_BENCHMARKS=OFF
      -DLATENT_BUILD_EXAMPLES=OFF -DCMAKE_INSTALL_PREFIX=${WORK_DIR}/prefix)
  run(${CMAKE_COMMAND} --install ${WORK_DIR}/latent-build)
  foreach(f include/latent/latent.hpp include/latent/core/check.hpp
            share/cmake/latent/latentConfig.cmake share/cmake/latent/latentConfigVersion.cmake
            share/cmake/latent/latentTargets.cmake share/pkgconfig/latent.pc)
    if(NOT EXISTS ${WORK_DIR}/prefix/${f})
      message(FATAL_ERROR "cmake --install did not install ${f}")
    endif()
  endforeach()
  file(READ ${WORK_DIR}/prefix/share/pkgconfig/latent.pc pc)
  if(NOT pc MATCHES "Cflags: -I\\$\\{includedir\\}")
    message(FATAL_ERROR "latent.pc has no include flags:\n${pc}")
  endif()
  list(APPEND consumer_args -DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix)
endif()

run(${CMAKE_COMMAND} -S ${CMAKE_CURRENT_LIST_DIR}/consumer -B ${WORK_DIR}/consumer-build ${consumer_args})
run(${CMAKE_COMMAND} --build ${WORK_DIR}/consumer-build)
run(${WORK_DIR}/consumer-build/latent_consumer)
