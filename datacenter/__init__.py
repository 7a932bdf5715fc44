"""The controller: registry, IPAM, console API, reconciler and the `pronote-dc` CLI."""
