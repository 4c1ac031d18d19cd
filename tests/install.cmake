# The installed tree on its own: cmake --install, relocated, examples/consumer/ built against it.
add_test(NAME install_consumer
  COMMAND bash ${CMAKE_SOURCE_DIR}/tests/install/consumer_test.sh ${CMAKE_SOURCE_DIR} ${CMAKE_BINARY_DIR})
set_tests_properties(install_consumer PROPERTIES TIMEOUT 600 ENVIRONMENT "OMP_WAIT_POLICY=PASSIVE")
# scripts/setup.sh and the configure name what is missing (python3, venv, torch, libtorch 2.x);
# a libtorch folder given with -DCMAKE_PREFIX_PATH is found.
add_test(NAME setup_errors
  COMMAND bash ${CMAKE_SOURCE_DIR}/tests/install/setup_errors_test.sh ${CMAKE_SOURCE_DIR} ${CMAKE_BINARY_DIR})
set_tests_properties(setup_errors PROPERTIES TIMEOUT 300)
