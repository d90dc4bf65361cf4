"""The analyst's triage screen as data: alerts of the window and since the last scan, open incidents with their
legal deadlines, and the alerts on systems that process special categories of personal data (Art. 9, 10 GDPR).

``seccenter triage`` renders it (``report.triage_view``) or prints ``to_dict()``; ``seccenter demo`` shows it."""

from __future__ import annotations

import dataclasses
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any

from sqlite_utils import Database

from seccenter.incidents.cases import list_cases
from seccenter.privacy.assets import ADDRESS_FIELDS, AssetIndex
from seccenter.privacy.assets import HOST_FIELDS as ASSET_HOST_FIELDS
from seccenter.privacy.linking import PersonalDataIndex, assets_for_alert
from seccenter.report.incident_view import obligations_json
from seccenter.store.alerts import TriageSummary, count_by_level, field_value_counts, triage_summary
from seccenter.store.assets import list_assets
from seccenter.store.ropa import alerts_with_personal_data, list_activities
from seccenter.store.scan_runs import last_run

CRIMINAL = "criminal_convictions"
"""The one special category that is Art. 10 data; the others are Art. 9(1)."""


def articles(categories: list[str] | tuple[str, ...]) -> list[str]:
    """``["Art. 9", "Art. 10"]`` for the special categories given: the marks the screen shows."""
    found = set(categories)
    return ["Art. 9"] * bool(found - {CRIMINAL}) + ["Art. 10"] * (CRIMINAL in found)


def special_categories(alert: dict[str, Any]) -> list[str]:
    """The special categories processed on the assets an alert names (``alerts_with_personal_data`` rows)."""
    found = dict.fromkeys(category for activity in alert.get("processing_activities", ())
                          for category in activity["special_categories"])
    return list(found)


@dataclass(frozen=True)
class Triage:
    summary: TriageSummary
    """The window: ``--since`` or every alert; ``newest`` carries ``assets`` and ``processing_activities``."""
    last_run: dict[str, Any] | None
    since_last_run: dict[str, int] | None
    """Alerts per level stored from the last finished scan's first alert on (None without a scan)."""
    incidents: list[dict[str, Any]]
    """Open cases with their obligations (due times in UTC), as ``incidents.cases.list_cases`` gives them."""
    special_by_category: dict[str, int]
    special_alerts: int
    """Alerts of the window on assets that process special categories, in all and per category."""
    now: datetime

    def to_dict(self, zone: tzinfo) -> dict[str, Any]:
        run = self.last_run
        return {
            **self.summary.to_dict(),
            "newest": [{**alert, "special_categories": special_categories(alert)} for alert in self.summary.newest],
            "since_last_run": None if run is None or self.since_last_run is None else {
                "run_id": run["id"], "started": run["started"], "finished": run["finished"],
                "first_alert_id": run["first_alert_id"], "total": sum(self.since_last_run.values()),
                "by_level": self.since_last_run},
            "incidents": [{**case, "obligations": obligations_json(case["obligations"], zone, self.now)}
                          for case in self.incidents],
            "special_category_alerts": {"count": self.special_alerts, "by_category": self.special_by_category},
        }


def build(db: Database, since: datetime | None = None, now: datetime | None = None, top: int = 10,
          newest: int = 10) -> Triage:
    summary = triage_summary(db, since=since, top=top, newest=newest)
    summary = dataclasses.replace(summary, newest=alerts_with_personal_data(db, summary.newest))
    run = last_run(db)
    special_count, by_category = _special_category_alerts(db, since)
    return Triage(summary=summary, last_run=run,
                  since_last_run=count_by_level(db, first_id=run["first_alert_id"]) if run else None,
                  incidents=list_cases(db), special_by_category=by_category, special_alerts=special_count,
                  now=now or datetime.now(UTC))


def _special_category_alerts(db: Database, since: datetime | None) -> tuple[int, dict[str, int]]:
    """How many alerts name an asset that an activity with special categories runs on, in all and per category.
    Only those assets are matched, only on the kinds of field they can match (host names, addresses), and once
    per distinct combination of values rather than once per alert."""
    activities = [activity for activity in list_activities(db) if activity.special_categories and activity.systems]
    systems = {system for activity in activities for system in activity.systems}
    assets = [asset for asset in list_assets(db) if asset.id in systems]
    names = (*(ASSET_HOST_FIELDS if any(asset.hostname for asset in assets) else ()),
             *(ADDRESS_FIELDS if any(asset.addresses for asset in assets) else ()))
    if not names:
        return 0, {}
    index = PersonalDataIndex(AssetIndex(assets), activities)
    total, by_category = 0, Counter()
    for fields, count in field_value_counts(db, tuple(dict.fromkeys(names)), since):
        categories = special_categories(assets_for_alert(fields, index))
        if categories:
            total += count
            by_category.update(dict.fromkeys(categories, count))
    return total, dict(by_category.most_common())
