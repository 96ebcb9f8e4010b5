# `cpack -G DEB` (scripts/package): conveyor_<version>_amd64.deb from the install rules
# (cmake/install.cmake). Its runtime dependencies are computed by dpkg-shlibdeps from the binary's
# shared libraries, never listed by hand; scripts/test-package installs it on a bare Debian 12.
set(CPACK_PACKAGE_NAME conveyor)
set(CPACK_PACKAGE_VENDOR "Conveyor")
set(CPACK_PACKAGE_CONTACT "Conveyor maintainers <conveyor@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "integration dispatcher: queued messages to partner APIs, thousands at a time")
set(CPACK_PACKAGE_DESCRIPTION
    "Conveyor takes JSON messages from a Redis list or an AWS SQS queue and POSTs each to a\n partner API, with leases, retries, dead letters, routes, rate limits and ordering.")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # conveyor_<version>_<arch>.deb
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS OFF)
# The settings example is a conffile (an operator's edits survive upgrades); the maintainer
# scripts tell systemd about the unit.
configure_file(${CMAKE_SOURCE_DIR}/deploy/debian/conffiles.in ${CMAKE_BINARY_DIR}/deploy/debian/conffiles @ONLY)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${CMAKE_BINARY_DIR}/deploy/debian/conffiles
    ${CMAKE_SOURCE_DIR}/deploy/debian/postinst
    ${CMAKE_SOURCE_DIR}/deploy/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
