# OpenRTMSConfig.cmake: CMake package file of OpenRTMS (installed by scripts/build-lib.sh into
# <prefix>/lib/cmake/OpenRTMS/).
#
#   find_package(OpenRTMS 0.1 REQUIRED)
#   target_link_libraries(app PRIVATE OpenRTMS::rtms)
#
# Provides the imported target OpenRTMS::rtms (librtms.so plus the include directory holding
# rtms_common.h, rtms_csdk.h and openrtms.h), and for old-style code OpenRTMS_INCLUDE_DIRS and
# OpenRTMS_LIBRARIES. Every path is computed from this file's own location, so an installed
# prefix can be moved or unpacked anywhere.

cmake_minimum_required(VERSION 3.10)

# <prefix>/lib/cmake/OpenRTMS -> <prefix>
get_filename_component(_openrtms_prefix "${CMAKE_CURRENT_LIST_DIR}/../../.." ABSOLUTE)
set(_openrtms_lib "${_openrtms_prefix}/lib/librtms.so")
set(_openrtms_inc "${_openrtms_prefix}/include")

if(NOT EXISTS "${_openrtms_lib}" OR NOT EXISTS "${_openrtms_inc}/openrtms.h")
  set(OpenRTMS_FOUND FALSE)
  set(OpenRTMS_NOT_FOUND_MESSAGE
      "OpenRTMS installation at ${_openrtms_prefix} is incomplete (expected lib/librtms.so and include/openrtms.h)")
  unset(_openrtms_prefix)
  unset(_openrtms_lib)
  unset(_openrtms_inc)
  return()
endif()

if(NOT TARGET OpenRTMS::rtms)
  add_library(OpenRTMS::rtms SHARED IMPORTED)
  set_target_properties(OpenRTMS::rtms PROPERTIES
    IMPORTED_LOCATION "${_openrtms_lib}"
    IMPORTED_SONAME "librtms.so"
    INTERFACE_INCLUDE_DIRECTORIES "${_openrtms_inc}")
endif()

set(OpenRTMS_INCLUDE_DIRS "${_openrtms_inc}")
set(OpenRTMS_LIBRARIES OpenRTMS::rtms)

unset(_openrtms_prefix)
unset(_openrtms_lib)
unset(_openrtms_inc)
