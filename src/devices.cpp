#include "tlens/devices.h"

#include <dlfcn.h>

#include <algorithm>
#include <cctype>
#include <filesystem>

#include <ATen/Version.h>

#include <torch/cuda.h>

#include "tlens/error.h"

namespace tlens {

namespace {

const char* kDtypes = "float32 (fp32), float16 (fp16), bfloat16 (bf16)";
const char* kDevices = "cpu, cuda, cuda:N";

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

// Loads libtorch_cuda.so once, when there is a driver to use it with. Its static initializers
// register libtorch's CUDA hooks and kernels; torch::cuda::* answers for CUDA from then on.
bool load_cuda_backend() {
  static const bool loaded = [] {
    if (dlopen("libcuda.so.1", RTLD_LAZY | RTLD_LOCAL) == nullptr) return false;  // no driver
    Dl_info info{};
    if (dladdr(reinterpret_cast<void*>(&at::get_cpu_capability), &info) == 0 || info.dli_fname == nullptr)
      return false;
    const auto cuda = std::filesystem::path(info.dli_fname).parent_path() / "libtorch_cuda.so";
    std::error_code error;
    if (!std::filesystem::exists(cuda, error)) return false;  // a CPU-only libtorch
    return dlopen(cuda.c_str(), RTLD_NOW | RTLD_GLOBAL) != nullptr;
  }();
  return loaded;
}

}  // namespace

bool cuda_is_available() { return load_cuda_backend() && torch::cuda::is_available(); }

int cuda_device_count() {
  return cuda_is_available() ? static_cast<int>(torch::cuda::device_count()) : 0;
}

c10::ScalarType dtype_from_string(const std::string& name) {
  std::string key = lower(name);
  if (key.rfind("torch.", 0) == 0) key = key.substr(6);
  if (key == "float32" || key == "fp32" || key == "float") return c10::ScalarType::Float;
  if (key == "float16" || key == "fp16" || key == "half") return c10::ScalarType::Half;
  if (key == "bfloat16" || key == "bf16") return c10::ScalarType::BFloat16;
  throw Error("dtype '" + name + "'", std::string("is not a model dtype; accepted: ") + kDtypes,
              "pass --dtype float32 (the default), float16 or bfloat16");
}

std::string dtype_name(c10::ScalarType dtype) {
  switch (dtype) {
    case c10::ScalarType::Float: return "float32";
    case c10::ScalarType::Half: return "float16";
    case c10::ScalarType::BFloat16: return "bfloat16";
    case c10::ScalarType::Double: return "float64";
    case c10::ScalarType::Char: return "int8";
    case c10::ScalarType::Byte: return "uint8";
    case c10::ScalarType::Short: return "int16";
    case c10::ScalarType::Int: return "int32";
    case c10::ScalarType::Long: return "int64";
    case c10::ScalarType::Bool: return "bool";
    default: return c10::toString(dtype);
  }
}

void check_model_dtype(c10::ScalarType dtype) {
  if (dtype != c10::ScalarType::Float && dtype != c10::ScalarType::Half &&
      dtype != c10::ScalarType::BFloat16)
    throw Error("dtype " + dtype_name(dtype), std::string("is not a model dtype; accepted: ") + kDtypes,
                "use float32 (the default), float16 or bfloat16");
}

c10::Device device_from_string(const std::string& name) {
  const std::string key = lower(name);
  if (key == "auto") return get_best_available_device();
  bool known = key == "cpu" || key == "cuda";
  if (!known && key.rfind("cuda:", 0) == 0 && key.size() > 5)
    known = std::all_of(key.begin() + 5, key.end(), [](unsigned char c) { return std::isdigit(c); });
  if (!known)
    throw Error("device '" + name + "'", std::string("is not a device; accepted: ") + kDevices,
                "pass --device cpu or --device cuda");
  c10::Device device(key);
  check_device(device);
  return device;
}

void check_device(const c10::Device& device) {
  if (device.is_cpu()) return;
  if (!device.is_cuda())
    throw Error("device " + device.str(), std::string("is not supported; accepted: ") + kDevices,
                "pass --device cpu or --device cuda");
  if (!cuda_is_available())
    throw Error("device " + device.str(),
                "CUDA is not available here (no CUDA GPU or driver, or a libtorch without CUDA)",
                "use --device cpu");
  const int64_t count = cuda_device_count();
  if (device.has_index() && device.index() >= count)
    throw Error("device " + device.str(),
                "does not exist: this machine has " + std::to_string(count) + " CUDA device(s)",
                "use cuda:0 .. cuda:" + std::to_string(count - 1));
}

c10::Device get_best_available_device() {
  return cuda_is_available() ? c10::Device("cuda") : c10::Device("cpu");
}

}  // namespace tlens
