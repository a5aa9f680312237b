"""Tests of the paper experiments (collected by the README's test command)."""
