# cmake -DSOURCE=<dir> -DBINARY=<dir> -DARGS=<;-list> -P build_and_run.cmake
# Configures, builds and runs a consumer project from scratch; fails on any step.
file(REMOVE_RECURSE "${BINARY}")
execute_process(COMMAND ${CMAKE_COMMAND} -S "${SOURCE}" -B "${BINARY}" -DCMAKE_BUILD_TYPE=Release ${ARGS}
                RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "consumer configure failed (${rc})")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} --build "${BINARY}" -j2 RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "consumer build failed (${rc})")
endif()
execute_process(COMMAND "${BINARY}/consumer" RESULT_VARIABLE rc OUTPUT_VARIABLE out)
message(STATUS "consumer said: ${out}")
if(rc OR NOT out MATCHES "consumer ok")
  message(FATAL_ERROR "consumer run failed (${rc})")
endif()
