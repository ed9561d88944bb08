# Runs a program and fails unless it exits with the expected code, within a time limit, with its
# last line on standard error saying why (matching EXPECT_REGEX when given): how a command-line
# error must look. Optionally checks that a path was not created (no work before validation).
#
#   cmake -DPROGRAM=<exe> "-DARGS=<arg;arg;...>" -DEXPECT_CODE=<n> [-DEXPECT_REGEX=<regex>]
#         [-DMAX_SECONDS=<s>] [-DNOT_CREATED=<path>] [-DENV=<VAR=value;...>] -P expect_exit.cmake
foreach(var PROGRAM EXPECT_CODE)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "expect_exit.cmake: ${var} is not set")
  endif()
endforeach()
if(NOT DEFINED MAX_SECONDS)
  set(MAX_SECONDS 30)
endif()
if(DEFINED NOT_CREATED)
  file(REMOVE_RECURSE "${NOT_CREATED}")
endif()
string(TIMESTAMP t0 "%s")
execute_process(COMMAND ${CMAKE_COMMAND} -E env ${ENV} ${PROGRAM} ${ARGS} RESULT_VARIABLE code OUTPUT_VARIABLE out
                ERROR_VARIABLE err TIMEOUT ${MAX_SECONDS})
string(TIMESTAMP t1 "%s")
math(EXPR seconds "${t1} - ${t0}")
# A crash gives a text ("Child aborted") instead of a number, a hang "Process terminated due to timeout": both fail here.
if(NOT code STREQUAL EXPECT_CODE)
  message(FATAL_ERROR "expected exit code ${EXPECT_CODE}, got '${code}' after ${seconds} s\nstandard error:\n${err}")
endif()
string(REGEX REPLACE "\n+$" "" trimmed "${err}")
string(REGEX REPLACE "^.*\n" "" line "${trimmed}")
if(line STREQUAL "")
  message(FATAL_ERROR "expected a message on standard error, got none")
endif()
if(DEFINED EXPECT_REGEX AND NOT line MATCHES "${EXPECT_REGEX}")
  message(FATAL_ERROR "the last line of standard error does not match '${EXPECT_REGEX}':\n${err}")
endif()
if(err MATCHES "terminate called|Aborted|runtime error:")
  message(FATAL_ERROR "an uncaught exception or undefined behaviour:\n${err}")
endif()
if(DEFINED NOT_CREATED AND EXISTS "${NOT_CREATED}")
  message(FATAL_ERROR "${NOT_CREATED} was created: work started before the flags were checked")
endif()
message(STATUS "exit ${code} in ${seconds} s: ${line}")
