"""gRPC adapters: the only modules of vm_agent that import the generated protocol code."""
