"""What a Serveur PRONOTE does, in plain Python: no gRPC, no HTTP, no files but through the store."""
