"""How event fields find assets: host names (full or bare), addresses and networks, either end of a connection."""

from __future__ import annotations

from seccenter.privacy.assets import Asset, AssetIndex
from seccenter.privacy.linking import PersonalDataIndex, assets_for_alert
from seccenter.privacy.ropa import ProcessingActivity

ASSETS = AssetIndex([
    Asset("db", hostname="rathaus-db01.rathaus.local", addresses=("10.20.0.11",)),
    Asset("web", hostname="portal", addresses=("2001:db8::10",)),
    Asset("school", hostname="", addresses=("10.30.5.0/24",)),
])


def matched(fields: dict) -> list[tuple[str, str]]:
    return [(match.asset.id, match.field) for match in ASSETS.match(fields)]


def test_host_names_full_bare_case_and_port() -> None:
    assert matched({"host": "rathaus-db01"}) == [("db", "host")]
    assert matched({"Computer": "RATHAUS-DB01.rathaus.local."}) == [("db", "Computer")]
    assert matched({"cs-host": "portal.stadt.example:8443"}) == [("web", "cs-host")]
    assert matched({"host": "rathaus-db01.other.example"}) == []
    assert matched({"host": "www"}) == []


def test_addresses_exact_in_a_network_mapped_and_bracketed() -> None:
    assert matched({"dst_ip": "10.20.0.11"}) == [("db", "dst_ip")]
    assert matched({"src_ip": "10.30.5.200"}) == [("school", "src_ip")]
    assert matched({"IpAddress": "::ffff:10.30.5.7"}) == [("school", "IpAddress")]
    assert matched({"dest_ip": "[2001:db8::10]"}) == [("web", "dest_ip")]
    assert matched({"src_ip": "10.30.6.1", "dst_ip": "not an address", "host": None}) == []


def test_one_asset_once_even_when_several_fields_name_it() -> None:
    assert matched({"host": "rathaus-db01", "dst_ip": "10.20.0.11", "src_ip": "10.30.5.9"}) == [
        ("db", "host"), ("school", "src_ip")]


def test_alert_gets_each_activity_once_with_its_categories() -> None:
    activities = [ProcessingActivity("VT-1", name="Registration", systems=("db", "school"),
                                     special_categories=("religious_beliefs",), data_subjects=("Residents",)),
                  ProcessingActivity("VT-2", name="Parking", systems=("db",))]
    linked = assets_for_alert({"host": "rathaus-db01", "src_ip": "10.30.5.9"}, PersonalDataIndex(ASSETS, activities))
    assert [asset["id"] for asset in linked["assets"]] == ["db", "school"]
    assert [(a["id"], a["special_categories"], a["data_subjects"]) for a in linked["processing_activities"]] == [
        ("VT-1", ["religious_beliefs"], ["Residents"]), ("VT-2", [], [])]
