# The Debian package, end to end, in three steps (STEP), each a ctest test:
#   package    cpack -G DEB builds forkpool_<version>_<arch>.deb; its dependencies were
#              computed; it holds the binary, headers, static libraries, CMake package,
#              pkg-config file, manual pages and bash completion; dpkg -x unpacks it into a
#              scratch root, where the binary, the pages and the completion are tried.
#   cmake      examples/ built against the unpacked root with find_package(forkpool), and run.
#   pkgconfig  examples/ built against it with examples/Makefile and pkg-config, and run.
# Variables: STEP, SOURCE_DIR, BINARY_DIR, WORK_DIR, VERSION, LAUNCHER (a compiler launcher
# such as ccache, or empty).
set(root "${WORK_DIR}/root")
set(prefix "${root}/usr")

function(run)  # run(<command>... [EXPECT_EXIT n] [OUT var] [ERR var]): fails on another status
  cmake_parse_arguments(R "" "EXPECT_EXIT;OUT;ERR" "" ${ARGN})
  if(NOT DEFINED R_EXPECT_EXIT)
    set(R_EXPECT_EXIT 0)
  endif()
  execute_process(COMMAND ${R_UNPARSED_ARGUMENTS} RESULT_VARIABLE rc OUTPUT_VARIABLE out
                  ERROR_VARIABLE err)
  if(NOT rc STREQUAL R_EXPECT_EXIT)
    list(JOIN R_UNPARSED_ARGUMENTS " " shown)
    message(FATAL_ERROR "${shown}: exit ${rc}, expected ${R_EXPECT_EXIT}\n${out}\n${err}")
  endif()
  if(R_OUT)
    set(${R_OUT} "${out}" PARENT_SCOPE)
  endif()
  if(R_ERR)
    set(${R_ERR} "${err}" PARENT_SCOPE)
  endif()
endfunction()

function(expect text pattern what)
  if(NOT text MATCHES "${pattern}")
    message(FATAL_ERROR "${what}: expected to match '${pattern}', got:\n${text}")
  endif()
endfunction()

function(check_package)
  file(REMOVE_RECURSE "${WORK_DIR}")
  run(cpack -G DEB -B "${WORK_DIR}/package" --config "${BINARY_DIR}/CPackConfig.cmake")
  file(GLOB debs "${WORK_DIR}/package/*.deb")
  list(LENGTH debs count)
  if(NOT count EQUAL 1)
    message(FATAL_ERROR "expected one .deb, found: ${debs}")
  endif()
  get_filename_component(name "${debs}" NAME)
  expect("${name}" "^forkpool_${VERSION}_[a-z0-9]+\\.deb$" "the package's file name")
  # Computed dependencies: dpkg-shlibdeps's (the C library, spdlog's and Boost's shared
  # libraries) and the development packages that dpkg says own the headers used.
  run(dpkg-deb --field "${debs}" Depends OUT depends)
  foreach(package libc6 "libspdlog1[.0-9]*(-fmt[0-9]+)?" "libboost-serialization1[.0-9]+"
                  libspdlog-dev libxxhash-dev)
    expect("${depends}" "(^|, )${package}( |,|$)" "Depends")
  endforeach()
  run(dpkg-deb --contents "${debs}" OUT contents)
  foreach(path usr/bin/forkpool usr/include/forkpool/forkpool.h usr/lib/libforkpool_io.a
               usr/lib/libforkpool_orchestrator.a usr/lib/cmake/forkpool/forkpoolConfig.cmake
               usr/lib/pkgconfig/forkpool.pc usr/share/bash-completion/completions/forkpool
               usr/share/man/man1/forkpool.1.gz usr/share/man/man1/forkpool-run.1.gz
               usr/share/man/man1/forkpool-bench.1.gz usr/share/man/man1/forkpool-worker.1.gz)
    expect("${contents}" " \\./${path}\n" "the package's contents")
  endforeach()
  run(dpkg-deb -x "${debs}" "${root}")

  run("${prefix}/bin/forkpool" --version OUT version)
  expect("${version}" "^forkpool ${VERSION}\nprotocol version [0-9]+\n$" "forkpool --version")
  run("${prefix}/bin/forkpool" run echo ::: installed OUT out)
  expect("${out}" "^installed\n$" "the installed forkpool run")
  run(env MANWIDTH=100 man -P cat -l "${prefix}/share/man/man1/forkpool-run.1.gz" OUT page)
  foreach(heading "OPTIONS" "REPLACEMENT STRINGS" "EXIT STATUS" "DIFFERENCES FROM GNU PARALLEL")
    expect("${page}" "\n${heading}\n" "man forkpool-run")
  endforeach()
  run(bash -c "source '${prefix}/share/bash-completion/completions/forkpool' && complete -p forkpool"
      OUT spec)
  expect("${spec}" "^complete -F _forkpool forkpool\n$" "the installed completion")
