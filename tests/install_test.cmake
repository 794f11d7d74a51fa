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
execute_process(COMMAND ${CMAKE_COMMAND} -S "${SOURCE_DIR}/examples" -B "${WORK_DIR}/build"
                        -G Ninja "-DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix" -DCMAKE_BUILD_TYPE=Release
                        ${flags}
                RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "configuring examples/ against the installed package failed: ${rc}")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} --build "${WORK_DIR}/build" --target forkpool_example
                RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "building examples/ failed: ${rc}")
endif()
execute_process(COMMAND "${WORK_DIR}/build/forkpool_example" --tasks 50
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
message("${out}")
if(rc)
  message(FATAL_ERROR "the example failed (${rc}): ${err}")
endif()
if(NOT out MATCHES "50 tasks: 49 ok, 1 failed")
  message(FATAL_ERROR "the example's summary is wrong: ${out}")
endif()
