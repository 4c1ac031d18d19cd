# Finds libtorch 2.x and defines the imported target tlens::torch (headers + libraries).
#
# Where libtorch comes from, first match wins:
#   1. TLENS_TORCH_ROOT: a folder with include/torch and lib/libtorch.so (an official libtorch
#      2.x download, or site-packages/torch of a wheel);
#   2. Torch_DIR or CMAKE_PREFIX_PATH holding share/cmake/Torch/TorchConfig.cmake (what
#      `-DCMAKE_PREFIX_PATH=/path/to/libtorch` or `torch.utils.cmake_prefix_path` gives);
#   3. the torch package of TLENS_PYTHON (default: the project's .venv/bin/python), asked for
#      torch.utils.cmake_prefix_path.
#
# Why not find_package(Torch): PyPI's torch wheel for Linux is a CUDA build, and its
# Caffe2Config.cmake stops with a fatal error unless a CUDA toolkit (nvcc) is installed, although
# a C++ program that only calls libtorch needs none (the wheel carries the CUDA runtime it loads).
# An official libtorch folder and the wheel share one layout, which is all this needs.
#
# tlens links libtorch_cpu.so and libc10.so only. libtorch_cuda.so (and the CUDA runtime, cuDNN,
# ... it pulls in: ~256 MB of resident memory at load) is loaded at run time by
# tlens::cuda_is_available() (src/devices.cpp) when a CUDA driver is installed, so the same binary
# runs on CUDA where the wheel and a GPU are there and costs CPU-only machines nothing.
if(TARGET tlens::torch)
  return()
endif()

function(_tlens_torch_root_from_prefixes out)
  foreach(prefix IN LISTS Torch_DIR CMAKE_PREFIX_PATH)
    foreach(candidate "${prefix}" "${prefix}/.." "${prefix}/../.." "${prefix}/../../..")
      get_filename_component(candidate "${candidate}" ABSOLUTE)
      if(EXISTS "${candidate}/include/torch" AND EXISTS "${candidate}/share/cmake/Torch/TorchConfig.cmake")
        set(${out} "${candidate}" PARENT_SCOPE)
        return()
      endif()
    endforeach()
  endforeach()
endfunction()

set(_tlens_torch_root "${TLENS_TORCH_ROOT}")
if(NOT _tlens_torch_root)
  _tlens_torch_root_from_prefixes(_tlens_torch_root)
endif()
if(NOT _tlens_torch_root)
  if(NOT TLENS_PYTHON)
    get_filename_component(_tlens_src "${CMAKE_CURRENT_LIST_DIR}/.." ABSOLUTE)
    set(TLENS_PYTHON "${_tlens_src}/.venv/bin/python")
  endif()
  if(EXISTS "${TLENS_PYTHON}")
    execute_process(
      COMMAND "${TLENS_PYTHON}" -c "import torch.utils; print(torch.utils.cmake_prefix_path)"
      OUTPUT_VARIABLE _tlens_prefix OUTPUT_STRIP_TRAILING_WHITESPACE
      ERROR_QUIET RESULT_VARIABLE _tlens_rc)
    if(_tlens_rc EQUAL 0 AND _tlens_prefix)
      get_filename_component(_tlens_torch_root "${_tlens_prefix}/../.." ABSOLUTE)
    endif()
  endif()
endif()
if(NOT _tlens_torch_root OR NOT EXISTS "${_tlens_torch_root}/include/torch")
  message(FATAL_ERROR "tlens: libtorch not found (no TLENS_TORCH_ROOT, no Torch in CMAKE_PREFIX_PATH, "
    "no torch in ${TLENS_PYTHON}); run scripts/setup.sh (it makes .venv with the pinned torch) "
    "or pass -DCMAKE_PREFIX_PATH=/path/to/libtorch")
endif()

# The version, from the headers (2.x: torch/headeronly/version.h; older: torch/csrc/api/...).
foreach(_h "include/torch/headeronly/version.h" "include/torch/csrc/api/include/torch/version.h")
  if(EXISTS "${_tlens_torch_root}/${_h}")
    file(STRINGS "${_tlens_torch_root}/${_h}" _v REGEX "#define TORCH_VERSION_(MAJOR|MINOR|PATCH) ")
    string(REGEX REPLACE ".*MAJOR ([0-9]+).*" "\\1" TLENS_TORCH_VERSION_MAJOR "${_v}")
    string(REGEX REPLACE ".*MINOR ([0-9]+).*" "\\1" TLENS_TORCH_VERSION_MINOR "${_v}")
    string(REGEX REPLACE ".*PATCH ([0-9]+).*" "\\1" TLENS_TORCH_VERSION_PATCH "${_v}")
    break()
  endif()
endforeach()
set(TLENS_TORCH_VERSION "${TLENS_TORCH_VERSION_MAJOR}.${TLENS_TORCH_VERSION_MINOR}.${TLENS_TORCH_VERSION_PATCH}")
if(NOT TLENS_TORCH_VERSION_MAJOR OR TLENS_TORCH_VERSION_MAJOR LESS 2)
  message(FATAL_ERROR "tlens: libtorch ${TLENS_TORCH_VERSION} at ${_tlens_torch_root} is older than "
    "2.0; tlens needs libtorch 2.x: run scripts/setup.sh (pinned PyPI torch) or pass an official "
    "libtorch 2.x folder with -DCMAKE_PREFIX_PATH")
endif()

set(_tlens_torch_lib "${_tlens_torch_root}/lib")
foreach(_lib torch_cpu c10)
  if(NOT EXISTS "${_tlens_torch_lib}/lib${_lib}.so")
    message(FATAL_ERROR "tlens: ${_tlens_torch_lib}/lib${_lib}.so is missing; a libtorch folder "
      "holds include/ and lib/ with libtorch_cpu.so and libc10.so")
  endif()
endforeach()

add_library(tlens::torch INTERFACE IMPORTED)
set_target_properties(tlens::torch PROPERTIES
  INTERFACE_INCLUDE_DIRECTORIES
    "${_tlens_torch_root}/include;${_tlens_torch_root}/include/torch/csrc/api/include"
  INTERFACE_COMPILE_FEATURES cxx_std_20
  INTERFACE_LINK_LIBRARIES "${_tlens_torch_lib}/libtorch_cpu.so;${_tlens_torch_lib}/libc10.so"
  INTERFACE_LINK_DIRECTORIES "${_tlens_torch_lib}")
set(TLENS_TORCH_ROOT "${_tlens_torch_root}" CACHE PATH "libtorch folder (include/, lib/)" FORCE)
set(TLENS_TORCH_LIBRARY_DIR "${_tlens_torch_lib}")
message(STATUS "tlens: libtorch ${TLENS_TORCH_VERSION} at ${_tlens_torch_root}")
