# The API reference: `cmake --build <dir> --target docs` runs Doxygen over include/forkpool
# when Doxygen is installed. Not part of the default build or of the tests. Warnings (an
# undocumented public name among them) fail the target.
find_package(Doxygen QUIET)
if(DOXYGEN_FOUND)
  add_custom_target(docs
    COMMAND ${CMAKE_COMMAND} -E make_directory ${PROJECT_BINARY_DIR}/docs
    COMMAND ${CMAKE_COMMAND} -E env
            FORKPOOL_VERSION=${PROJECT_VERSION}
            FORKPOOL_DOCS_OUTPUT=${PROJECT_BINARY_DIR}/docs
            FORKPOOL_DOXYGEN_FILTER=${CMAKE_CURRENT_LIST_DIR}/doxygen_comments.sed
            ${DOXYGEN_EXECUTABLE} ${PROJECT_SOURCE_DIR}/Doxyfile
    WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}
    COMMENT "Generating the API reference in ${PROJECT_BINARY_DIR}/docs/html"
    VERBATIM)
endif()
