# The LuaJIT that runs rule scripts (docs/sandbox-deadline.md).
#
# Debian's stock LuaJIT never runs a count hook inside a JIT-compiled trace,
# so a rule's `while true do end` could not be stopped. With S6_HOOKED_LUAJIT
# (the default) the build compiles Debian's own LuaJIT source package with
# -DLUAJIT_ENABLE_CHECKHOOK once into .deps/luajit-<version>/, shared by every
# build folder, and exports:
#   s6::luajit     static libluajit-5.1.a + headers + -ldl -lm; executables
#                  linking it export their symbols (--export-dynamic), which
#                  ffi.C and C modules such as cjson.so need to find lua_*
#                  and s6_* in the binary itself
#   (the deadline watchdog is part of s6rules: src/rules/watchdog.h)
#   S6_LUAJIT_EXE  the matching luajit interpreter (busted runs on it)
# Never link s6::luajit together with PkgConfig::LUAJIT: two VMs in one
# process would clash symbol by symbol.
option(S6_HOOKED_LUAJIT
  "Build Debian's LuaJIT with hook checks so runaway rules can be stopped" ON)

set(S6_LUAJIT_FETCH ${CMAKE_CURRENT_LIST_DIR}/fetch-luajit.sh)
set(S6_LUAJIT_PATCH ${CMAKE_CURRENT_LIST_DIR}/luajit-checkhook-itern.patch)

# The Debian version of the stock library is the one we rebuild, so both
# LuaJITs run the same code apart from the hook checks.
function(s6__luajit_debian_version out)
  execute_process(COMMAND dpkg-query -W -f=\${Version} libluajit-5.1-dev
                  OUTPUT_VARIABLE v RESULT_VARIABLE rc ERROR_QUIET)
  if(NOT rc EQUAL 0 OR v STREQUAL "")
    message(FATAL_ERROR "S6 needs libluajit-5.1-dev (run .ci/install-deps) "
                        "to know which LuaJIT version to rebuild")
  endif()
  set(${out} ${v} PARENT_SCOPE)
endfunction()

function(s6__luajit_require_tools)
  foreach(tool apt-get dpkg-source dpkg-architecture dpkg-buildflags flock make
               patch)
    find_program(S6_TOOL_${tool} ${tool})
    if(NOT S6_TOOL_${tool})
      message(FATAL_ERROR "Building the hooked LuaJIT needs `${tool}` "
        "(Debian packages dpkg-dev, util-linux, make, patch): run "
        ".ci/install-deps, "
        "or configure with -DS6_HOOKED_LUAJIT=OFF to use the stock LuaJIT "
        "(runaway rules then cannot be stopped)")
    endif()
  endforeach()
endfunction()

# Fetch and build once per (version, recipe); the hashes of the script and
# the patch are part of the stamp, so changing the recipe rebuilds the cache.
function(s6__luajit_build version dest)
  file(SHA256 ${S6_LUAJIT_FETCH} script)
  file(SHA256 ${S6_LUAJIT_PATCH} patch)
  string(SUBSTRING "${script}" 0 16 script)
  string(SUBSTRING "${patch}" 0 16 patch)
  set(stamp "${version}-${script}-${patch}")
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
               ${S6_LUAJIT_FETCH} ${S6_LUAJIT_PATCH} ${dest}/.stamp)
  if(EXISTS ${dest}/.stamp)
    file(READ ${dest}/.stamp have)
    string(STRIP "${have}" have)
    if(have STREQUAL stamp)
      return()
    endif()
  endif()
  s6__luajit_require_tools()
  set(log ${CMAKE_BINARY_DIR}/luajit-build.log)
  message(STATUS "Building LuaJIT ${version} with hook checks into ${dest} "
                 "(once, about a minute; log: ${log})")
  string(TIMESTAMP t0 "%s")
  execute_process(COMMAND sh ${S6_LUAJIT_FETCH} ${version} ${dest} ${stamp}
                  OUTPUT_FILE ${log} ERROR_FILE ${log} RESULT_VARIABLE rc)
  string(TIMESTAMP t1 "%s")
  if(NOT rc EQUAL 0)
    file(STRINGS ${log} tail)
    list(LENGTH tail n)
    set(from 0)
    if(n GREATER 15)
      math(EXPR from "${n} - 15")
    endif()
    list(SUBLIST tail ${from} -1 tail)
    list(JOIN tail "\n  " tail)
    message(FATAL_ERROR "Fetching or building LuaJIT ${version} failed "
      "(full log: ${log}):\n  ${tail}\n"
      "It downloads Debian's source package from the mirror in "
      "/etc/apt/sources.list.d. Check that the mirror is reachable and still "
      "carries luajit=${version} (after a Debian update: apt-get install "
      "--only-upgrade libluajit-5.1-dev luajit, then reconfigure), or "
      "configure with -DS6_HOOKED_LUAJIT=OFF to use the stock LuaJIT "
      "(runaway rules then cannot be stopped inside JIT-compiled loops).")
  endif()
  math(EXPR secs "${t1} - ${t0}")
  message(STATUS "LuaJIT with hook checks built in ${secs} s")
endfunction()

if(S6_HOOKED_LUAJIT)
  s6__luajit_debian_version(S6_LUAJIT_VERSION)
  string(REGEX REPLACE "[~:]" "-" dir_version ${S6_LUAJIT_VERSION})
  set(S6_LUAJIT_DIR ${CMAKE_SOURCE_DIR}/.deps/luajit-${dir_version})
  s6__luajit_build(${S6_LUAJIT_VERSION} ${S6_LUAJIT_DIR})

  add_library(s6::luajit STATIC IMPORTED GLOBAL)
  set_target_properties(s6::luajit PROPERTIES
    IMPORTED_LOCATION ${S6_LUAJIT_DIR}/lib/libluajit-5.1.a
    INTERFACE_INCLUDE_DIRECTORIES ${S6_LUAJIT_DIR}/include/luajit-2.1
    INTERFACE_LINK_LIBRARIES "${CMAKE_DL_LIBS};m")
  set(S6_LUAJIT_EXE ${S6_LUAJIT_DIR}/bin/luajit)
  set(S6_LUAJIT_JITLIB ${S6_LUAJIT_DIR}/share/luajit)
else()
  message(WARNING "S6_HOOKED_LUAJIT=OFF: rules run on the stock LuaJIT, where "
    "count hooks do not fire inside JIT-compiled traces, so a runaway rule "
    "loop cannot be stopped at its deadline")
  add_library(s6::luajit INTERFACE IMPORTED GLOBAL)
  set_target_properties(s6::luajit PROPERTIES
    INTERFACE_LINK_LIBRARIES PkgConfig::LUAJIT)
  set(S6_LUAJIT_EXE ${LUAJIT_EXE})
  set(S6_LUAJIT_JITLIB "")
endif()

# ffi.C and Lua C modules resolve symbols in the executable itself.
set_property(TARGET s6::luajit APPEND PROPERTY INTERFACE_LINK_OPTIONS
  "$<$<STREQUAL:$<TARGET_PROPERTY:TYPE>,EXECUTABLE>:LINKER:--export-dynamic>")

find_package(Threads REQUIRED)
