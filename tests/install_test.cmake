# Installs the built project to a temporary prefix, configures examples/ against it with
# find_package(forkpool), builds its demo and runs it. (In the plain build, deb_test.cmake
# does this and more, from the Debian package.)
file(REMOVE_RECURSE "${WORK_DIR}")
execute_process(COMMAND ${CMAKE_COMMAND} --install "${BINARY_DIR}" --prefix "${WORK_DIR}/prefix"
                RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "install failed: ${rc}")
endif()
# A sanitizer build installs instrumented libraries: the example must link the same runtime.
set(flags)
if(SANITIZE)
  list(APPEND flags "-DCMAKE_CXX_FLAGS=-fsanitize=${SANITIZE}"
                    "-DCMAKE_EXE_LINKER_FLAGS=-fsanitize=${SANITIZE}")
endif()
# Configures and builds the project in `source` against the installed package, in `build`; any
# further arguments go to `cmake --build` (--target ...).
function(build_against_package what source build)
  execute_process(COMMAND ${CMAKE_COMMAND} -S "${source}" -B "${build}" -G Ninja
                          "-DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix" -DCMAKE_BUILD_TYPE=Release
                          ${flags}
                  RESULT_VARIABLE rc)
  if(rc)
    message(FATAL_ERROR "configuring ${what} against the installed package failed: ${rc}")
  endif()
  execute_process(COMMAND ${CMAKE_COMMAND} --build "${build}" ${ARGN} RESULT_VARIABLE rc)
  if(rc)
    message(FATAL_ERROR "building ${what} failed: ${rc}")
  endif()
endfunction()

build_against_package("examples/" "${SOURCE_DIR}/examples" "${WORK_DIR}/build"
                      --target forkpool_example)
execute_process(COMMAND "${WORK_DIR}/build/forkpool_example" --tasks 50
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
message("${out}")
if(rc)
  message(FATAL_ERROR "the example failed (${rc}): ${err}")
endif()
if(NOT out MATCHES "50 tasks: 49 ok, 1 failed")
  message(FATAL_ERROR "the example's summary is wrong: ${out}")
endif()

# forkpool::sweep is installed and exported too: a program that links it alone (and includes
# only forkpool/sweep.h) builds against the installed package and writes a report's JSON.
set(consumer "${WORK_DIR}/sweep_consumer")
file(WRITE "${consumer}/CMakeLists.txt" "
cmake_minimum_required(VERSION 3.25)
project(sweep_consumer LANGUAGES CXX)
set(CMAKE_CXX_STANDARD 20)
find_package(forkpool REQUIRED)
add_executable(sweep_consumer main.cc)
target_link_libraries(sweep_consumer PRIVATE forkpool::sweep)
")
file(WRITE "${consumer}/main.cc" "
#include <forkpool/sweep.h>
#include <cstdio>
int main() {
  auto report = forkpool::make_sweep_report(\"consumer\", 10, {{1, {2.0, 2.0}}, {2, {1.0, 1.0}}});
  std::puts(report.json().c_str());
  return report.rows.size() == 2 ? 0 : 1;
}
")
build_against_package("a forkpool::sweep consumer" "${consumer}" "${consumer}/build")
execute_process(COMMAND "${consumer}/build/sweep_consumer"
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(rc OR NOT out MATCHES "\"recommended_workers\"")
  message(FATAL_ERROR "the forkpool::sweep consumer failed (${rc}): ${out} ${err}")
endif()
