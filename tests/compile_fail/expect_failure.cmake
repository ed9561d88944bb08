# cmake -DCXX=<compiler> -DFLAGS=<;-list> -DFILE=<source> -DEXPECT=<member> -P expect_failure.cmake
# Passes when the compilation fails AND the diagnostics name the static_assert message and the
# missing member, i.e. a user would see which requirement their type breaks.
execute_process(COMMAND ${CXX} ${FLAGS} ${FILE} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(rc EQUAL 0)
  message(FATAL_ERROR "${FILE} compiled with ${FLAGS} but must not")
endif()
if(NOT err MATCHES "does not model")
  message(FATAL_ERROR "the diagnostic lacks the static_assert message:\n${err}")
endif()
if(NOT err MATCHES "${EXPECT}")
  message(FATAL_ERROR "the diagnostic does not name '${EXPECT}':\n${err}")
endif()
message(STATUS "failed as expected and named '${EXPECT}'")
