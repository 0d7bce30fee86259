"""moncat: compiles one monitoring catalog into Prometheus, Alertmanager, Grafana, Datadog and runbooks."""
