"""`python -m datacenter.cli` is `pronote-dc`."""

from datacenter.cli import main

main()
