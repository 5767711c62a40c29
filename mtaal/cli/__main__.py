from mtaal.cli import main

raise SystemExit(main())
