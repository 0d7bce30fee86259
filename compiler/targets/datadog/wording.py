"""Datadog target, wording: the fixed sentences of a monitor's message in the alert's service
language (the catalog's text itself is written by the service, in its language)."""
from __future__ import annotations

from compiler.model import Alert, Catalog

WORDS: dict[str, dict[str, str]] = {
    "en": {
        "warning": "Warning: {summary}",
        "no_data": "No data: the metric behind {alert} stopped reporting. {summary}",
        "recovered": "Recovered: {summary}",
        "severity": "Severity {level} ({meaning}){within}.",
        "within": ", respond within {duration}",
        "runbook": "Runbook: {url}",
        "differs": "Differs from Prometheus: {text}",
        "suppressed": "Notifications come from the composite monitor {name}: it holds this alert "
                      "while {by} fires.",
    },
    "id": {
        "warning": "Peringatan: {summary}",
        "no_data": "Tidak ada data: metric di balik {alert} berhenti melapor. {summary}",
        "recovered": "Pulih: {summary}",
        "severity": "Severity {level} ({meaning}){within}.",
        "within": ", respons dalam {duration}",
        "runbook": "Runbook: {url}",
        "differs": "Berbeda dari Prometheus: {text}",
        "suppressed": "Notifikasi dikirim oleh monitor komposit {name}: alert ini ditahan selama "
                      "{by} menyala.",
    },
}


def words(catalog: Catalog, alert: Alert) -> dict[str, str]:
    """The sentences for the language of the alert's service (English when not translated)."""
    service = catalog.service(alert.service)
    tag = (service.language or catalog.settings.language or "en").split("-")[0].lower()
    return WORDS.get(tag, WORDS["en"])
