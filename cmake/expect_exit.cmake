# Runs a program and fails unless it exits with the expected code and reports exactly one line on
# standard error (matching EXPECT_REGEX when given): how a command-line error must look.
#
#   cmake -DPROGRAM=<exe> "-DARGS=<arg;arg;...>" -DEXPECT_CODE=<n> [-DEXPECT_REGEX=<regex>] -P expect_exit.cmake
foreach(var PROGRAM EXPECT_CODE)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "expect_exit.cmake: ${var} is not set")
  endif()
endforeach()
execute_process(COMMAND ${PROGRAM} ${ARGS} RESULT_VARIABLE code OUTPUT_VARIABLE out ERROR_VARIABLE err)
# A crash gives a text ("Child aborted") instead of a number: it fails here too.
if(NOT code STREQUAL EXPECT_CODE)
  message(FATAL_ERROR "expected exit code ${EXPECT_CODE}, got '${code}'\nstandard error:\n${err}")
endif()
string(REGEX REPLACE "\n$" "" line "${err}")
if(line STREQUAL "" OR line MATCHES "\n")
  message(FATAL_ERROR "expected one line on standard error, got:\n${err}")
endif()
if(DEFINED EXPECT_REGEX AND NOT line MATCHES "${EXPECT_REGEX}")
  message(FATAL_ERROR "standard error does not match '${EXPECT_REGEX}':\n${line}")
endif()
message(STATUS "exit ${code}: ${line}")
