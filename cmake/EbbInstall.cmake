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

# packaging/ebb.service names the paths of a system install (/usr/bin/ebb,
# /usr/share/doc/ebb). Under another prefix, chosen when `cmake --install
# --prefix` runs, the installed unit names that prefix's instead. systemd
# reads units from <prefix>/lib/systemd/system for /usr and /usr/local.
install(CODE "
  set(_ebb_unit_dir \"\${CMAKE_INSTALL_PREFIX}/lib/systemd/system\")
  file(READ \"${PROJECT_SOURCE_DIR}/packaging/ebb.service\" _ebb_unit)
  string(REPLACE \"ExecStart=/usr/bin/ebb \" \"ExecStart=\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_BINDIR}/ebb \"
         _ebb_unit \"\${_ebb_unit}\")
  string(REPLACE \"file:/usr/share/doc/ebb/\" \"file:\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_DOCDIR}/\"
         _ebb_unit \"\${_ebb_unit}\")
  string(MD5 _ebb_where \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}\")
  file(WRITE \"${PROJECT_BINARY_DIR}/install-time/\${_ebb_where}/ebb.service\" \"\${_ebb_unit}\")
  file(INSTALL \"${PROJECT_BINARY_DIR}/install-time/\${_ebb_where}/ebb.service\" DESTINATION \"\${_ebb_unit_dir}\")
" COMPONENT server)
