"""`python -m sei_watch`."""

from sei_watch.cli import main

raise SystemExit(main())
