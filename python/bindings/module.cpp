// tlens._C — the C++ HookedTransformer for Python. Thin: every method calls the library once and
// keeps TransformerLens's keyword names; python/tlens/__init__.py adds what is easier in Python
// (torch.dtype / torch.device arguments, the cfg object).
//
//   import tlens
//   model = tlens.HookedTransformer.from_pretrained("tlens-induction-2l")
//   logits = model("Hello world")                   # [1, pos, d_vocab], a torch.Tensor, not copied
//
// Tensors cross with torch's own pybind11 type casters (torch/csrc/utils/pybind.h): a C++
// at::Tensor and the Python torch.Tensor are one TensorImpl, one storage.
#include <torch/csrc/utils/pybind.h>

#include <nlohmann/json.hpp>
#include <pybind11/stl.h>

#include <cctype>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "tlens/error.h"
#include "tlens/hooked_transformer.h"

namespace py = pybind11;

namespace {

using Input = std::variant<std::string, std::vector<std::string>, torch::Tensor>;

// A problem that says a file or folder is not there is FileNotFoundError, as Python's own I/O;
// every other tlens::Error (unknown model name, bad option value, bad config) is ValueError.
bool says_missing(const tlens::Error& error) {
  std::string message = error.what();
  for (char& c : message) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const char* phrase : {"does not exist", "no such file", "no such folder", "no such directory",
                             "is missing"}) {
    if (message.find(phrase) != std::string::npos) return true;
  }
  return false;
}

std::optional<tlens::PaddingSide> padding_side_from(const std::optional<std::string>& name) {
  if (!name) return std::nullopt;
  return tlens::parse_padding_side(*name);
}

tlens::ToTokensOptions to_tokens_options(std::optional<bool> prepend_bos,
                                         const std::optional<std::string>& padding_side,
                                         bool truncate) {
  return tlens::ToTokensOptions()
      .prepend_bos(prepend_bos)
      .padding_side(padding_side_from(padding_side))
      .truncate(truncate);
}

// TransformerLens's return values: logits / loss as a tensor, "both" as (logits, loss), "none"
// as None; with stop_at_layer, the residual.
py::object forward(tlens::HookedTransformerImpl& model, const Input& input,
                   const std::string& return_type, bool loss_per_token,
                   std::optional<bool> prepend_bos, const std::optional<std::string>& padding_side,
                   std::optional<int64_t> start_at_layer, std::optional<int64_t> stop_at_layer,
                   std::optional<torch::Tensor> tokens, std::optional<torch::Tensor> attention_mask) {
  const tlens::ReturnType type = tlens::parse_return_type(return_type);
  const auto options = tlens::ForwardOptions()
                           .return_type(type)
                           .loss_per_token(loss_per_token)
                           .prepend_bos(prepend_bos)
                           .padding_side(padding_side_from(padding_side))
                           .start_at_layer(start_at_layer)
                           .stop_at_layer(stop_at_layer)
                           .tokens(std::move(tokens))
                           .attention_mask(std::move(attention_mask));
  tlens::ForwardOutput output;
  {
    py::gil_scoped_release no_gil;  // no Python runs in forward until hooks come
    output = std::visit([&](const auto& value) { return model.forward(value, options); }, input);
  }
  if (stop_at_layer) return py::cast(output.residual);
  switch (type) {
    case tlens::ReturnType::logits: return py::cast(output.logits);
    case tlens::ReturnType::loss: return py::cast(output.loss);
    case tlens::ReturnType::both: return py::make_tuple(output.logits, output.loss);
    case tlens::ReturnType::none: return py::none();
  }
  return py::none();
}

}  // namespace

