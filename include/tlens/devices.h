// devices: the device and dtype names TransformerLens takes, checked before any weight is read.
//
//   auto dtype = tlens::dtype_from_string("bf16");        // torch::kBFloat16
//   auto device = tlens::device_from_string("cuda:0");   // throws tlens::Error without CUDA
//   tlens::get_best_available_device();                  // cuda when there is one, else cpu
//
// Dtypes: TransformerLens's names (float32/fp32, float16/fp16, bfloat16/bf16, also with a
// "torch." prefix). Devices: cpu, cuda, cuda:N; "auto" is get_best_available_device().
#pragma once

#include <string>

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

namespace tlens {

c10::ScalarType dtype_from_string(const std::string& name);
// "float32", "float16", "bfloat16" (TransformerLens's cfg.dtype spelling, without "torch.").
std::string dtype_name(c10::ScalarType dtype);
// Throws tlens::Error unless dtype is float32, float16 or bfloat16.
void check_model_dtype(c10::ScalarType dtype);

// Whether a CUDA device can be used. The first call loads libtorch's CUDA part
// (libtorch_cuda.so, next to libtorch_cpu.so) when an NVIDIA driver (libcuda.so.1) is installed;
// tlens does not link it, so CPU-only machines never map the CUDA libraries. Call this (or any
// function below) before torch::cuda::is_available() or making CUDA tensors yourself.
bool cuda_is_available();
int cuda_device_count();

c10::Device device_from_string(const std::string& name);
// Throws tlens::Error unless the device is cpu or an existing CUDA device.
void check_device(const c10::Device& device);
c10::Device get_best_available_device();

}  // namespace tlens
