# The Debian packages that provide the files the installed headers and CMake package need, as
# dpkg itself says (dpkg -S), so that the package's development dependencies are found, not
# typed. dpkg-shlibdeps computes the run-time ones from the forkpool binary.
#
#   forkpool_debian_packages_owning(out_var FILES file...)
# sets out_var to "pkg-a, pkg-b" (empty when dpkg is not there or owns none of them).
function(forkpool_debian_packages_owning out_var)
  cmake_parse_arguments(A "" "" "FILES" ${ARGN})
  set(packages)
  find_program(FORKPOOL_DPKG dpkg)
  if(FORKPOOL_DPKG)
    foreach(file IN LISTS A_FILES)
      execute_process(COMMAND ${FORKPOOL_DPKG} -S "${file}" OUTPUT_VARIABLE owner
                      ERROR_QUIET RESULT_VARIABLE rc)
      if(rc EQUAL 0 AND owner MATCHES "^([^:,]+)")
        list(APPEND packages "${CMAKE_MATCH_1}")
      else()
        message(STATUS "forkpool: no Debian package owns ${file}; not a dependency of the .deb")
      endif()
    endforeach()
  endif()
  list(REMOVE_DUPLICATES packages)
  list(JOIN packages ", " joined)
  set(${out_var} "${joined}" PARENT_SCOPE)
endfunction()
