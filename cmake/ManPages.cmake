# The manual pages: docs/man/*.scd, rendered by scdoc at build time and installed gzipped in
# section 1. Without scdoc they are left out, with a warning (the .deb test then fails).
set(FORKPOOL_MAN_PAGES forkpool forkpool-run forkpool-bench forkpool-worker)
find_program(FORKPOOL_SCDOC scdoc)
if(FORKPOOL_SCDOC)
  set(man_outputs)
  foreach(page IN LISTS FORKPOOL_MAN_PAGES)
    set(source ${PROJECT_SOURCE_DIR}/docs/man/${page}.1.scd)
    set(output ${PROJECT_BINARY_DIR}/man/${page}.1.gz)
    # gzip -n: no name or time stamp, so the same source gives the same bytes.
    add_custom_command(OUTPUT ${output}
      COMMAND ${CMAKE_COMMAND} -E make_directory ${PROJECT_BINARY_DIR}/man
      COMMAND sh -c "'${FORKPOOL_SCDOC}' < '${source}' | gzip -9n > '${output}.tmp'"
      COMMAND ${CMAKE_COMMAND} -E rename ${output}.tmp ${output}
      DEPENDS ${source}
      COMMENT "Rendering the manual page ${page}(1)"
      VERBATIM)
    list(APPEND man_outputs ${output})
  endforeach()
  add_custom_target(forkpool_man ALL DEPENDS ${man_outputs})
  install(FILES ${man_outputs} DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
else()
  message(WARNING "scdoc not found (scripts/install-deps installs it): the manual pages are "
                  "not built or installed")
endif()
