# Tests of tlens_io (safetensors, model resolver/download). One line per test.
tlens_test(safetensors_test tests/unit/safetensors_test.cpp tlens_io)
tlens_test(model_resolver_test tests/unit/model_resolver_test.cpp tlens_io)
