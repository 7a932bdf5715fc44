"""`python -m pronote_dc_testing school`: the same as `pronote-dc-testing school`."""

from pronote_dc_testing.cli import main

main()
