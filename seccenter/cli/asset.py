"""``seccenter asset``: the city's systems and the processing activities they serve."""

from __future__ import annotations

import click
from sqlite_utils import Database

from seccenter.cli.context import AppContext
from seccenter.cli.options import json_option
from seccenter.cli.ropa import register_db
from seccenter.privacy.assets import ASSET_FIELDS, CRITICALITIES, Asset, address_problem
from seccenter.privacy.records import Problems, Source, read_record
from seccenter.report.register_view import assets_table
from seccenter.report.terminal import json_text, make_console, visible
from seccenter.store import assets as store
from seccenter.store.ropa import get_activity, link_asset


@click.group("asset")
def group() -> None:
    """Systems (host name, addresses, owner, criticality) linked to processing activities."""


@group.command("add")
@click.argument("ident")
@click.option("--name")
@click.option("--hostname", help="Host name as logs write it (a bare name also matches its full name).")
@click.option("--address", "addresses", multiple=True, help="IP address or network (CIDR); repeatable.")
@click.option("--owner", help="Responsible department or person.")
@click.option("--criticality", type=click.Choice(CRITICALITIES))
@click.option("--description")
@click.option("--activity", "activities", multiple=True, help="Processing activity the system serves; repeatable.")
@click.option("--replace", is_flag=True, help="Replace an asset with the same id.")
@click.pass_obj
def add(app: AppContext, ident: str, activities: tuple[str, ...], replace: bool, **values: object) -> None:
    """Add an asset, optionally linked to processing activities.

    Example: seccenter asset add rathaus-db01 --hostname rathaus-db01 --address 10.20.0.11 --owner "IT" --criticality
    high --activity VT-001
    """
    document = {"id": ident, **{key: list(value) if isinstance(value, tuple) else value
                                for key, value in values.items() if value not in (None, ())}}
    problems = Problems()
    asset = read_record(Asset, ASSET_FIELDS, document, Source("options"), ident, problems)
    wrong = [reason for reason in map(address_problem, asset.addresses if asset else ()) if reason]
    if asset is None or wrong:
        raise click.ClickException("\n".join(visible(str(item), limit=None) for item in [*problems.errors, *wrong]))
    db = register_db(app)
    if not replace and store.get_asset(db, ident) is not None:
        raise click.ClickException(f"asset {visible(ident)!r} exists already (use --replace)")
    for activity in activities:
        _check_activity(db, activity)
    store.save_asset(db, asset)
    for activity in activities:
        link_asset(db, activity, ident)
    linked = f", linked to {visible(', '.join(activities))}" if activities else ""
    click.echo(f"added asset {visible(ident)}{linked}")


def _check_activity(db: Database, activity: str) -> None:
    if get_activity(db, activity) is None:
        raise click.ClickException(f"no processing activity {visible(activity)!r} (see seccenter ropa list)")


@group.command("list")
@json_option
@click.pass_obj
def list_command(app: AppContext, as_json: bool) -> None:
    """List the assets and the processing activities each serves.

    Example: seccenter asset list --json
    """
    db = register_db(app)
    assets, linked = store.list_assets(db), store.activities_of_assets(db)
    if as_json:
        click.echo(json_text([{**asset.to_dict(), "processing_activities": linked.get(asset.id, [])}
                              for asset in assets]))
    else:
        make_console().print(assets_table(assets, linked))


@group.command("link")
@click.argument("asset")
@click.argument("activity")
@click.option("--unlink", is_flag=True, help="Remove the link instead.")
@click.pass_obj
def link(app: AppContext, asset: str, activity: str, unlink: bool) -> None:
    """Link an asset to a processing activity (the asset joins the activity's systems).

    Example: seccenter asset link bauhof-nvr01 VT-004
    """
    db = register_db(app)
    if store.get_asset(db, asset) is None:
        raise click.ClickException(f"no asset {visible(asset)!r} (see seccenter asset list)")
    _check_activity(db, activity)
    link_asset(db, activity, asset, unlink=unlink)
    click.echo(f"{'unlinked' if unlink else 'linked'} {visible(asset)} {'from' if unlink else 'to'} "
               f"{visible(activity)}")
