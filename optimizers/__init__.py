"""FoMoH and other optimizers over flat parameter vectors."""
