"""`python -m zerossl_tui`."""

from zerossl_tui.cli.main import main

raise SystemExit(main())
