# cmake -DHEADER=s6_core.h -DOUT=cdef.lua -P gen_cdef.cmake
# Copies the block between S6_FFI_BEGIN and S6_FFI_END of the public header
# into a Lua module that returns it as one string for ffi.cdef.  The header
# stays the only hand-written copy of the declarations.
file(READ ${HEADER} text)
string(FIND "${text}" "/* S6_FFI_BEGIN */" begin)
string(FIND "${text}" "/* S6_FFI_END */" end)
if(begin EQUAL -1 OR end EQUAL -1 OR end LESS begin)
  message(FATAL_ERROR "${HEADER}: S6_FFI_BEGIN/S6_FFI_END markers missing")
endif()
math(EXPR begin "${begin} + 18")
math(EXPR len "${end} - ${begin}")
string(SUBSTRING "${text}" ${begin} ${len} block)
if(block MATCHES "\n#" OR block MATCHES "]]")
  message(FATAL_ERROR "${HEADER}: the FFI block must hold no preprocessor "
                      "lines and no ']]'")
endif()
string(STRIP "${block}" block)
file(WRITE ${OUT} "-- Generated from src/core/s6_core.h by src/build/gen_cdef.cmake.
-- Do not edit: change the header, then run `cmake --build build --target cdef`.
return [[
${block}
]]
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
