"""Targets, routing: what the catalog means for notifications (who is told, by which integrations,
after how long), and the routing tree that Alertmanager and Grafana's Alertmanager both walk."""
