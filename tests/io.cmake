# Tests of tlens_io (safetensors, output files, model resolver/download). One line per test.
tlens_test(safetensors_test tests/unit/safetensors_test.cpp tlens_io)
tlens_test(model_resolver_test tests/unit/model_resolver_test.cpp tlens_io)
tlens_test(output_file_test tests/unit/output_file_test.cpp tlens_io)
