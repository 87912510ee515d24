"""`python -m civicgrid` is the same as the `civicgrid` command."""

from civicgrid.cli import main

main()
