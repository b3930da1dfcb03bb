# The example programs as CTest tests: each ends with a verdict line and exits 0 (PASS) or 1
# (FAIL), so the exit code is the test's result. Included from examples/CMakeLists.txt when
# tests are built. Figures go to <build>/examples-out/<name>.
foreach(example vae exact_score vq hierarchical)
  if(TARGET ${example})
    add_test(NAME examples/${example} COMMAND ${example} ${CMAKE_BINARY_DIR}/examples-out/${example})
    set_tests_properties(examples/${example} PROPERTIES LABELS "examples" TIMEOUT 300)
  endif()
endforeach()
