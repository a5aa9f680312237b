"""Data sets, training loop and the `fomoh` command-line tool."""
