"""The ``mobilekit`` command line (Typer). Commands only parse, call one library function and print."""
