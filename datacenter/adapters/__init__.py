"""The controller's edges: the agent client (implements core.gateway.AgentGateway), the
Console API (`console/`, one module per panel), HTTP (/metrics, service discovery), metrics,
and the conversions between protocol messages and the core's values (`wire`)."""
