// `tlens probs --model M --out FILE.html PROMPT`: the probability the model gave each actual next
// token, as a line plot with the tokens as hover names (the notebook's px.line cell).
#include <iostream>

#include <torch/torch.h>

#include "commands.h"
#include "options.h"
#include "tlens/error.h"
#include "tlens/vis/tensor.h"

namespace tlens::app {

namespace {

int probs(const ViewOptions& options) {
  const std::string prompt = options.prompt.read();
  auto model = options.model.load();
  torch::NoGradGuard no_grad;
  auto tokens = view_tokens(model, prompt);  // [1, pos]
  if (tokens.size(1) < 2) throw Error("the prompt", "is a single token", "pass at least one word");
  auto probs = model->forward(tokens).softmax(-1).squeeze(0);  // [pos, d_vocab]
  // probability of each actual next token: probs[p, tokens[p + 1]]
  auto next = tokens[0].slice(0, 1).unsqueeze(1);                       // [pos - 1, 1]
  auto predictions = probs.slice(0, 0, -1).gather(1, next).squeeze(1);  // [pos - 1]
  auto str_tokens = model->to_str_tokens(tokens);
  vis::LineOptions view;
  view.hover_names.assign(str_tokens.begin() + 1, str_tokens.end());
  view.x_title = "position";
  view.y_title = "probability of the actual next token";
  view.title = "How well did it predict the actual tokens?";
  vis::line(predictions, view).save(options.out);
  std::cerr << "wrote " << options.out << "\n";
  return 0;
}

}  // namespace

Command add_probs(CLI::App& tlens) {
  return make_command(tlens, "probs",
                      "the probability of each actual next token, as a line plot in an HTML page",
                      add_view_options, probs);
}

}  // namespace tlens::app
