"""TransformerLens's utils: get_act_name, test_prompt, the LM loss and small tensor helpers.

    utils.get_act_name("pattern", 0, "attn")       # "blocks.0.attn.hook_pattern"
    utils.test_prompt("The capital of France is", " Paris", model)
"""

import torch

from . import _C

__all__ = ["get_act_name", "test_prompt", "lm_cross_entropy_loss", "sample_logits", "get_corner",
           "to_numpy", "remove_batch_dim"]


def get_act_name(name, layer=None, layer_type=None):
    """The full hook name of TransformerLens shorthand ("pattern", 0, "attn"), ("k6"), ..."""
    return _C.get_act_name(name, None if layer is None else int(layer), layer_type or "")


def lm_cross_entropy_loss(logits, tokens, attention_mask=None, per_token=False):
    return _C.lm_cross_entropy_loss(logits, tokens, attention_mask, per_token)


def sample_logits(final_logits, top_k=None, top_p=None, temperature=1.0, freq_penalty=0.0,
                  tokens=None):
    """TransformerLens's sample_logits: one token per row of final_logits [batch, d_vocab];
    temperature 0 is argmax; top_k, else top_p; freq_penalty needs tokens [batch, pos]. Draws with
    torch's default generator (torch.manual_seed)."""
    return _C.sample_logits(final_logits, top_k, top_p, float(temperature), float(freq_penalty),
                            tokens)


def get_corner(tensor, n=3):
    """The top-left n x ... x n corner of a tensor (or a FactoredMatrix)."""
    from .factored_matrix import FactoredMatrix
    if isinstance(tensor, FactoredMatrix):
        return tensor.get_corner(n)
    return tensor[tuple(slice(n) for _ in range(tensor.ndim))]


def to_numpy(tensor):
    if isinstance(tensor, (list, tuple)):
        import numpy as np
        return np.array(tensor)
    if isinstance(tensor, torch.Tensor):
        return tensor.detach().cpu().numpy()
    if isinstance(tensor, (int, float, bool, str)):
        import numpy as np
        return np.array(tensor)
    return tensor


def remove_batch_dim(tensor):
    """Drops dim 0 when it has size 1."""
    return tensor.squeeze(0) if tensor.shape[0] == 1 else tensor


def test_prompt(prompt, answer, model, prepend_space_to_answer=True, print_details=True,
                prepend_bos=None, top_k=10):
    """Prints the prompt's and the answer's tokens, then for each answer token its rank, logit
    and probability and the model's top_k tokens there, then the ranks; returns None."""
    answers = [answer] if isinstance(answer, str) else list(answer)
    if prepend_space_to_answer:
        answers = [a if a.startswith(" ") else " " + a for a in answers]
    prompt_tokens = model.to_tokens(prompt, prepend_bos=prepend_bos)
    answer_tokens = [model.to_tokens(a, prepend_bos=False)[0] for a in answers]
    if len(answers) > 1:  # several answers: only their first token is compared
        answer_tokens = [t[:1] for t in answer_tokens]
    tokens = torch.cat([prompt_tokens[0], answer_tokens[0]])
    prompt_length = prompt_tokens.shape[1]
    if print_details:
        print("Tokenized prompt:", model.to_str_tokens(prompt_tokens[0]))
        print("Tokenized answer:", [model.to_str_tokens(t) for t in answer_tokens]
              if len(answers) > 1 else model.to_str_tokens(answer_tokens[0]))
    logits = model(tokens[None])[0]  # [pos, d_vocab]
    probs = logits.softmax(dim=-1)
    ranks = []
    for index in range(prompt_length, tokens.shape[0]):
        answer_token = int(tokens[index])
        answer_str = model.to_string(tokens[index])
        position_logits = logits[index - 1]
        position_probs = probs[index - 1]
        order = position_logits.argsort(descending=True)
        rank = int((order == answer_token).nonzero()[0, 0])
        ranks.append((answer_str, rank))
        if print_details:
            print("Performance on answer token:")
            print(f"Rank: {rank: <8} Logit: {position_logits[answer_token].item():5.2f} "
                  f"Prob: {position_probs[answer_token].item():6.2%} Token: |{answer_str}|")
            for i in range(top_k):
                token = int(order[i])
                print(f"Top {i}th token. Logit: {position_logits[token].item():5.2f} "
                      f"Prob: {position_probs[token].item():6.2%} "
                      f"Token: |{model.to_string(order[i])}|")
    for other in answers[1:]:
        token = int(model.to_tokens(other, prepend_bos=False)[0, 0])
        order = logits[prompt_length - 1].argsort(descending=True)
        ranks.append((model.to_string(torch.tensor(token)),
                      int((order == token).nonzero()[0, 0])))
    print(f"Ranks of the answer tokens: {ranks}")
