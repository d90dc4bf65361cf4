"""From an alert to the personal data at stake: event fields → assets → processing activities."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from seccenter.privacy.assets import AssetIndex
from seccenter.privacy.ropa import ProcessingActivity


class PersonalDataIndex:
    """Assets and the activities whose ``systems`` name them, built once for many alerts."""

    def __init__(self, assets: AssetIndex, activities: Iterable[ProcessingActivity]) -> None:
        self.assets = assets
        self.by_asset: dict[str, list[ProcessingActivity]] = {}
        for activity in activities:
            for system in dict.fromkeys(activity.systems):
                self.by_asset.setdefault(system, []).append(activity)


def assets_for_alert(fields: Mapping[str, Any], index: PersonalDataIndex) -> dict[str, list[dict[str, Any]]]:
    """``{"assets": [...], "processing_activities": [...]}`` for an alert's event fields: each asset with the
    field and value that named it, each activity (once) with its data subjects, data categories and special
    categories."""
    matches = index.assets.match(fields)
    activities: dict[str, ProcessingActivity] = {}
    for match in matches:
        for activity in index.by_asset.get(match.asset.id, ()):
            activities.setdefault(activity.id, activity)
    return {
        "assets": [{"id": match.asset.id, "name": match.asset.name, "hostname": match.asset.hostname,
                    "criticality": match.asset.criticality, "matched": {"field": match.field, "value": match.value}}
                   for match in matches],
        "processing_activities": [{"id": activity.id, "name": activity.name,
                                   "data_subjects": list(activity.data_subjects),
                                   "data_categories": list(activity.data_categories),
                                   "special_categories": list(activity.special_categories)}
                                  for activity in activities.values()],
    }
