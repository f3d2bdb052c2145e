"""`python -m kcore.cli`: the `kcore` command."""

from kcore.cli.main import main

raise SystemExit(main())
