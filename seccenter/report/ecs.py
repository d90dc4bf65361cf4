"""Events and alerts in Elastic Common Schema (ECS) field names, as JSON lines for Filebeat/OpenSearch.

Fields without an ECS counterpart are kept under ``seccenter.fields`` so nothing is lost on the way.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

ECS_VERSION = "8.11.0"

FIELD_MAP: dict[str, str] = {
    # hosts and processes (syslog, journald, Windows)
    "host": "host.name",
    "Computer": "host.name",
    "process": "process.name",
    "pid": "process.pid",
    "ProcessId": "process.pid",
    "Image": "process.executable",
    "CommandLine": "process.command_line",
    "command": "process.command_line",
    "ParentImage": "process.parent.executable",
    "ParentCommandLine": "process.parent.command_line",
    "message": "message",
    # users and outcomes
    "user": "user.name",
    "User": "user.name",
    "cs-username": "user.name",
    "target_user": "user.target.name",
    "TargetUserName": "user.target.name",
    "outcome": "event.outcome",
    "action": "event.action",
    # network
    "src_ip": "source.ip",
    "c-ip": "source.ip",
    "SourceIp": "source.ip",
    "IpAddress": "source.ip",
    "src_port": "source.port",
    "SourcePort": "source.port",
    "src_host": "source.domain",
    "dest_ip": "destination.ip",
    "dst_ip": "destination.ip",
    "DestinationIp": "destination.ip",
    "dest_port": "destination.port",
    "dst_port": "destination.port",
    "DestinationPort": "destination.port",
    "proto": "network.transport",
    # web
    "cs-method": "http.request.method",
    "cs-uri-stem": "url.path",
    "cs-uri-query": "url.query",
    "c-uri": "url.original",
    "cs-host": "url.domain",
    "cs-version": "http.version",
    "sc-status": "http.response.status_code",
    "sc-bytes": "http.response.bytes",
    "cs-referer": "http.request.referrer",
    "cs-user-agent": "user_agent.original",
    "c-useragent": "user_agent.original",
    # dns and tls
    "query": "dns.question.name",
    "record_type": "dns.question.type",
    "tls.sni": "tls.client.server_name",
    # Windows event log
    "EventID": "event.code",
    "Channel": "winlog.channel",
    "Provider_Name": "winlog.provider_name",
    "EventRecordID": "winlog.record_id",
}
"""seccenter field → ECS field. The README's export table is checked against this by a test."""

_HTTP_VERSION_PREFIX = "HTTP/"


def _nest(flat: dict[str, Any]) -> dict[str, Any]:
    """``{"a.b": 1}`` → ``{"a": {"b": 1}}`` (ECS documents are nested objects)."""
    nested: dict[str, Any] = {}
    for dotted, value in flat.items():
        node = nested
        *parents, leaf = dotted.split(".")
        for parent in parents:
            node = node.setdefault(parent, {})
        node[leaf] = value
    return nested


def _fits(flat: dict[str, Any], target: str) -> bool:
    """False when ``target`` would nest under, or over, a value already placed (``a`` beside ``a.b``)."""
    prefix = target + "."
    parents = target.split(".")
    return not any(".".join(parents[:depth]) in flat for depth in range(1, len(parents))) and not any(
        name.startswith(prefix) for name in flat)


def _convert(name: str, value: Any) -> Any:
    if name == "http.version" and isinstance(value, str) and value.startswith(_HTTP_VERSION_PREFIX):
        return value[len(_HTTP_VERSION_PREFIX):]
    if name == "event.code":
        return str(value)
    return value


def event_document(event: dict[str, Any]) -> dict[str, Any]:
    """One stored event (as ``store.events.iter_events`` gives it) as an ECS document."""
    flat: dict[str, Any] = {
        "@timestamp": event["time"],
        "ecs.version": ECS_VERSION,
        "event.kind": "event",
        "event.module": event["source"],
        "event.original": event["raw"],
        "log.file.path": event["origin"]["path"],
        "log.offset": event["origin"]["offset"],
    }
    unmapped: dict[str, Any] = {}
    for name, value in event["fields"].items():
        target = FIELD_MAP.get(name)
        if target is None or target in flat or not _fits(flat, target):
            unmapped[name] = value
        else:
            flat[target] = _convert(target, value)
    document = _nest(flat)
    if unmapped:
        document["seccenter"] = {"fields": unmapped}
    return document


def alert_document(alert: dict[str, Any]) -> dict[str, Any]:
    """One stored alert (as ``store.alerts.list_alerts`` gives it) as an ECS document of kind ``alert``."""
    document = event_document({**alert, "time": alert["time"]})
    document["event"]["kind"] = "alert"
    document["event"]["severity"] = alert["level"]
    document["rule"] = {"id": alert["rule_id"], "name": alert["rule_title"]}
    document["tags"] = alert["tags"]
    return document


def documents(rows: Iterable[dict[str, Any]], kind: str) -> Iterator[dict[str, Any]]:
    convert = alert_document if kind == "alerts" else event_document
    return (convert(row) for row in rows)
