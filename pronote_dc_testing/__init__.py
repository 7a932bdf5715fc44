"""PRONOTE schools for other people's tests: a pytest plugin (`pronote_dc_testing.plugin`,
loaded through the `pytest11` entry point) and a testcontainers module
(`pronote_dc_testing.containers`). See docs/testing.md.

Nothing heavy is imported here, so that loading the plugin costs nothing: import
`pronote_dc_testing.embedded.EmbeddedDatacenter` or `pronote_dc_testing.containers` directly.
"""
