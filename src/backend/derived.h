// derived: tensors the backend makes from a model's weights for its fast paths (a weight in
// another layout, q/k/v's weights packed into one matrix), kept while those weights are unchanged.
// Users and loaders never see them: the model's parameters stay in TransformerLens's layout.
//
//   auto Wt = backend::derived("transpose", {W}, [&] { return W.t().contiguous(); });
//
// An entry is made on first use and made again when a source's storage or version changes
// (set_data, load_state_dict, an in-place edit such as weight processing's); it is dropped when a
// source's storage is freed (at the next miss, or by release_unused_derived()). Sources that are
// inference tensors (no version counter) get a fresh tensor on every call, never a kept one.
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>

#include <torch/types.h>

namespace tlens::backend {

torch::Tensor derived(const char* kind, std::initializer_list<torch::Tensor> sources,
                      const std::function<torch::Tensor()>& make);

// Drops the derived tensors whose sources are gone; returns the bytes still held.
int64_t release_unused_derived();

// Whether backend::linear keeps a transposed copy of a weight for short inputs (default on;
// TLENS_DERIVED_WEIGHTS=0 in the environment turns it off: the short-input kernel then reads the
// weight as it is, slower, with no copy).
bool derived_weights_enabled();
void set_derived_weights_enabled(bool enabled);

}  // namespace tlens::backend
