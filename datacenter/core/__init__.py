"""The controller's rules, in plain Python: no protos, no grpc (docs/DESIGN.md decision 17).

Fleet (provision, reconcile), registry and IPAM (SQLite), auth, orders and their rules, the
scheduler and the yearly cycle, sample accounts, demo schools, UAI, académies, settings and
errors. A school's agent is reached through `gateway.AgentGateway`; a runtime through
`provisioning.runtime.Runtime`.
"""
