"""The Console gRPC API, cut along the hosting console's panels (docs/DESIGN.md decision 18);
`service.ConsoleService` assembles them."""
