# cmake -DTEMPLATE=page.html -DCHARTJS=chart.min.js -DNAME=sym -DOUT=page.c -P embed_page.cmake
cmake_minimum_required(VERSION 3.18)
# Writes a C file holding the page with Chart.js inlined in place of the
# marker /*S6:CHARTJS*/, as bytes: the binary serves it without reading a
# file or loading anything from elsewhere.
file(READ ${TEMPLATE} page)
file(READ ${CHARTJS} lib)
string(FIND "${page}" "/*S6:CHARTJS*/" at)
if(at EQUAL -1)
  message(FATAL_ERROR "${TEMPLATE}: no /*S6:CHARTJS*/ marker")
endif()
string(FIND "${lib}" "</script" closes)
if(NOT closes EQUAL -1)
  message(FATAL_ERROR "${CHARTJS} contains </script and cannot be inlined")
endif()
string(REPLACE "/*S6:CHARTJS*/" "${lib}" page "${page}")
file(WRITE ${OUT}.html "${page}")
file(READ ${OUT}.html hex HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," hex "${hex}")
file(WRITE ${OUT}
  "/* Generated from ${TEMPLATE} and ${CHARTJS}; do not edit. */\n"
  "#include <stddef.h>\n"
  "const unsigned char ${NAME}[] = {${hex}0x00};\n"
  "const size_t ${NAME}_len = sizeof ${NAME} - 1;\n")
