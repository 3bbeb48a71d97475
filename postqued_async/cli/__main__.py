"""``python -m postqued_async.cli``: the ``postqued`` command."""

import sys

from postqued_async.cli._main import main

if __name__ == "__main__":
    sys.exit(main())
