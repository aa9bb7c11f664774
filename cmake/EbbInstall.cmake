# What `cmake --install` puts under the prefix besides the library
# (cmake/EbbLibrary.cmake): the programs, the systemd unit and the operator's
# documentation. The installed layout is in README.md ("Install").
#
# Components: `server` (ebb, the unit, the docs), `bench` (ebb-bench) and
# `dev` (headers, libebb, the CMake package, ebb.pc).

install(TARGETS ebb RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT server)
if(TARGET ebb-bench)
  install(TARGETS ebb-bench RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT bench)
endif()

install(FILES ${PROJECT_SOURCE_DIR}/README.md ${PROJECT_SOURCE_DIR}/docs/operations.md
              ${PROJECT_SOURCE_DIR}/docs/configuration.md ${PROJECT_SOURCE_DIR}/docs/server.md
        DESTINATION ${CMAKE_INSTALL_DOCDIR} COMPONENT server)

# The manual page and the configuration file are what the installed `ebb`
# prints (tools/ebb/CMakeLists.txt).
install(FILES ${EBB_GENERATED_INSTALL_DIR}/ebb.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1 COMPONENT server)

# The configuration file and the systemd unit. packaging/ebb.service names
# the paths of a system install (/usr/bin/ebb, /etc/ebb/ebb.toml,
# /usr/share/doc/ebb); the prefix is chosen when `cmake --install --prefix`
# runs, so the installed unit is written then, naming that prefix's program,
# configuration and docs. The configuration goes to /etc/ebb for the prefix
# /usr (where GNUInstallDirs puts /usr's sysconfdir), else to
# <prefix>/etc/ebb, so an install under a test prefix writes nothing outside
# it; an existing file is the operator's and is kept. In the Debian package
# it is a conffile (cmake/EbbPackage.cmake). systemd reads units from
# <prefix>/lib/systemd/system for /usr and /usr/local.
install(CODE "
  if(\"\${CMAKE_INSTALL_PREFIX}\" STREQUAL \"/usr\")
    set(_ebb_etc /etc/ebb)
  else()
    set(_ebb_etc \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_SYSCONFDIR}/ebb\")
  endif()
  if(EXISTS \"\$ENV{DESTDIR}\${_ebb_etc}/ebb.toml\")
    message(STATUS \"Keeping: \$ENV{DESTDIR}\${_ebb_etc}/ebb.toml\")
  else()
    file(INSTALL \"${EBB_GENERATED_INSTALL_DIR}/ebb.toml\" DESTINATION \"\${_ebb_etc}\")
  endif()

  set(_ebb_unit_dir \"\${CMAKE_INSTALL_PREFIX}/lib/systemd/system\")
  file(READ \"${PROJECT_SOURCE_DIR}/packaging/ebb.service\" _ebb_unit)
  string(REPLACE \"ExecStart=/usr/bin/ebb serve --config /etc/ebb/ebb.toml \"
         \"ExecStart=\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_BINDIR}/ebb serve --config \${_ebb_etc}/ebb.toml \"
         _ebb_unit \"\${_ebb_unit}\")
  string(REPLACE \"file:/usr/share/doc/ebb/\" \"file:\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_DOCDIR}/\"
         _ebb_unit \"\${_ebb_unit}\")
  string(MD5 _ebb_where \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}\")
  file(WRITE \"${PROJECT_BINARY_DIR}/install-time/\${_ebb_where}/ebb.service\" \"\${_ebb_unit}\")
  file(INSTALL \"${PROJECT_BINARY_DIR}/install-time/\${_ebb_where}/ebb.service\" DESTINATION \"\${_ebb_unit_dir}\")
" COMPONENT server)
