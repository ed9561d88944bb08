# Helpers for the project's own programs (tests, examples, benchmarks). Never applied to the
# INTERFACE targets that consumers link: their warning flags are theirs to choose.

# Warnings are errors for our own code; sanitizers and -march=native when asked. The flags are
# for C++ sources; CUDA sources (nvcc) get C++20 (CMake 3.25 has no cuda_std_20 for nvcc), nvcc's
# warnings as errors, the host compiler's -Wall -Wextra -Werror (-Wpedantic rejects nvcc's own
# generated code) and no sanitizers (nvcc-compiled code is not instrumented).
function(transcendence_configure_target target)
  target_compile_options(${target} PRIVATE "$<$<COMPILE_LANGUAGE:CXX>:-Wall;-Wextra;-Wpedantic;-Werror>"
                         "$<$<COMPILE_LANGUAGE:CUDA>:-std=c++20;--Werror=all-warnings;-Xcompiler=-Wall,-Wextra,-Werror>")
  if(TRANSCENDENCE_NATIVE)
    target_compile_options(${target} PRIVATE $<$<COMPILE_LANGUAGE:CXX>:-march=native>)
  endif()
  if(TRANSCENDENCE_SANITIZE)
    target_compile_options(${target} PRIVATE "$<$<COMPILE_LANGUAGE:CXX>:-fsanitize=address,undefined;-fno-sanitize-recover=undefined;-fno-omit-frame-pointer>")
    target_link_options(${target} PRIVATE $<$<LINK_LANGUAGE:CXX>:-fsanitize=address,undefined>)
  endif()
endfunction()

# transcendence_add_program(<name> SOURCES ... [LIBS ...]): an executable of ours.
function(transcendence_add_program name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE transcendence::transcendence ${ARG_LIBS})
  transcendence_configure_target(${name})
endfunction()
