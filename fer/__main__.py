"""Command line: ``python -m fer image|evaluate|train``. See ``python -m fer --help``."""

from .cli import main

raise SystemExit(main())
