// What the binding files of tlens._C share: the Python-callable wrappers (hooks, name filters)
// that take the GIL back, and the option parsers.
//
// The forward runs with the GIL released (other Python threads go on); a Python hook or names
// filter is called from inside it, so each wrapper re-acquires the GIL, and the Python object it
// holds is released under the GIL too, wherever C++ drops the last copy of the wrapper.
#pragma once

#include <torch/csrc/utils/pybind.h>

#include <pybind11/functional.h>
#include <pybind11/stl.h>

#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "tlens/hook_point.h"
#include "tlens/hooked_root_module.h"
#include "tlens/hooked_transformer.h"

namespace tlens::python {

namespace py = pybind11;

// A model input as TransformerLens takes it: a string, a list of strings or a token tensor.
using Input = std::variant<std::string, std::vector<std::string>, torch::Tensor>;

// A py::object that may be dropped by C++ code running without the GIL.
inline std::shared_ptr<py::object> hold(py::object object) {
  return std::shared_ptr<py::object>(new py::object(std::move(object)), [](py::object* held) {
    py::gil_scoped_acquire gil;
    delete held;
  });
}

// fn(activation, hook) -> None | Tensor, TransformerLens's hook contract, as a tlens::HookFn.
// A Python exception raised by fn propagates (py::error_already_set) out of the forward.
tlens::HookFn hook_fn(py::object fn);

// None (every hook point), a hook name, a list of names, or a callable name -> bool.
tlens::NamesFilter names_filter(const py::object& filter);

std::optional<tlens::PaddingSide> padding_side_from(const std::optional<std::string>& name);

// Binders, one per file.
void bind_hook_points(py::module_& m);
void bind_activation_cache(py::module_& m);
void bind_hooked_transformer(py::module_& m);
void bind_tokenizer(py::module_& m);
void bind_vis(py::module_& m);

}  // namespace tlens::python
