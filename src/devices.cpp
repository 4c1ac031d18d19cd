#include "tlens/devices.h"

#include <algorithm>
#include <cctype>

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

}  // namespace

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
  if (!torch::cuda::is_available())
    throw Error("device " + device.str(),
                "CUDA is not available here (no CUDA GPU or driver, or a libtorch without CUDA)",
                "use --device cpu");
  const auto count = static_cast<int64_t>(torch::cuda::device_count());
  if (device.has_index() && device.index() >= count)
    throw Error("device " + device.str(),
                "does not exist: this machine has " + std::to_string(count) + " CUDA device(s)",
                "use cuda:0 .. cuda:" + std::to_string(count - 1));
}

c10::Device get_best_available_device() {
  return torch::cuda::is_available() ? c10::Device("cuda") : c10::Device("cpu");
}

}  // namespace tlens
