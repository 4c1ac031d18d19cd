// Loads the model tlens ships and prints the five most likely next tokens of a prompt.
//   top5 [PROMPT] [MODEL]
#include <cstdio>
#include <exception>
#include <string>

#include <tlens/hooked_transformer.h>
#include <torch/torch.h>

int main(int argc, char** argv) {
  const std::string prompt = argc > 1 ? argv[1] : "Hullo, my name is";
  const std::string model_name = argc > 2 ? argv[2] : "tlens-induction-2l";
  try {
    torch::NoGradGuard no_grad;
    auto model = tlens::HookedTransformer::from_pretrained(model_name);
    auto logits = model->forward(prompt);                   // [1, pos, d_vocab]
    auto probs = logits[0][-1].softmax(-1);                 // [d_vocab]
    auto [values, ids] = probs.topk(5);                     // [5], [5]
    for (int64_t i = 0; i < 5; ++i) {
      const int64_t id = ids[i].item<int64_t>();
      std::printf("%d\t%.4f\t%s\n", static_cast<int>(id), values[i].item<double>(),
                  model->to_single_str_token(id).c_str());
    }
  } catch (const std::exception& error) {
    std::fprintf(stderr, "error: %s\n", error.what());
    return 1;
  }
  return 0;
}
