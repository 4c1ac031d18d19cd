"""The `tlens` command installed with the package (and `python -m tlens`): runs the C++ CLI that
the package carries (tlens/bin/tlens), with the same arguments."""

import os
import sys


def main():
    binary = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bin", "tlens")
    if not os.path.exists(binary):
        sys.exit(f"tlens: {binary} is missing; this copy of the package was not installed with "
                 "pip (pip install . builds it)")
    os.execv(binary, [binary] + sys.argv[1:])


if __name__ == "__main__":
    main()
