"""The controller's adapters: protocols at its edges."""
