"""Writes a random gpt2-small checkpoint in the Hugging Face layout (config.json +
model.safetensors) with every parameter randomized, for the benchmarks.

    .venv-oracle/bin/python bench/make_checkpoint.py OUT_DIR [--layers 12]
"""
import argparse
import os

import torch
from transformers import GPT2Config, GPT2LMHeadModel


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--layers", type=int, default=12)
    args = parser.parse_args()
    if os.path.exists(os.path.join(args.out, "model.safetensors")):
        return
    torch.manual_seed(0)
    config = GPT2Config(n_layer=args.layers)  # gpt2-small: 768 wide, 12 heads, 50257 tokens
    model = GPT2LMHeadModel(config)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "ln" in name and name.endswith("weight"):
                p.copy_(1 + 0.1 * torch.randn_like(p))
            elif name.endswith("bias"):
                p.copy_(0.02 * torch.randn_like(p))
            else:
                p.copy_(0.02 * torch.randn_like(p))
    model.save_pretrained(args.out, safe_serialization=True)


if __name__ == "__main__":
    main()
