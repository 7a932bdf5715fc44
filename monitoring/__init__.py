"""Prometheus configuration, alert rules and Grafana dashboards (to come)."""
