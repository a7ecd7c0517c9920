# Finds every library S6 links, each with an error that names the Debian
# package to install (.ci/install-deps installs them all).
find_package(PkgConfig REQUIRED)

function(s6_require_pkg var module package)
  pkg_check_modules(${var} IMPORTED_TARGET ${module})
  if(NOT ${var}_FOUND)
    message(FATAL_ERROR "S6 needs ${module} (Debian package ${package}); "
                        "run .ci/install-deps")
  endif()
endfunction()

function(s6_require_lib var name header package)
  find_library(${var}_LIB NAMES ${name})
  find_path(${var}_INC NAMES ${header})
  if(NOT ${var}_LIB OR NOT ${var}_INC)
    message(FATAL_ERROR "S6 needs lib${name} (Debian package ${package}); "
                        "run .ci/install-deps")
  endif()
  add_library(s6dep_${name} UNKNOWN IMPORTED)
  set_target_properties(s6dep_${name} PROPERTIES
    IMPORTED_LOCATION ${${var}_LIB}
    INTERFACE_INCLUDE_DIRECTORIES ${${var}_INC})
endfunction()

s6_require_pkg(LUAJIT luajit libluajit-5.1-dev)
s6_require_pkg(LIBUV libuv libuv1-dev)
s6_require_pkg(HIREDIS hiredis libhiredis-dev)
s6_require_pkg(CURL libcurl libcurl4-openssl-dev)
s6_require_pkg(SQLITE sqlite3 libsqlite3-dev)
s6_require_pkg(JANSSON jansson libjansson-dev)
# http-parser ships no usable .pc file.
s6_require_lib(HTTP_PARSER http_parser http_parser.h libhttp-parser-dev)

find_library(M_LIB m)

find_program(LUAJIT_EXE luajit)
if(NOT LUAJIT_EXE)
  message(FATAL_ERROR "S6 needs luajit (Debian package luajit); run "
                      ".ci/install-deps")
endif()

# Only the test suites need these (.ci/packages-test.txt); the run command
# builds with -DS6_TESTS=OFF and installs only what the service needs.
if(S6_TESTS)
  s6_require_pkg(CMOCKA cmocka "libcmocka-dev (.ci/install-deps --tests)")
  find_program(BUSTED_EXE busted)
  if(NOT BUSTED_EXE)
    message(FATAL_ERROR "The tests need busted (Debian package lua-busted); "
                        "run .ci/install-deps --tests")
  endif()
endif()
