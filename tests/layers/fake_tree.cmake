# Runs layers.cmake on a small made-up tree and checks its verdict, so the
# guard of src/ is known to fail when it should (and only then).
#
#   cmake -DCASE=<name> -DLAYERS=layers.cmake -DWORK=<scratch dir> -P fake_tree.cmake
#
# Each case is a tree, written as "file:include,include..." entries, and
# what layers.cmake must say: "pass", or a regular expression its failure
# output must match.
cmake_minimum_required(VERSION 3.20)

set(cycle_tree "a/a.c:b/b.h" "a/a.h:" "b/b.h:c/c.h" "c/c.h:a/a.h" "d/d.c:a/a.h")
set(cycle_expect "cycle between folders: a -> b -> c -> a")
set(bare_tree "a/a.c:b.h" "b/b.h:")
set(bare_expect "a/a.c: #include \"b.h\" is b/b.h")
set(relative_tree "a/a.c:../b/b.h" "b/b.h:")
set(relative_expect "a/a.c: #include \"../b/b.h\" is b/b.h")
set(nested_tree "a/a.c:s4/wire.h" "b/s4/wire.h:")
set(nested_expect "a/a.c: #include \"s4/wire.h\" is b/s4/wire.h")
# Layers, a same-folder bare include, a nested folder and a header from
# outside the tree: all fine.
set(clean_tree "a/a.c:b/b.h,a.h,x/y.h,outside.h" "a/a.h:" "a/x/y.h:" "b/b.h:c/c.h"
               "c/c.h:")
set(clean_expect "pass")

if(NOT DEFINED ${CASE}_tree)
  message(FATAL_ERROR "fake_tree: no case '${CASE}'")
endif()
set(root "${WORK}/${CASE}")
file(REMOVE_RECURSE "${root}")
foreach(entry IN LISTS ${CASE}_tree)
  string(REGEX MATCH "^([^:]+):(.*)$" _ "${entry}")
  set(path "${CMAKE_MATCH_1}")
  string(REPLACE "," ";" incs "${CMAKE_MATCH_2}")
  set(text "/* ${path} */\n#include <stdio.h>\n")
  foreach(inc IN LISTS incs)
    string(APPEND text "#include \"${inc}\"\n")
  endforeach()
  file(WRITE "${root}/${path}" "${text}")
endforeach()

execute_process(COMMAND ${CMAKE_COMMAND} -DSRC=${root} -P ${LAYERS}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
message("${out}")
if(${CASE}_expect STREQUAL "pass")
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "fake_tree ${CASE}: layers.cmake failed on a layered tree")
  endif()
elseif(rc EQUAL 0)
  message(FATAL_ERROR "fake_tree ${CASE}: layers.cmake passed; it must fail")
else()
  string(REGEX REPLACE "([][+.*()^$?|\\])" "\\\\\\1" pattern "${${CASE}_expect}")
  if(NOT out MATCHES "${pattern}")
    message(FATAL_ERROR "fake_tree ${CASE}: failed without saying '${${CASE}_expect}'")
  endif()
endif()
