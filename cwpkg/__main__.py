from cwpkg.cli.main import main

raise SystemExit(main())