PYBIND11_MODULE(_C, m) {
  m.doc() = "tlens: TransformerLens's HookedTransformer on a C++ (libtorch) engine";

  // C++ tlens::Error -> ValueError / FileNotFoundError with the same message (what() already
  // holds the object, the problem and the hint line).
  py::register_exception_translator([](std::exception_ptr error) {
    try {
      if (error) std::rethrow_exception(error);
    } catch (const tlens::Error& e) {
      PyErr_SetString(says_missing(e) ? PyExc_FileNotFoundError : PyExc_ValueError, e.what());
    }
  });

  using Model = tlens::HookedTransformerImpl;
  py::class_<Model, std::shared_ptr<Model>>(m, "HookedTransformer")
      .def_static(
          "_from_pretrained",
          [](const std::string& name, bool fold_ln, bool center_writing_weights,
             bool center_unembed, bool fold_value_biases, std::optional<std::string> device,
             const std::string& dtype, std::optional<bool> default_prepend_bos,
             const std::optional<std::string>& default_padding_side,
             std::optional<int64_t> first_n_layers, std::optional<int64_t> n_ctx, bool verbose) {
            auto options = tlens::FromPretrainedOptions()
                               .fold_ln(fold_ln)
                               .center_writing_weights(center_writing_weights)
                               .center_unembed(center_unembed)
                               .fold_value_biases(fold_value_biases)
                               .default_prepend_bos(default_prepend_bos)
                               .default_padding_side(padding_side_from(default_padding_side))
                               .first_n_layers(first_n_layers)
                               .n_ctx(n_ctx)
                               .verbose(verbose)
                               .dtype(dtype);
            if (device) options.device(*device);
            py::gil_scoped_release no_gil;
            return tlens::HookedTransformer::from_pretrained(name, options).ptr();
          },
          py::arg("model_name"), py::arg("fold_ln"), py::arg("center_writing_weights"),
          py::arg("center_unembed"), py::arg("fold_value_biases"), py::arg("device"),
          py::arg("dtype"), py::arg("default_prepend_bos"), py::arg("default_padding_side"),
          py::arg("first_n_layers"), py::arg("n_ctx"), py::arg("verbose"))
      .def("forward", &forward, py::arg("input"), py::kw_only(),
           py::arg("return_type") = "logits", py::arg("loss_per_token") = false,
           py::arg("prepend_bos") = py::none(), py::arg("padding_side") = py::none(),
           py::arg("start_at_layer") = py::none(), py::arg("stop_at_layer") = py::none(),
           py::arg("tokens") = py::none(), py::arg("attention_mask") = py::none())
      .def("__call__", &forward, py::arg("input"), py::kw_only(),
           py::arg("return_type") = "logits", py::arg("loss_per_token") = false,
           py::arg("prepend_bos") = py::none(), py::arg("padding_side") = py::none(),
           py::arg("start_at_layer") = py::none(), py::arg("stop_at_layer") = py::none(),
           py::arg("tokens") = py::none(), py::arg("attention_mask") = py::none())
      .def(
          "to_tokens",
          [](const Model& model, const std::variant<std::string, std::vector<std::string>>& input,
             std::optional<bool> prepend_bos, const std::optional<std::string>& padding_side,
             bool /*move_to_device: tokens are made on the model's device*/, bool truncate) {
            const auto options = to_tokens_options(prepend_bos, padding_side, truncate);
            return std::visit([&](const auto& text) { return model.to_tokens(text, options); },
                              input);
          },
          py::arg("input"), py::arg("prepend_bos") = py::none(),
          py::arg("padding_side") = py::none(), py::arg("move_to_device") = true,
          py::arg("truncate") = true)
      .def(
          "to_str_tokens",
          [](const Model& model, const std::variant<std::string, torch::Tensor>& input,
             std::optional<bool> prepend_bos, const std::optional<std::string>& padding_side) {
            if (const auto* tokens = std::get_if<torch::Tensor>(&input)) {
              return model.to_str_tokens(*tokens);
            }
            return model.to_str_tokens(std::get<std::string>(input),
                                       to_tokens_options(prepend_bos, padding_side, true));
          },
          py::arg("input"), py::arg("prepend_bos") = py::none(),
          py::arg("padding_side") = py::none())
      .def("to_string", [](const Model& model, const torch::Tensor& tokens) {
        return model.to_string(tokens);
      }, py::arg("tokens"))
      .def("to_single_token", &Model::to_single_token, py::arg("string"))
      // The config as JSON text and as TransformerLens prints it; tlens/__init__.py makes `cfg`.
      .def("_cfg_json", [](const Model& model) { return model.cfg.to_json().dump(); })
      .def("_cfg_repr", [](const Model& model) { return model.cfg.to_string(); })
      .def("__repr__", [](const Model& model) { return tlens::module_repr(model); })
      // Weights: the C++ tensors themselves (TransformerLens's stacked properties).
      .def_property_readonly("W_E", &Model::W_E)
      .def_property_readonly("W_pos", &Model::W_pos)
      .def_property_readonly("W_U", &Model::W_U)
      .def_property_readonly("b_U", &Model::b_U)
      .def_property_readonly("W_Q", &Model::W_Q)
      .def_property_readonly("W_K", &Model::W_K)
      .def_property_readonly("W_V", &Model::W_V)
      .def_property_readonly("W_O", &Model::W_O)
      // For the zero-copy test: the address C++ sees, read without crossing into Python.
      .def("_W_E_data_ptr", [](const Model& model) {
        return reinterpret_cast<std::uintptr_t>(model.W_E().data_ptr());
      });

  // For the zero-copy test: the address C++ sees for a tensor handed in from Python.
  m.def("_data_ptr", [](const torch::Tensor& tensor) {
    return reinterpret_cast<std::uintptr_t>(tensor.data_ptr());
  });
}
