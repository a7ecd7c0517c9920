# cmake -DHEADERS=a.h,b.h -DOUT=cdef.lua -P gen_cdef.cmake
# Copies the block between S6_FFI_BEGIN and S6_FFI_END of each header, in
# order, into a Lua module that returns them as one string for ffi.cdef.
# The headers stay the only hand-written copy of the declarations.
string(REPLACE "," ";" headers "${HEADERS}")
set(blocks "")
set(names "")
foreach(header IN LISTS headers)
  file(READ ${header} text)
  string(FIND "${text}" "/* S6_FFI_BEGIN */" begin)
  string(FIND "${text}" "/* S6_FFI_END */" end)
  if(begin EQUAL -1 OR end EQUAL -1 OR end LESS begin)
    message(FATAL_ERROR "${header}: S6_FFI_BEGIN/S6_FFI_END markers missing")
  endif()
  math(EXPR begin "${begin} + 18")
  math(EXPR len "${end} - ${begin}")
  string(SUBSTRING "${text}" ${begin} ${len} block)
  if(block MATCHES "\n#" OR block MATCHES "]]")
    message(FATAL_ERROR "${header}: the FFI block must hold no preprocessor "
                        "lines and no ']]'")
  endif()
  string(STRIP "${block}" block)
  get_filename_component(name ${header} NAME)
  string(APPEND blocks "/* ---- ${name} ---- */\n${block}\n")
  string(APPEND names " ${name}")
endforeach()
file(WRITE ${OUT} "-- Generated from${names} by src/build/gen_cdef.cmake.
-- Do not edit: change the headers, then run `cmake --build build --target cdef`.
return [[
${blocks}]]
")

# With -DCOMPARE=FILE: fail unless FILE equals what was just generated.
if(DEFINED COMPARE)
  file(READ ${OUT} fresh)
  file(READ ${COMPARE} committed)
  if(NOT fresh STREQUAL committed)
    message(FATAL_ERROR "${COMPARE} is out of date with ${HEADER}; run "
                        "`cmake --build build --target cdef` and commit it")
  endif()
endif()
