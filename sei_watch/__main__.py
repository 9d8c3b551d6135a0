"""`python -m sei_watch`."""

from .cli import main

raise SystemExit(main())
