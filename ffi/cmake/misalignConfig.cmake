# CMake package file of misalign (installed by tools/install.sh into <prefix>/lib/cmake/misalign).
#
#   find_package(misalign 0.1 REQUIRED)
#   target_link_libraries(my_program PRIVATE misalign::misalign)
#
# misalign::misalign is the static library with its include directory (misalign.h for C,
# misalign.hpp for C++17) and the system libraries Rust's standard library needs (threads,
# dl, m). misalign::shared is the shared library, when it was installed.
# The prefix is found relative to this file, so an installed tree can be moved.
include(CMakeFindDependencyMacro)
find_dependency(Threads)

get_filename_component(_misalign_prefix "${CMAKE_CURRENT_LIST_DIR}/../../.." ABSOLUTE)

if(NOT TARGET misalign::misalign)
  if(NOT EXISTS "${_misalign_prefix}/lib/libmisalign.a")
    set(misalign_FOUND FALSE)
    set(misalign_NOT_FOUND_MESSAGE "${_misalign_prefix}/lib/libmisalign.a is missing")
    return()
  endif()
  add_library(misalign::misalign STATIC IMPORTED)
  set_target_properties(misalign::misalign PROPERTIES
    IMPORTED_LOCATION "${_misalign_prefix}/lib/libmisalign.a"
    IMPORTED_LINK_INTERFACE_LANGUAGES "C"
    INTERFACE_INCLUDE_DIRECTORIES "${_misalign_prefix}/include"
    INTERFACE_LINK_LIBRARIES "Threads::Threads;${CMAKE_DL_LIBS};m")
endif()

if(NOT TARGET misalign::shared AND EXISTS "${_misalign_prefix}/lib/libmisalign${CMAKE_SHARED_LIBRARY_SUFFIX}")
  add_library(misalign::shared SHARED IMPORTED)
  set_target_properties(misalign::shared PROPERTIES
    IMPORTED_LOCATION "${_misalign_prefix}/lib/libmisalign${CMAKE_SHARED_LIBRARY_SUFFIX}"
    IMPORTED_NO_SONAME TRUE
    INTERFACE_INCLUDE_DIRECTORIES "${_misalign_prefix}/include")
endif()

unset(_misalign_prefix)
