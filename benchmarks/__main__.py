"""``python -m benchmarks``: run the suite (see ``benchmarks/README.md``)."""

from benchmarks.run import main

raise SystemExit(main())
