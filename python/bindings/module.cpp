// tlens._C — the C++ library for Python. Thin: each binding calls the library once and keeps
// TransformerLens's names; the Python package (python/tlens/) builds TransformerLens's classes on
// top (one file per TransformerLens concept, as the C++ side has).
//
//   import tlens
//   model = tlens.HookedTransformer.from_pretrained("tlens-induction-2l")
//   logits = model("Hello world")                   # [1, pos, d_vocab], a torch.Tensor, not copied
//
// Tensors cross with torch's own pybind11 type casters (torch/csrc/utils/pybind.h): a C++
// at::Tensor and the Python torch.Tensor are one TensorImpl, one storage.
#include "common.h"

#include <cctype>

#include <nlohmann/json.hpp>

#include "tlens/config.h"
#include "tlens/error.h"
#include "tlens/runtime.h"
#include "tlens/tokenizer/bpe.h"
#include "tlens/utils.h"
#include "tlens/vis/attention.h"
#include "tlens/vis/line.h"
#include "tlens/vis/tokens.h"

namespace tlens::python {

namespace {

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

std::vector<float> floats(const torch::Tensor& values) {
  auto flat = values.detach().to(torch::kCPU, torch::kFloat32).contiguous().reshape({-1});
  return {flat.data_ptr<float>(), flat.data_ptr<float>() + flat.numel()};
}

}  // namespace

void bind_tokenizer(py::module_& m) {
  py::class_<tlens::Tokenizer>(m, "_Tokenizer")
      .def("encode", &tlens::Tokenizer::encode, py::arg("text"))
      .def("decode", &tlens::Tokenizer::decode, py::arg("ids"))
      .def("decode_token", &tlens::Tokenizer::decode_token, py::arg("id"))
      .def("id_to_token", &tlens::Tokenizer::id_to_token, py::arg("id"))
      .def("token_to_id", &tlens::Tokenizer::token_to_id, py::arg("token"))
      .def("contains_token", &tlens::Tokenizer::contains_token, py::arg("token"))
      .def("vocab_size", &tlens::Tokenizer::vocab_size)
      .def("vocab_sorted", &tlens::Tokenizer::vocab_sorted)
      .def("bos_token_id", &tlens::Tokenizer::bos_token_id)
      .def("eos_token_id", &tlens::Tokenizer::eos_token_id)
      .def("pad_token_id", &tlens::Tokenizer::pad_token_id)
      .def("bos_token", &tlens::Tokenizer::bos_token)
      .def("special_tokens", &tlens::Tokenizer::special_tokens)
      .def("pre_tokenize", &tlens::Tokenizer::pre_tokenize, py::arg("text"))
      .def("repr", &tlens::Tokenizer::repr)
      .def_readonly("name_or_path", &tlens::Tokenizer::name_or_path)
      .def_readonly("model_max_length", &tlens::Tokenizer::model_max_length);
}

// The views return the page's HTML; tlens/vis.py wraps it for Jupyter (_repr_html_) and .save().
void bind_vis(py::module_& m) {
  m.def("_attention_pattern",
        [](const std::vector<std::string>& tokens, const torch::Tensor& attention, float max_value,
           float min_value, const std::string& positive_color, const std::string& negative_color,
           bool mask_upper_tri, bool show_axis_labels, const std::string& title) {
          tlens::vis::AttentionPatternOptions options;
          options.max_value = max_value;
          options.min_value = min_value;
          options.positive_color = positive_color;
          options.negative_color = negative_color;
          options.mask_upper_tri = mask_upper_tri;
          options.show_axis_labels = show_axis_labels;
          options.title = title;
          if (attention.dim() == 2) {
            return tlens::vis::attention_pattern(tokens, floats(attention), options).str();
          }
          return tlens::vis::attention_heads(tokens, floats(attention), attention.size(0), {},
                                             options).str();
        });
  m.def("_attention_heads",
        [](const std::vector<std::string>& tokens, const torch::Tensor& attention,
           const std::vector<std::string>& head_names, float max_value, float min_value,
           const std::string& positive_color, const std::string& negative_color,
           bool mask_upper_tri, const std::string& title) {
          tlens::vis::AttentionPatternOptions options;
          options.max_value = max_value;
          options.min_value = min_value;
          options.positive_color = positive_color;
          options.negative_color = negative_color;
          options.mask_upper_tri = mask_upper_tri;
          options.title = title;
          return tlens::vis::attention_heads(tokens, floats(attention), attention.size(0),
                                             head_names, options)
              .str();
        });
  m.def("_line",
        [](const torch::Tensor& y, const std::vector<std::string>& x_labels,
           const std::vector<std::string>& hover_names, const std::string& x_title,
           const std::string& y_title, const std::string& title) {
          tlens::vis::LineOptions options;
          options.x_labels = x_labels;
          options.hover_names = hover_names;
          options.x_title = x_title;
          options.y_title = y_title;
          options.title = title;
          return tlens::vis::line(floats(y), options).str();
        });
  m.def("_colored_tokens",
        [](const std::vector<std::string>& tokens, const torch::Tensor& values,
           std::optional<float> max_value, std::optional<float> min_value,
           const std::string& positive_color, const std::string& negative_color,
           const std::string& title) {
          tlens::vis::ColoredTokensOptions options;
          options.max_value = max_value;
          options.min_value = min_value;
          options.positive_color = positive_color;
          options.negative_color = negative_color;
          options.title = title;
          return tlens::vis::colored_tokens(tokens, floats(values), options).str();
        });
}

}  // namespace tlens::python

