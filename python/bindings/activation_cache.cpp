// The C++ ActivationCache for Python (tlens._C._ActivationCache). tlens/activation_cache.py wraps
// it in TransformerLens's class (keyword names, return_labels, dict methods); the tensors are the
// C++ cache's own, not copies.
#include "common.h"

#include "tlens/activation_cache.h"
#include "tlens/error.h"

namespace tlens::python {

namespace {

using Cache = tlens::ActivationCache;

py::tuple stack_and_labels(tlens::ResidualStack stack) {
  return py::make_tuple(std::move(stack.stack), std::move(stack.labels));
}

// A key the cache does not hold is KeyError, as a dict's; the message keeps tlens's hint.
template <typename F>
torch::Tensor lookup(F&& f) {
  try {
    return f();
  } catch (const tlens::Error& e) {
    throw py::key_error(e.what());
  }
}

}  // namespace

void bind_activation_cache(py::module_& m) {
  py::class_<Cache>(m, "_ActivationCache")
      .def(py::init<int64_t, bool>(), py::arg("n_layers") = -1, py::arg("has_batch_dim") = true)
      .def("get", [](const Cache& cache, const std::string& key) {
        return lookup([&] { return cache[key]; });
      })
      .def("get", [](const Cache& cache, const std::string& name, int64_t layer,
                     const std::string& layer_type) {
        return lookup([&] { return cache(name, layer, layer_type); });
      })
      .def("keys", &Cache::keys)
      .def("contains", &Cache::contains)
      .def("size", &Cache::size)
      .def("has_batch_dim", &Cache::has_batch_dim)
      .def("n_layers", &Cache::n_layers)
      .def("insert", &Cache::insert, py::arg("key"), py::arg("value"))
      .def("copy", [](const Cache& cache) { return Cache(cache); })
      .def("remove_batch_dim", &Cache::remove_batch_dim)
      .def("repr", &Cache::repr)
      // For the zero-copy test: the address of a cached tensor, read in C++.
      .def("data_ptr",
           [](const Cache& cache, const std::string& key) {
             return reinterpret_cast<std::uintptr_t>(cache[key].data_ptr());
           })
      .def("accumulated_resid",
           [](const Cache& cache, int64_t layer, bool incl_mid, bool apply_ln, bool mlp_input) {
             return stack_and_labels(cache.accumulated_resid(tlens::AccumulatedResidOptions()
                                                                 .layer(layer)
                                                                 .incl_mid(incl_mid)
                                                                 .apply_ln(apply_ln)
                                                                 .mlp_input(mlp_input)));
           },
           py::arg("layer"), py::arg("incl_mid"), py::arg("apply_ln"), py::arg("mlp_input"))
      .def("decompose_resid",
           [](const Cache& cache, int64_t layer, bool mlp_input, const std::string& mode,
              bool apply_ln, bool incl_embeds) {
             return stack_and_labels(cache.decompose_resid(tlens::DecomposeResidOptions()
                                                               .layer(layer)
                                                               .mlp_input(mlp_input)
                                                               .mode(tlens::parse_decompose_mode(mode))
                                                               .apply_ln(apply_ln)
                                                               .incl_embeds(incl_embeds)));
           },
           py::arg("layer"), py::arg("mlp_input"), py::arg("mode"), py::arg("apply_ln"),
           py::arg("incl_embeds"))
      .def("stack_head_results",
           [](const Cache& cache, int64_t layer, bool incl_remainder, bool apply_ln) {
             return stack_and_labels(cache.stack_head_results(tlens::StackHeadResultsOptions()
                                                                  .layer(layer)
                                                                  .incl_remainder(incl_remainder)
                                                                  .apply_ln(apply_ln)));
           },
           py::arg("layer"), py::arg("incl_remainder"), py::arg("apply_ln"))
      .def("compute_head_results", &Cache::compute_head_results)
      .def("apply_ln_to_stack",
           [](const Cache& cache, const torch::Tensor& stack, int64_t layer, bool mlp_input,
              bool recompute_ln) {
             return cache.apply_ln_to_stack(stack, tlens::ApplyLnToStackOptions()
                                                       .layer(layer)
                                                       .mlp_input(mlp_input)
                                                       .recompute_ln(recompute_ln));
           },
           py::arg("residual_stack"), py::arg("layer"), py::arg("mlp_input"),
           py::arg("recompute_ln"))
      .def("logit_attrs", &Cache::logit_attrs, py::arg("residual_stack"), py::arg("tokens"),
           py::arg("incorrect_tokens"))
      .def("stack_activation", &Cache::stack_activation, py::arg("activation_name"),
           py::arg("layer"), py::arg("sublayer_type"));
}

}  // namespace tlens::python
