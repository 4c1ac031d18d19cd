// The seed notebook (P2020 Town Hall, "transformer_clean.ipynb"), cell by cell, in tlens.
// Read it side by side with the notebook: the same variable names, the same outputs. It uses the
// public API only.
//
//   tlens demo [--model M] [--out DIR]
//
// The pictures (the CircuitsVis and plotly cells) are written to DIR as HTML files.
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <sstream>

#include <torch/torch.h>

#include "tlens/hooked_transformer.h"
#include "tlens/loading/output_file.h"
#include "tlens/tokenizer/bpe.h"
#include "tlens/vis/tensor.h"
#include "town_hall.h"

namespace tlens::app {

namespace {

// Python's repr of a list of strings / ints / floats, for printing like the notebook.
std::string py_repr(const std::string& s) {
  // Python quotes with ' unless the text holds a ' and no ".
  const char quote = (s.find('\'') != std::string::npos && s.find('"') == std::string::npos) ? '"' : '\'';
  std::string out(1, quote);
  for (char c : s) {
    if (c == quote || c == '\\') out += '\\';
    out += (c == '\n') ? std::string("\\n") : std::string(1, c);
  }
  return out + quote;
}
template <typename T, typename F>
std::string py_list(const std::vector<T>& items, F format) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + format(items[i]);
  return out + "]";
}
std::string py_strs(const std::vector<std::string>& items) { return py_list(items, py_repr); }
std::string py_floats(const torch::Tensor& t, int decimals) {
  auto v = t.contiguous().to(torch::kFloat64);
  std::vector<double> values(v.data_ptr<double>(), v.data_ptr<double>() + v.numel());
  return py_list(values, [&](double x) {
    std::ostringstream s;
    s << std::fixed << std::setprecision(decimals) << x;
    return s.str();
  });
}
std::string py_ints(const torch::Tensor& t) {
  auto v = t.contiguous().to(torch::kLong).reshape({-1});
  std::vector<int64_t> values(v.data_ptr<int64_t>(), v.data_ptr<int64_t>() + v.numel());
  return py_list(values, [](int64_t x) { return std::to_string(x); });
}
std::string shape(const torch::Tensor& t) { return "torch.Size(" + c10::str(t.sizes()) + ")"; }

}  // namespace

int town_hall(const std::string& model_name, const std::string& out_dir, std::ostream& out,
              const FromPretrainedOptions& options) {
  torch::NoGradGuard no_grad;  // t.set_grad_enabled(False)
  // Checked (not a file, a FIFO or an unwritable place) before the model loads.
  std::filesystem::create_directories(tlens::loading::checked_output_dir(out_dir));

  out << "# Let's look at the model\n\n";
  // In [45]; prints "Loaded pretrained model ... into HookedTransformer" (to stderr)
  auto gpt2 = tlens::HookedTransformer::from_pretrained(model_name, options);
  out << *gpt2 << "\n\n";      // In [46]: gpt2
  out << gpt2->cfg << "\n\n";  // In [47]: gpt2.cfg

  out << "## Input: \"What does this eat?\" aka Tokenization\n\n";
  out << gpt2->tokenizer().repr() << "\n\n";  // In [48]: gpt2.tokenizer
  auto vocab_sorted = gpt2->tokenizer().vocab_sorted();  // In [49]
  auto entry = [](const std::pair<std::string, int64_t>& e) {
    return "(" + py_repr(e.first) + ", " + std::to_string(e.second) + ")";
  };
  std::vector<std::pair<std::string, int64_t>> head(vocab_sorted.begin(), vocab_sorted.begin() + 10);
  std::vector<std::pair<std::string, int64_t>> tail(vocab_sorted.end() - 10, vocab_sorted.end());
  out << "vocab_sorted[:10]  = " << py_list(head, entry) << "\n";
  out << "vocab_sorted[-10:] = " << py_list(tail, entry) << "\n\n";  // In [50]

  std::string text = "Hullo, my name is";  // In [51]
  out << py_strs(gpt2->to_str_tokens(text)) << "\n";  // In [52]
  out << "tensor([" << py_ints(gpt2->to_tokens(text)) << "])\n\n";

  out << "## Output: \"What comes out?\"\n\n";
  auto predictions = gpt2->forward(gpt2->to_tokens(text)).squeeze();  // In [53]
  predictions = predictions.softmax(-1);
  out << shape(predictions) << "\n";
  auto best_predictions = predictions.index({-1, torch::indexing::Slice()}).topk(5);  // In [54]
  auto values = std::get<0>(best_predictions), indices = std::get<1>(best_predictions);
  out << "topk values=" << py_floats(values, 4) << " indices=" << py_ints(indices) << "\n";
  for (int64_t i = 0; i < indices.size(0); ++i)  // In [55]
    out << "\"" << gpt2->tokenizer().decode({indices[i].item<int64_t>()}) << "\"\n";

  out << "\n# Longer example\n\n";
  text = "This is a story about Quomatarus. When one day Quomatarus decided";  // In [56]
  auto tokens = gpt2->to_tokens(text);  // In [57]
  auto str_tokens = gpt2->to_str_tokens(text);
  out << py_strs(str_tokens) << "\n" << shape(tokens) << "\n\n";

  auto [logits, cache] = gpt2->run_with_cache(tokens, CacheOptions().remove_batch_dim(true));  // In [59]
  out << cache << "\n\n";

  auto probs = logits.softmax(-1).squeeze();  // In [60]: logits to probabilities
  // In [61]: how well did it predict the actual tokens?
  auto x = probs.squeeze().index_select(1, tokens.squeeze());  // [pos, pos]
  predictions = x.diag(1);                                     // [pos - 1]
  out << "t.round(predictions, decimals=3) = " << py_floats(predictions, 3) << "\n\n";

  // In [62]: px.line(predictions, hover_name=str_tokens[1:])
  vis::LineOptions line_options;
  line_options.hover_names.assign(str_tokens.begin() + 1, str_tokens.end());
  line_options.x_title = "position";
  line_options.y_title = "probability of the actual next token";
  line_options.title = "How well did it predict the actual tokens?";
  vis::line(predictions, line_options).save(out_dir + "/probs.html");

  out << "## Attention\n\n";
  out << shape(cache("pattern", 0, "attn")) << "\n";  // In [63]
  // In [64]: compare block 0 head 5 to block 5 head 5 (smaller models: their last layer/head)
  const int64_t head5 = std::min<int64_t>(5, gpt2->cfg.n_heads - 1);
  const int64_t layer5 = std::min<int64_t>(5, gpt2->cfg.n_layers - 1);
  vis::attention_pattern(str_tokens, cache("pattern", 0, "attn")[head5])
      .save(out_dir + "/attention_pattern_L0H" + std::to_string(head5) + ".html");
  // In [65]
  auto attention_pattern = cache("pattern", layer5, "attn").squeeze();
  std::vector<std::string> head_names;
  for (int64_t i = 0; i < gpt2->cfg.n_heads; ++i) head_names.push_back("H" + std::to_string(i));
  vis::attention_heads(str_tokens, attention_pattern, head_names)
      .save(out_dir + "/attention_heads_L" + std::to_string(layer5) + ".html");
  out << "wrote " << out_dir << "/probs.html, attention_pattern_L0H" << head5
      << ".html, attention_heads_L" << layer5 << ".html\n";
  return 0;
}

}  // namespace tlens::app
