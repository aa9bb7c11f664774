# The Debian package: `cpack -G DEB` (or `cpack --config CPackConfig.cmake`)
# in a release build directory writes ebb_<version>_<arch>.deb with the
# `server` and `bench` install components (cmake/EbbInstall.cmake) under
# /usr, the configuration file /etc/ebb/ebb.toml as a conffile, and the
# maintainer scripts of packaging/debian/ (the `ebb` system user, the data
# directory /var/lib/ebb, the service). Library dependencies are found by
# dpkg-shlibdeps. docs/operations.md describes the installed system.

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME ebb)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "Ebb maintainers <maintainers@users.noreply.b-seed-37305375.example>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "key-value storage engine and server (Redis protocol)")
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION "key-value storage engine and server (Redis protocol)
 Ebb is an LSM key-value store with many databases per store, served over
 the Redis protocol (RESP2) with an admin HTTP listener. Its background
 work (flushes, compaction, tiering to object storage) batches under load
 and rushes to idle, then makes no wakeups at all.
 .
 This package installs the ebb server and tool, the ebb-bench benchmark,
 the systemd unit ebb.service and the configuration file /etc/ebb/ebb.toml.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL server)
if(TARGET ebb-bench)
  list(APPEND CPACK_COMPONENTS_ALL bench)
endif()
set(CPACK_COMPONENTS_GROUPING ALL_COMPONENTS_IN_ONE)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION database)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# The maintainer scripts create the system user with adduser.
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${PROJECT_SOURCE_DIR}/packaging/debian/conffiles
    ${PROJECT_SOURCE_DIR}/packaging/debian/postinst
    ${PROJECT_SOURCE_DIR}/packaging/debian/prerm
    ${PROJECT_SOURCE_DIR}/packaging/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
# /etc/ebb/ebb.toml is installed by absolute path on purpose (a conffile).
set(CPACK_WARN_ON_ABSOLUTE_INSTALL_DESTINATION OFF)
set(CPACK_PACKAGE_DIRECTORY ${PROJECT_BINARY_DIR}/packages)  # cpack -B DIR writes elsewhere
include(CPack)
