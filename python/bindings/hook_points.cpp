// HookPoint for Python, and Python callables as tlens hooks and names filters.
//
//   def hook(activation, hook):          # TransformerLens's contract
//       print(hook.name, hook.layer())   # "blocks.0.attn.hook_pattern" 0
//       return activation * 0            # a tensor replaces the activation; None keeps it
#include "common.h"

#include <torch/csrc/autograd/python_variable.h>

#include "tlens/error.h"

namespace tlens::python {

namespace {

std::string type_name(const py::handle& object) {
  return py::str(py::type::of(object).attr("__name__")).cast<std::string>();
}

void refuse_backward(const std::string& dir) {
  if (dir == "fwd") return;
  if (dir == "bwd" || dir == "both") {
    throw py::value_error("dir='" + dir + "': tlens has forward hooks only\n"
                          "hint: use dir='fwd'; for gradients, run the model under "
                          "torch.enable_grad() and call .retain_grad() in a forward hook");
  }
  throw py::value_error("dir='" + dir + "': expected 'fwd', 'bwd' or 'both'");
}

}  // namespace

tlens::HookFn hook_fn(py::object fn) {
  if (!PyCallable_Check(fn.ptr())) {
    throw py::type_error("hook: expected a callable fn(activation, hook), got a " +
                         type_name(fn));
  }
  auto held = hold(std::move(fn));
  return [held](const torch::Tensor& activation,
                const tlens::HookPoint& hook) -> std::optional<torch::Tensor> {
    py::gil_scoped_acquire gil;
    py::object result = (*held)(activation, py::cast(&hook, py::return_value_policy::reference));
    if (result.is_none()) return std::nullopt;
    if (!THPVariable_Check(result.ptr())) {
      throw py::type_error(hook.name + ": the hook returned a " + type_name(result) +
                           "; expected a torch.Tensor (it replaces the activation) or None");
    }
    return THPVariable_Unpack(result.ptr());
  };
}

tlens::NamesFilter names_filter(const py::object& filter) {
  if (filter.is_none()) return tlens::NamesFilter();
  if (py::isinstance<py::str>(filter)) return tlens::NamesFilter(filter.cast<std::string>());
  if (PyCallable_Check(filter.ptr())) {
    auto held = hold(filter);
    return tlens::NamesFilter(std::function<bool(const std::string&)>([held](const std::string& name) {
      py::gil_scoped_acquire gil;
      return PyObject_IsTrue((*held)(name).ptr()) == 1;
    }));
  }
  if (py::isinstance<py::sequence>(filter)) {
    std::vector<std::string> names;
    for (const auto& item : filter) {
      if (!py::isinstance<py::str>(item)) {
        throw py::type_error("names_filter: a list of hook names holds a " + type_name(item) +
                             "; expected str");
      }
      names.push_back(item.cast<std::string>());
    }
    return tlens::NamesFilter(std::move(names));
  }
  throw py::type_error("names_filter: expected None, a hook name, a list of names or a callable "
                       "name -> bool, got a " + type_name(filter));
}

std::optional<tlens::PaddingSide> padding_side_from(const std::optional<std::string>& name) {
  if (!name) return std::nullopt;
  return tlens::parse_padding_side(*name);
}

void bind_hook_points(py::module_& m) {
  // dynamic_attr: `hook.ctx` (TransformerLens's per-hook-point dict) lives on the Python object,
  // which the model's hook_dict keeps, so every call of a hook sees the same one.
  py::class_<tlens::HookPoint, std::shared_ptr<tlens::HookPoint>>(m, "HookPoint", py::dynamic_attr())
      .def_readonly("name", &tlens::HookPoint::name)
      .def("layer",
           [](const tlens::HookPoint& hook) {
             const auto layer = hook.layer();
             if (!layer) {
               throw py::value_error(hook.name + ": not in a block, so it has no layer "
                                                 "(layer() parses 'blocks.L.')");
             }
             return *layer;
           })
      .def(
          "add_hook",
          [](tlens::HookPoint& hook, py::object fn, const std::string& dir, bool is_permanent,
             const py::object& /*level: scopes replace levels*/, bool prepend) {
            refuse_backward(dir);
            hook.add_hook(hook_fn(std::move(fn)),
                          tlens::HookOptions().is_permanent(is_permanent).prepend(prepend));
          },
          py::arg("hook"), py::arg("dir") = "fwd", py::arg("is_permanent") = false,
          py::arg("level") = py::none(), py::arg("prepend") = false)
      .def(
          "remove_hooks",
          [](tlens::HookPoint& hook, const std::string& dir, bool including_permanent,
             const py::object& /*level*/) {
            refuse_backward(dir == "both" ? "fwd" : dir);
            hook.remove_hooks(including_permanent ? tlens::PermanentHooks::included
                                                  : tlens::PermanentHooks::excluded);
          },
          py::arg("dir") = "fwd", py::arg("including_permanent") = false,
          py::arg("level") = py::none())
      .def("num_hooks",
           [](const tlens::HookPoint& hook, bool including_permanent) {
             return hook.num_hooks(including_permanent ? tlens::PermanentHooks::included
                                                       : tlens::PermanentHooks::excluded);
           },
           py::arg("including_permanent") = true)
      .def("__repr__", [](const tlens::HookPoint&) { return std::string("HookPoint()"); });

  // The hooks one `with model.hooks(...)` (or run_with_hooks) added; remove() takes exactly
  // those off again, idempotently.
  py::class_<tlens::HookScope>(m, "_HookScope")
      .def("remove", &tlens::HookScope::remove)
      .def("__len__", &tlens::HookScope::size);

  m.def("_refuse_backward", &refuse_backward, py::arg("dir"));
}

}  // namespace tlens::python
