# cmake -DREADME=... -DSOURCE=... -P readme_check.cmake
# Fails unless the first ```cpp block of the README is exactly the example file, so the
# README's usage example is the code CTest compiles and runs.
file(READ ${README} readme)
file(READ ${SOURCE} source)
string(FIND "${readme}" "```cpp\n" start)
if(start EQUAL -1)
  message(FATAL_ERROR "no ```cpp block in ${README}")
endif()
math(EXPR start "${start} + 7")
string(SUBSTRING "${readme}" ${start} -1 rest)
string(FIND "${rest}" "```" end)
string(SUBSTRING "${rest}" 0 ${end} block)
if(NOT block STREQUAL source)
  message(FATAL_ERROR "the README's usage example differs from ${SOURCE}; keep them identical")
endif()
message(STATUS "README usage example == ${SOURCE}")
