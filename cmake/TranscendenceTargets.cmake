# Helpers for the project's own programs (tests, examples, benchmarks). Never applied to the
# INTERFACE targets that consumers link: their warning flags are theirs to choose.

# Warnings are errors for our own code; sanitizers and -march=native when asked.
function(transcendence_configure_target target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Werror)
  if(TRANSCENDENCE_NATIVE)
    target_compile_options(${target} PRIVATE -march=native)
  endif()
  if(TRANSCENDENCE_SANITIZE)
    target_compile_options(${target} PRIVATE -fsanitize=address,undefined -fno-sanitize-recover=undefined
                                             -fno-omit-frame-pointer)
    target_link_options(${target} PRIVATE -fsanitize=address,undefined)
  endif()
endfunction()

# transcendence_add_program(<name> SOURCES ... [LIBS ...]): an executable of ours.
function(transcendence_add_program name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE transcendence::transcendence ${ARG_LIBS})
  transcendence_configure_target(${name})
endfunction()
