# Tests of the engine (libtorch). One line per test.
tlens_test(gpt2_parity_test tests/parity/gpt2_parity_test.cpp tlens)
tlens_test(hooks_test tests/integration/hooks_test.cpp tlens)
tlens_test(utils_test tests/unit/utils_test.cpp tlens)
tlens_test(config_test tests/unit/config_test.cpp tlens)
tlens_test(weight_processing_test tests/unit/weight_processing_test.cpp tlens)
tlens_test(hf_gpt2_test tests/unit/hf_gpt2_test.cpp tlens)
tlens_test(hooked_transformer_test tests/unit/hooked_transformer_test.cpp tlens)
tlens_test(cli_test tests/integration/cli_test.cpp tlens)