PYBIND11_MODULE(_C, m) {
  namespace tp = tlens::python;
  m.doc() = "tlens: TransformerLens's HookedTransformer on a C++ (libtorch) engine";

  // C++ tlens::Error -> ValueError / FileNotFoundError with the same message (what() already
  // holds the object, the problem and the hint line).
  py::register_exception_translator([](std::exception_ptr error) {
    try {
      if (error) std::rethrow_exception(error);
    } catch (const tlens::Error& e) {
      PyErr_SetString(tp::says_missing(e) ? PyExc_FileNotFoundError : PyExc_ValueError, e.what());
    }
  });

  tp::bind_hook_points(m);
  tp::bind_activation_cache(m);
  tp::bind_tokenizer(m);
  tp::bind_hooked_transformer(m);
  tp::bind_vis(m);

  // HookedTransformerConfig (tlens/config.py): the field names with their defaults, and a config
  // completed and checked by finalize(), as JSON and as TransformerLens prints it.
  m.def("_config_defaults", [] { return tlens::HookedTransformerConfig().to_json().dump(); });
  m.def("_config_finalize", [](const std::string& json) {
    auto cfg = tlens::HookedTransformerConfig::from_json(nlohmann::json::parse(json));
    cfg.finalize();
    return py::make_tuple(cfg.to_json().dump(), cfg.to_string());
  });

  // The C++ runtime's memory reuse (a caching CPU allocator, see tlens/runtime.h) for the process
  // that imports tlens; tlens/__init__.py calls it with torch's thread count, unchanged.
  m.def("configure_runtime", &tlens::configure_runtime, py::arg("threads"));
  m.def("release_cached_memory", &tlens::release_cached_memory);

  m.def("get_act_name", &tlens::get_act_name, py::arg("name"), py::arg("layer") = py::none(),
        py::arg("layer_type") = "");
  m.def("sample_logits",
        [](const torch::Tensor& final_logits, std::optional<int64_t> top_k, std::optional<double> top_p,
           double temperature, double freq_penalty, std::optional<torch::Tensor> tokens) {
          return tlens::sample_logits(final_logits,
                                      tlens::SampleLogitsOptions()
                                          .top_k(top_k)
                                          .top_p(top_p)
                                          .temperature(temperature)
                                          .freq_penalty(freq_penalty),
                                      tokens);
        },
        py::arg("final_logits"), py::arg("top_k"), py::arg("top_p"), py::arg("temperature"),
        py::arg("freq_penalty"), py::arg("tokens"));
  m.def("lm_cross_entropy_loss", &tlens::lm_cross_entropy_loss, py::arg("logits"),
        py::arg("tokens"), py::arg("attention_mask") = py::none(), py::arg("per_token") = false);
  // For the zero-copy test: the address C++ sees for a tensor handed in from Python.
  m.def("_data_ptr", [](const torch::Tensor& tensor) {
    return reinterpret_cast<std::uintptr_t>(tensor.data_ptr());
  });
}
