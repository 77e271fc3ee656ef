"""The `flattr` command line: the composition of every package (see main.py)."""
