# libebb: the embeddable library (include/ebb/ and the layers below the
# server), installed with a CMake package and a pkg-config file.
#
# The layers stay static libraries for Ebb's own programs and tests, which
# use their internals; libebb is made of the same object files (compiled
# once), static or shared as BUILD_SHARED_LIBS says. Everything is compiled
# with hidden visibility, so a shared libebb exports only what
# include/ebb/ marks EBB_EXPORT (cmake/templates/ebb.map keeps template
# instantiations local too).
#
#   cmake --install build/release --prefix /opt/ebb
#   find_package(Ebb CONFIG REQUIRED) + target_link_libraries(app PRIVATE Ebb::ebb)
#   or: c++ -std=c++20 app.cc $(pkg-config --cflags --libs ebb)

include(CMakePackageConfigHelpers)

# The layers libebb is made of, bottom to top (the server is not part of it).
set(EBB_LIBRARY_LAYERS ebb_base ebb_env ebb_runtime ebb_storage ebb_compaction ebb_tiering ebb_engine)

# Libraries those layers call into: for a static libebb its users link them
# too, and the installed package finds them. `prefix=module` pairs are
# pkg-config modules (the PkgConfig::<prefix> targets of EbbDependencies.cmake).
set(EBB_LIBRARY_PKG_MODULES ZSTD=libzstd SODIUM=libsodium LIBARCHIVE=libarchive XXHASH=libxxhash TOMLPP=tomlplusplus)
set(EBB_LIBRARY_CMAKE_PACKAGES Threads fmt spdlog CURL)
set(EBB_LIBRARY_DEPS Threads::Threads fmt::fmt spdlog::spdlog CURL::libcurl)
set(EBB_LIBRARY_PC_REQUIRES fmt spdlog libcurl)
foreach(pair IN LISTS EBB_LIBRARY_PKG_MODULES)
  string(REPLACE "=" ";" pair "${pair}")
  list(GET pair 0 prefix)
  list(GET pair 1 module)
  list(APPEND EBB_LIBRARY_DEPS PkgConfig::${prefix})
  list(APPEND EBB_LIBRARY_PC_REQUIRES ${module})
endforeach()

