# What `cmake --install` (and so the Debian package, cmake/package.cmake) puts where, under
# CMAKE_INSTALL_PREFIX: the binary, its man page (made from `conveyor --help-all` by help2man), the
# settings example under the system configuration directory, and the systemd template unit.
include(GNUInstallDirs)

install(TARGETS conveyor RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

# With the prefix /usr (the package), the configuration goes to /etc, not /usr/etc, as
# GNUInstallDirs' full path says; any other prefix keeps it under the prefix, relative, so
# `cmake --install --prefix DIR` never writes outside DIR.
set(CONVEYOR_SYSCONFDIR ${CMAKE_INSTALL_FULL_SYSCONFDIR}/conveyor)  # as the unit names it
set(CONVEYOR_BINDIR ${CMAKE_INSTALL_FULL_BINDIR})
if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  set(conveyor_config_destination ${CONVEYOR_SYSCONFDIR})
else()
  set(conveyor_config_destination ${CMAKE_INSTALL_SYSCONFDIR}/conveyor)
endif()
install(FILES ${CMAKE_SOURCE_DIR}/.env.example DESTINATION ${conveyor_config_destination} RENAME conveyor.env.example)

configure_file(${CMAKE_SOURCE_DIR}/deploy/systemd/conveyor-work@.service.in
               ${CMAKE_BINARY_DIR}/deploy/systemd/conveyor-work@.service @ONLY)
# Debian's systemd looks in /usr/lib/systemd/system (/lib is /usr/lib on bookworm); other
# prefixes keep the unit under their own tree, for an operator to link.
install(FILES ${CMAKE_BINARY_DIR}/deploy/systemd/conveyor-work@.service DESTINATION lib/systemd/system)

# The man page: AUTO makes it when help2man is present, ON requires it (scripts/package), OFF skips it.
set(CONVEYOR_MAN_PAGE AUTO CACHE STRING "Make the man page with help2man: ON, OFF or AUTO")
set_property(CACHE CONVEYOR_MAN_PAGE PROPERTY STRINGS ON OFF AUTO)
if(NOT CONVEYOR_MAN_PAGE STREQUAL "OFF")
  find_program(HELP2MAN help2man)
  find_program(GZIP gzip)
  if(HELP2MAN AND GZIP)
    set(man_page ${CMAKE_BINARY_DIR}/man/conveyor.1)
    add_custom_command(
      OUTPUT ${man_page}.gz
      COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/man
      COMMAND ${HELP2MAN} --no-info --no-discard-stderr --help-option=--help-all
              "--name=delivers queued messages to partner APIs, thousands at a time"
              --include=${CMAKE_SOURCE_DIR}/deploy/man/conveyor.h2m
              --output=${man_page} $<TARGET_FILE:conveyor>
      COMMAND ${GZIP} -9nf ${man_page}
      DEPENDS conveyor ${CMAKE_SOURCE_DIR}/deploy/man/conveyor.h2m
      COMMENT "Making the man page from conveyor --help-all"
      VERBATIM)
    add_custom_target(conveyor_man_page ALL DEPENDS ${man_page}.gz)
    install(FILES ${man_page}.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
  elseif(CONVEYOR_MAN_PAGE STREQUAL "ON")
    message(FATAL_ERROR "CONVEYOR_MAN_PAGE=ON needs help2man and gzip (Debian: apt-get install help2man)")
  else()
    message(STATUS "help2man not found: no man page (CONVEYOR_MAN_PAGE=AUTO)")
  endif()
endif()
