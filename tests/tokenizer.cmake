# Tests of tlens_tokenizer. One line per test.
tlens_test(bpe_test tests/unit/bpe_test.cpp tlens_tokenizer)
tlens_test(tokenizer_regex_test tests/unit/tokenizer_regex_test.cpp tlens_tokenizer)
target_include_directories(tokenizer_regex_test PRIVATE ${CMAKE_SOURCE_DIR}/src)
tlens_test(tokenizer_normalizer_test tests/unit/tokenizer_normalizer_test.cpp tlens_tokenizer)
target_include_directories(tokenizer_normalizer_test PRIVATE ${CMAKE_SOURCE_DIR}/src)
tlens_test(tokenizer_pre_tokenizer_test tests/unit/tokenizer_pre_tokenizer_test.cpp tlens_tokenizer)
target_include_directories(tokenizer_pre_tokenizer_test PRIVATE ${CMAKE_SOURCE_DIR}/src)