# The public headers, and the generated ebb/version.h beside them.
file(GLOB EBB_PUBLIC_HEADERS CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/include/ebb/*.h)
set(EBB_GENERATED_INCLUDE_DIR ${PROJECT_BINARY_DIR}/include)
configure_file(${PROJECT_SOURCE_DIR}/cmake/templates/version.h.in ${EBB_GENERATED_INCLUDE_DIR}/ebb/version.h @ONLY)

# 0.x releases may change the ABI in every minor release, so the soname
# carries major.minor: libebb.so.0.1.
if(PROJECT_VERSION_MAJOR EQUAL 0)
  set(EBB_SOVERSION ${PROJECT_VERSION_MAJOR}.${PROJECT_VERSION_MINOR})
else()
  set(EBB_SOVERSION ${PROJECT_VERSION_MAJOR})
endif()

function(ebb_add_public_library)
  set(objects)
  foreach(layer IN LISTS EBB_LIBRARY_LAYERS)
    list(APPEND objects $<TARGET_OBJECTS:${layer}>)
  endforeach()
  # `ebb` is the command-line tool's target; the library is ebb_library,
  # built as libebb and exported as Ebb::ebb.
  add_library(ebb_library ${objects})
  add_library(Ebb::ebb ALIAS ebb_library)
  set_target_properties(ebb_library PROPERTIES
    OUTPUT_NAME ebb
    EXPORT_NAME ebb
    VERSION ${PROJECT_VERSION}
    SOVERSION ${EBB_SOVERSION}
    LINKER_LANGUAGE CXX)
  target_include_directories(ebb_library PUBLIC
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
    $<BUILD_INTERFACE:${EBB_GENERATED_INCLUDE_DIR}>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  target_compile_features(ebb_library PUBLIC cxx_std_20)
  target_link_libraries(ebb_library PRIVATE ${EBB_LIBRARY_DEPS})
  get_target_property(type ebb_library TYPE)
  if(type STREQUAL "SHARED_LIBRARY")
    set(map ${PROJECT_SOURCE_DIR}/cmake/templates/ebb.map)
    target_link_options(ebb_library PRIVATE "LINKER:--version-script=${map}" "LINKER:--no-undefined")
    set_property(TARGET ebb_library APPEND PROPERTY LINK_DEPENDS ${map})
  endif()
endfunction()
ebb_add_public_library()

# --- install: headers, library, CMake package, pkg-config ----------------

install(FILES ${EBB_PUBLIC_HEADERS} ${EBB_GENERATED_INCLUDE_DIR}/ebb/version.h
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/ebb COMPONENT dev)
install(TARGETS ebb_library EXPORT EbbTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT dev
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT dev NAMELINK_COMPONENT dev
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

set(EBB_CMAKE_PACKAGE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/Ebb)
install(EXPORT EbbTargets NAMESPACE Ebb:: DESTINATION ${EBB_CMAKE_PACKAGE_DIR} COMPONENT dev)
if(BUILD_SHARED_LIBS)
  # A shared libebb records its own dependencies (DT_NEEDED): users need none.
  set(EBB_LIBRARY_KIND shared)
  set(EBB_CONFIG_PKG_MODULES "")
  set(EBB_CONFIG_PACKAGES "")
  set(EBB_PC_REQUIRES "")
  set(EBB_PC_LIBS "")
else()
  set(EBB_LIBRARY_KIND static)
  set(EBB_CONFIG_PKG_MODULES "${EBB_LIBRARY_PKG_MODULES}")
  list(JOIN EBB_LIBRARY_CMAKE_PACKAGES " " EBB_CONFIG_PACKAGES)
  list(JOIN EBB_LIBRARY_PC_REQUIRES " " EBB_PC_REQUIRES)
  set(EBB_PC_LIBS "-pthread")
endif()
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/templates/EbbConfig.cmake.in
  ${PROJECT_BINARY_DIR}/cmake/EbbConfig.cmake
  INSTALL_DESTINATION ${EBB_CMAKE_PACKAGE_DIR})
# 0.x: a minor release may break compatibility, so only the same minor matches.
if(PROJECT_VERSION_MAJOR EQUAL 0)
  set(compatibility SameMinorVersion)
else()
  set(compatibility SameMajorVersion)
endif()
write_basic_package_version_file(${PROJECT_BINARY_DIR}/cmake/EbbConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY ${compatibility})
install(FILES ${PROJECT_BINARY_DIR}/cmake/EbbConfig.cmake ${PROJECT_BINARY_DIR}/cmake/EbbConfigVersion.cmake
        DESTINATION ${EBB_CMAKE_PACKAGE_DIR} COMPONENT dev)

# ebb.pc names the prefix it is installed under, which `cmake --install
# --prefix` chooses at install time: the file is written then.
set(EBB_PC_PREFIX "@EBB_PC_PREFIX@")
configure_file(${PROJECT_SOURCE_DIR}/cmake/templates/ebb.pc.in ${PROJECT_BINARY_DIR}/cmake/ebb.pc.in @ONLY)
install(CODE "
  set(EBB_PC_PREFIX \"\${CMAKE_INSTALL_PREFIX}\")
  string(MD5 _ebb_where \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}\")
  set(_ebb_pc \"${PROJECT_BINARY_DIR}/install-time/\${_ebb_where}/ebb.pc\")
  configure_file(\"${PROJECT_BINARY_DIR}/cmake/ebb.pc.in\" \"\${_ebb_pc}\" @ONLY)
  file(INSTALL \"\${_ebb_pc}\" DESTINATION \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_LIBDIR}/pkgconfig\")
" COMPONENT dev)
