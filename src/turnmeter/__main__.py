"""``python -m turnmeter``: the command line."""

from turnmeter.cli import run

run()
