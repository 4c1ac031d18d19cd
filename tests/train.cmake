# Tests of training, the head detector, the checkpoint writer and the shipped model. One line per test.
tlens_test(head_detector_test tests/unit/head_detector_test.cpp tlens)
tlens_test(train_test tests/unit/train_test.cpp tlens)
tlens_test(shipped_model_test tests/integration/shipped_model_test.cpp tlens)
# The `tlens train / eval / models` commands, called in-process.
tlens_test(commands_train_test tests/integration/commands_train_test.cpp tlens)
target_link_libraries(commands_train_test PRIVATE tlens_app)
