#include "tlens/loading/torch_io.h"

#include <ostream>

#include <torch/torch.h>

#include "tlens/error.h"

namespace tlens::loading {

namespace {
torch::Dtype to_torch(safetensors::Dtype dtype, const std::string& context) {
  using D = safetensors::Dtype;
  switch (dtype) {
    case D::BOOL: return torch::kBool;
    case D::U8: return torch::kUInt8;
    case D::I8: return torch::kInt8;
    case D::I16: return torch::kInt16;
    case D::I32: return torch::kInt32;
    case D::I64: return torch::kInt64;
    case D::F16: return torch::kFloat16;
    case D::BF16: return torch::kBFloat16;
    case D::F32: return torch::kFloat32;
    case D::F64: return torch::kFloat64;
    default:
      throw Error(context, "dtype " + safetensors::dtype_name(dtype) + " has no libtorch type",
                  "store the tensor as F32, F16, BF16 or a signed integer type");
  }
}

safetensors::Dtype from_torch(torch::Dtype dtype, const std::string& name) {
  using D = safetensors::Dtype;
  switch (dtype) {
    case torch::kBool: return D::BOOL;
    case torch::kUInt8: return D::U8;
    case torch::kInt8: return D::I8;
    case torch::kInt16: return D::I16;
    case torch::kInt32: return D::I32;
    case torch::kInt64: return D::I64;
    case torch::kFloat16: return D::F16;
    case torch::kBFloat16: return D::BF16;
    case torch::kFloat32: return D::F32;
    case torch::kFloat64: return D::F64;
    default:
      throw Error("tensor '" + name + "'", "has a dtype safetensors cannot store",
                  "convert it to float32 first");
  }
}
}  // namespace

torch::Tensor load_tensor(const safetensors::File& file, const std::string& name) {
  const auto& info = file.info(name);
  auto dtype = to_torch(info.dtype, file.path() + ": tensor '" + name + "'");
  auto view = torch::from_blob(const_cast<uint8_t*>(file.data(info)), info.shape,
                               torch::TensorOptions().dtype(dtype));
  if (torch::isFloatingType(dtype)) return view.to(torch::kFloat32, /*non_blocking=*/false, /*copy=*/true);
  return view.clone();
}

torch::Tensor load_weight(const safetensors::File& file, const std::string& name,
                          std::ostream* warnings, torch::Dtype wanted) {
  const auto& info = file.info(name);
  const std::string what = file.path() + ": tensor '" + name + "'";
  auto dtype = to_torch(info.dtype, what);
  if (!torch::isFloatingType(dtype))
    throw Error(what, "is " + safetensors::dtype_name(info.dtype) + ", a weight must be floating point (F32, F16, BF16, F64)",
                "the file was written wrongly, or is not a model checkpoint");
  const bool sixteen_bit = [](torch::Dtype d) { return d == torch::kFloat16 || d == torch::kBFloat16; }(dtype) &&
                           (wanted == torch::kFloat16 || wanted == torch::kBFloat16);
  torch::Tensor weight;
  if (sixteen_bit) {  // the checkpoint's 16 bits, converted once at most
    auto view = torch::from_blob(const_cast<uint8_t*>(file.data(info)), info.shape, torch::TensorOptions().dtype(dtype));
    weight = view.to(wanted, /*non_blocking=*/false, /*copy=*/true);
  } else {
    weight = load_tensor(file, name);  // float32
  }
  file.release(info);
  if (warnings && weight.numel() > 0) {
    const int64_t non_finite = weight.numel() - torch::isfinite(weight).sum().item<int64_t>();
    if (non_finite > 0)
      *warnings << "warning: " << what << " has " << non_finite << " non-finite value"
                << (non_finite == 1 ? "" : "s") << " (NaN or infinity) of " << weight.numel()
                << "; outputs that read them will be NaN or infinite\n";
  }
  return weight;
}

void save_tensors(const std::string& path,
                  const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                  const std::map<std::string, std::string>& metadata) {
  std::vector<torch::Tensor> keep_alive;
  std::vector<safetensors::TensorToWrite> to_write;
  keep_alive.reserve(tensors.size());
  for (const auto& [name, tensor] : tensors) {
    auto t = tensor.detach().to(torch::kCPU).contiguous();
    keep_alive.push_back(t);
    to_write.push_back({name, from_torch(t.scalar_type(), name),
                        std::vector<int64_t>(t.sizes().begin(), t.sizes().end()), t.data_ptr()});
  }
  safetensors::write(path, to_write, metadata);
}

}  // namespace tlens::loading
