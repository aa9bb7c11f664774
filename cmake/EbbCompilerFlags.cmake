# Warnings, sanitizers and the thread-safety analysis.

add_compile_options(-Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers -Wnon-virtual-dtor
                    -Wimplicit-fallthrough)
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  # g++ 12 reports false -Wrestrict positives inside std::string at -O3
  # (GCC bug 105329).
  add_compile_options(-Wno-restrict)
endif()
if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  # Checks the GUARDED_BY / REQUIRES annotations of src/base/thread_annotations.h.
  add_compile_options(-Wthread-safety)
endif()
if(EBB_WERROR)
  add_compile_options(-Werror)
endif()

if(EBB_SANITIZE STREQUAL "address")
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer
                      -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
elseif(EBB_SANITIZE STREQUAL "thread")
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer)
  add_link_options(-fsanitize=thread)
  add_compile_definitions(EBB_TSAN=1)
elseif(NOT EBB_SANITIZE STREQUAL "")
  message(FATAL_ERROR "EBB_SANITIZE must be address, thread or empty, got '${EBB_SANITIZE}'")
endif()

if(EBB_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "EBB_FUZZ needs clang: use the fuzz preset (scripts/fuzz.sh), or "
                        "-DCMAKE_CXX_COMPILER=clang++ -DCMAKE_C_COMPILER=clang -DEBB_FUZZ=ON")
  endif()
  # Coverage for libFuzzer in every library the fuzz targets link.
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()
