# Tests of tlens_config (HookedTransformerConfig, config.json reading; no libtorch). One line per test.
tlens_test(config_test tests/unit/config_test.cpp tlens_config)
tlens_test(hf_gpt2_config_test tests/unit/hf_gpt2_config_test.cpp tlens_config)
