"""The `tlens` command installed with the package (and `python -m tlens`): runs the C++ CLI that
the package carries (tlens/bin/tlens), with the same arguments."""

import os
import sys


def _binary():
    """tlens/bin/tlens next to this file (pip install .), else next to the compiled module, which
    an editable install (pip install -e .) keeps in site-packages while the sources stay here."""
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bin", "tlens")
    if os.path.exists(here):
        return here
    try:
        from . import _C
    except ImportError:
        return here
    return os.path.join(os.path.dirname(os.path.abspath(_C.__file__)), "bin", "tlens")


def main():
    binary = _binary()
    if not os.path.exists(binary):
        sys.exit(f"tlens: {binary} is missing; this copy of the package was not installed with "
                 "pip (pip install . builds it)")
    os.execv(binary, [binary] + sys.argv[1:])


if __name__ == "__main__":
    main()
