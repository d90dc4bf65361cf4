"""Queries on the assets table and on the links between assets and processing activities."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime

from sqlite_utils import Database

from seccenter.incidents import audit
from seccenter.privacy.assets import ASSET_FIELDS, Asset, AssetIndex
from seccenter.privacy.records import Problems, Source, read_record
from seccenter.store.documents import stored_documents
from seccenter.store.transaction import write_transaction


def _decode(text: str, ident: str) -> Asset:
    problems = Problems()
    asset = read_record(Asset, ASSET_FIELDS, json.loads(text), Source("store asset"), ident, problems)
    if asset is None:
        raise ValueError("; ".join(map(str, problems.errors)))
    return asset


def upsert_assets(db: Database, assets: Iterable[Asset], now: str | None = None) -> None:
    """Add or replace assets by id (inside the caller's transaction, if any)."""
    now = now or datetime.now(UTC).isoformat()
    db.conn.executemany(
        "INSERT OR REPLACE INTO assets (id, name, hostname, criticality, document, updated) VALUES (?, ?, ?, ?, ?, ?)",
        [(asset.id, asset.name, asset.hostname, asset.criticality, json.dumps(asset.to_dict(), ensure_ascii=False),
          now) for asset in assets])


def save_asset(db: Database, asset: Asset) -> None:
    with write_transaction(db):
        before = stored_documents(db, "assets", [asset.id]).get(asset.id)
        upsert_assets(db, [asset])
        after = asset.to_dict()
        if before != after:
            audit.append(db, audit.current_actor(), "asset.update" if before else "asset.add", "asset", asset.id,
                         before, after)


def get_asset(db: Database, asset_id: str) -> Asset | None:
    row = db.execute("SELECT document FROM assets WHERE id = ?", [asset_id]).fetchone()
    return _decode(row[0], asset_id) if row else None


def list_assets(db: Database) -> list[Asset]:
    return [_decode(text, ident) for ident, text in db.execute("SELECT id, document FROM assets ORDER BY id")]


def asset_ids(db: Database) -> set[str]:
    return {row[0] for row in db.execute("SELECT id FROM assets")}


def activities_of_assets(db: Database) -> dict[str, list[str]]:
    """Asset id → ids of the processing activities whose ``systems`` name it."""
    linked: dict[str, list[str]] = {}
    for asset_id, activity_id in db.execute(
            "SELECT asset_id, activity_id FROM activity_systems ORDER BY asset_id, activity_id"):
        linked.setdefault(asset_id, []).append(activity_id)
    return linked


def asset_index(db: Database) -> AssetIndex:
    return AssetIndex(list_assets(db))
