// build/town_hall [MODEL] [OUT_DIR]: the seed notebook in C++ (see town_hall.cpp).
#include <iostream>

#include "town_hall.h"

int main(int argc, char** argv) {
  try {
    return town_hall(argc > 1 ? argv[1] : "gpt2-small", argc > 2 ? argv[2] : "town_hall_out",
                     std::cout);
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}
