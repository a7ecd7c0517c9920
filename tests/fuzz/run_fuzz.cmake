# cmake -DFUZZER= -DSEEDS= -DWORK= -DDICT= -DSECONDS= [-DMISSING=] -P run_fuzz.cmake
# Runs one libFuzzer target for SECONDS; fails on any finding.
if(NOT "${MISSING}" STREQUAL "")
  message(FATAL_ERROR "fuzz: cannot run ${FUZZER}: ${MISSING}")
endif()
if(NOT EXISTS ${FUZZER})
  message(FATAL_ERROR "fuzz: ${FUZZER} was not built (build the s6_fuzzers target)")
endif()
file(MAKE_DIRECTORY ${WORK}/corpus ${WORK}/artifacts)
set(dict_arg "")
if(EXISTS ${DICT})
  set(dict_arg -dict=${DICT})
endif()
execute_process(
  COMMAND ${FUZZER} -max_total_time=${SECONDS} -timeout=10
          -print_final_stats=1 -artifact_prefix=${WORK}/artifacts/
          ${dict_arg} ${WORK}/corpus ${SEEDS}
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "fuzz: ${FUZZER} exited with ${rc}; the reproducer is "
                      "in ${WORK}/artifacts/")
endif()
