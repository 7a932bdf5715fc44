"""What a Serveur PRONOTE does, in plain Python: no gRPC, no HTTP, no file but through the store."""
