"""Check: a webhook URL written in the catalog carries no credential (it would be published in
the generated configuration and on the runbook site)."""
from __future__ import annotations

import re
from typing import Iterator
from urllib.parse import parse_qsl, urlsplit

from compiler.diagnostics import Diagnostic, error
from compiler.model import Catalog

# Hosts whose webhook URLs are bearer credentials: whoever has the URL can post.
_SECRET_HOSTS = (
    (re.compile(r"(^|\.)hooks\.slack\.com$"), "Slack"),
    (re.compile(r"(^|\.)(discord|discordapp)\.com$"), "Discord"),
    (re.compile(r"(^|\.)webhook\.office\.com$|^outlook\.office\.com$"), "Microsoft Teams"),
    (re.compile(r"^chat\.googleapis\.com$"), "Google Chat"),
    (re.compile(r"(^|\.)(api\.telegram\.org|hooks\.zapier\.com)$"), "a token-bearing"),
)
_SECRET_PARAMS = re.compile(r"(?i)^(.*[_-])?(token|key|apikey|api_key|secret|sig|signature|"
                            r"password|passwd|auth|code|access_token)$")


def credential(url: str) -> str | None:
    """What makes `url` a credential, or None."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    for pattern, who in _SECRET_HOSTS:
        if pattern.search(host):
            return f"a {who} webhook URL" if who != "a token-bearing" else "a token-bearing webhook URL"
    if parts.username or parts.password:
        return "a URL with a user name or password in it"
    names = [name for name, _ in parse_qsl(parts.query, keep_blank_values=True)]
    if any(_SECRET_PARAMS.match(n) for n in names):
        return "a URL with a token in its query"
    return None


def check(catalog: Catalog) -> Iterator[Diagnostic]:
    for contact in catalog.contacts.values():
        what = credential(contact.webhook) if contact.webhook else None
        if what is None:
            continue
        slack = what.startswith("a Slack")
        hint = ("Slack posts to this URL only what its own format says: write `slack: '#channel'` "
                "and deploy the URL as <secrets_dir>/<contact>.slack-api-url (Alertmanager) / "
                "MONCAT_SLACK_TOKEN (Grafana)" if slack else
                "write `webhook: {secret: true}` and deploy the URL as <secrets_dir>/<contact>.webhook-url "
                "(Alertmanager 0.26+) and MONCAT_WEBHOOK_URL_<CONTACT> (Grafana)")
        # The source line is not quoted: it holds the credential.
        yield error("MC464", f"the webhook of contact {contact.id!r} is {what}, which is a "
                    "credential: it would be written into the generated configuration and the "
                    "runbook site", contact.webhook_loc or contact.loc, hint + "; then rotate it, "
                    "since it is in the catalog's history")
