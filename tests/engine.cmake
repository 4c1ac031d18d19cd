# Tests of the engine (libtorch). One line per test.
tlens_test(gpt2_parity_test tests/parity/gpt2_parity_test.cpp tlens)
