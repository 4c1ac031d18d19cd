# Tests of tlens_tokenizer. One line per test.
tlens_test(bpe_test tests/unit/bpe_test.cpp tlens_tokenizer)
