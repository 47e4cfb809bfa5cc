from .cli import main

# The normal exit (not cli.script's quick one): ``python -m cProfile -m directive_release``
# and other tools that wrap the module write their results after it returns.
raise SystemExit(main())
