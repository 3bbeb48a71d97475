"""``python -m postqued_async.sandbox``: serve a sandbox until Ctrl-C."""

import sys

from postqued_async.sandbox._serve import main

if __name__ == "__main__":
    sys.exit(main())
