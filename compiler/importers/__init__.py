"""Import stage: existing Prometheus rules, mixins, Grafana dashboards and Datadog monitors into
catalog YAML. read (one module per source) -> source model (source.py) -> catalog documents
(catalog.py, examples.py) -> YAML with source comments (emit.py, write.py); run.py orders them."""
