from ioc.cli import main

raise SystemExit(main())
