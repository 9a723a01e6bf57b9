from cwpkg.cli import main

raise SystemExit(main())
