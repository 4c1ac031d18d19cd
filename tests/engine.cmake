# Tests of the engine (libtorch). One line per test.