endfunction()

# Runs the four examples built in `dir` and checks what each one says.
function(run_examples dir)
  run("${dir}/forkpool_example" --tasks 50 OUT out)
  expect("${out}" "50 tasks: 49 ok, 1 failed" "forkpool_example")
  run("${dir}/collatz_map" --limit 100000 --workers 2 OUT out ERR progress)
  expect("${out}" "below 100000: 77031, 350 steps \\(99999 numbers" "collatz_map")
  expect("${progress}" "100% \\(99999 of 99999\\)\n$" "collatz_map's progress")
  # The straggler sleeps far longer than the timeout; the runner must not wait for it.
  run("${dir}/job_runner" --timeout 0.5 "echo hello" "exit 3" "sleep 600" EXPECT_EXIT 1 OUT out)
  expect("${out}" "\\[echo hello\\] ok in [0-9.]+ s: hello\n" "job_runner")
  expect("${out}" "\\[exit 3\\] exit 3\n" "job_runner")
  expect("${out}" "\\[sleep 600\\] timed out after 0.5 s\n" "job_runner")
  expect("${out}" "3 jobs: 1 ok, 1 failed, 1 timed out\n$" "job_runner")
  run("${dir}/pick_workers" --blocks 8 --runs 2 --workers 1,2 OUT out ERR progress)
  expect("${out}" "workers +median ms" "pick_workers's table")
  expect("${out}" "recommended: [12] workers\n$" "pick_workers")
  expect("${progress}" "measuring 2 workers, run 2 of 2\n" "pick_workers's progress")
endfunction()

if(STEP STREQUAL "package")
  check_package()
elseif(STEP STREQUAL "cmake")
  set(build "${WORK_DIR}/examples-cmake")
  file(REMOVE_RECURSE "${build}")
  set(launcher)
  if(LAUNCHER)
    set(launcher "-DCMAKE_CXX_COMPILER_LAUNCHER=${LAUNCHER}")
  endif()
  # Unoptimized: the test pays for compiling, and the examples' runs here are short.
  run(${CMAKE_COMMAND} -S "${SOURCE_DIR}/examples" -B "${build}" -G Ninja
      "-DCMAKE_PREFIX_PATH=${prefix}" -DCMAKE_BUILD_TYPE= ${launcher})
  run(${CMAKE_COMMAND} --build "${build}")
  run_examples("${build}")
elseif(STEP STREQUAL "pkgconfig")
  set(build "${WORK_DIR}/examples-pkgconfig")
  file(REMOVE_RECURSE "${build}")
  file(COPY "${SOURCE_DIR}/examples/" DESTINATION "${build}")
  set(ENV{PKG_CONFIG_PATH} "${prefix}/lib/pkgconfig")
  run(pkg-config --modversion forkpool OUT version)
  expect("${version}" "^${VERSION}\n$" "pkg-config --modversion forkpool")
  set(compiler c++)
  if(LAUNCHER)
    set(compiler "${LAUNCHER} c++")
  endif()
  run(make -C "${build}" -j2 "CXX=${compiler}" CXXFLAGS=-O0)
  run_examples("${build}")
else()
  message(FATAL_ERROR "unknown STEP '${STEP}'")
endif()
