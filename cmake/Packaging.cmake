# What the installed package holds beyond the libraries, headers and CMake package: the bash
# completion and a pkg-config file; then the Debian package, built by `cpack -G DEB` from the
# install rules.
include(${CMAKE_CURRENT_LIST_DIR}/DebianDevDepends.cmake)

install(FILES ${PROJECT_SOURCE_DIR}/completion/forkpool.bash
        DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions RENAME forkpool)

# forkpool.pc finds its prefix from its own directory (${pcfiledir}), so the same file works
# under /usr, /usr/local or an unpacked tree.
file(RELATIVE_PATH FORKPOOL_PC_PREFIX_FROM_PCDIR
     /prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig /prefix)
string(REGEX REPLACE "/$" "" FORKPOOL_PC_PREFIX_FROM_PCDIR "${FORKPOOL_PC_PREFIX_FROM_PCDIR}")
configure_file(${CMAKE_CURRENT_LIST_DIR}/forkpool.pc.in ${PROJECT_BINARY_DIR}/forkpool.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/forkpool.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

set(CPACK_PACKAGE_NAME forkpool)
set(CPACK_PACKAGE_VENDOR forkpool)
set(CPACK_PACKAGE_CONTACT "forkpool maintainers <forkpool@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "parallel worker-pool subprocess orchestrator: C++20 library and GNU parallel drop-in")
set(CPACK_PACKAGE_DESCRIPTION
    "forkpool runs work on a pool of worker processes that report back over pipes. A crashed\n\
worker fails only its task; the pool replaces it. This package holds the forkpool command\n\
(forkpool run, a drop-in for the everyday subset of GNU parallel; forkpool bench; forkpool\n\
worker), its manual pages and bash completion, and the static libraries, headers, CMake\n\
package and pkg-config file for building programs on the library.")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # forkpool_<version>_<arch>.deb
set(CPACK_DEBIAN_PACKAGE_SECTION devel)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
# The run-time dependencies, computed by dpkg-shlibdeps from the forkpool binary...
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# ... and the development ones, from the packages that own what the headers and the CMake
# package use (CPack appends the computed ones to these).
forkpool_debian_packages_owning(CPACK_DEBIAN_PACKAGE_DEPENDS FILES
  ${Boost_INCLUDE_DIR}/boost/version.hpp
  ${boost_serialization_DIR}/boost_serialization-config.cmake
  ${spdlog_DIR}/spdlogConfig.cmake
  ${XXHASH_INCLUDEDIR}/xxhash.h)
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "bash-completion, pkg-config")
set(CPACK_SOURCE_IGNORE_FILES /build/ /\\.git/)
include(CPack)
