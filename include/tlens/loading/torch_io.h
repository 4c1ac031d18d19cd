// torch_io: safetensors <-> torch::Tensor.
//
//   auto file = tlens::safetensors::File::open("model.safetensors");
//   torch::Tensor wte = tlens::loading::load_tensor(file, "wte.weight");   // float32 copy
//   tlens::loading::save_tensors("out.safetensors", {{"logits", logits}});
#pragma once

#include <iosfwd>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <torch/types.h>

#include "tlens/loading/safetensors.h"

namespace tlens::loading {

// A tensor of the file, copied out of the mapping and converted to float32 when it is a
// floating-point type (F16, BF16, F64); integer types keep their type.
torch::Tensor load_tensor(const safetensors::File& file, const std::string& name);

// A model weight: like load_tensor, but an integer or bool dtype is a tlens::Error naming the
// tensor, and NaN or infinite values (some checkpoints have them on purpose) are reported as one
// "warning: FILE: tensor 'NAME' has N non-finite values ..." line on `warnings` (none: no check).
// With `dtype` float16 or bfloat16 a 16-bit tensor is converted to that dtype instead of float32
// (a 16-bit model keeps its checkpoint's precision without a float32 copy); the tensor's pages of
// the mapping are released after the copy.
torch::Tensor load_weight(const safetensors::File& file, const std::string& name,
                          std::ostream* warnings, torch::Dtype dtype = torch::kFloat32);

// Writes tensors in the given order (made contiguous, on CPU, float32 unless integer/bool).
void save_tensors(const std::string& path,
                  const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                  const std::map<std::string, std::string>& metadata = {});

}  // namespace tlens::loading
