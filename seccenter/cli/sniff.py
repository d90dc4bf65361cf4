from __future__ import annotations

import json
import signal
from pathlib import Path

import click

from seccenter import pipeline
from seccenter.cli.context import AppContext, load_ruleset
from seccenter.cli.ingest import payload_options, payload_scan_for, summary_table
from seccenter.cli.ioc_options import ioc_option, load_iocs
from seccenter.cli.options import json_option
from seccenter.collect.live import CaptureError, LiveCapture
from seccenter.report.terminal import make_console
from seccenter.resources import sigma_rules


@click.command("sniff")
@click.option("--iface", required=True, help="Interface to capture on (needs CAP_NET_RAW or root).")
@click.option("--filter", "bpf", help="BPF capture filter, e.g. 'udp port 53'.")
@click.option("--count", type=click.IntRange(min=0), default=0, help="Stop after this many packets (0: no limit).")
@click.option("--duration", type=click.FloatRange(min=0, min_open=True), help="Stop after this many seconds.")
@click.option("--chunk-packets", type=click.IntRange(min=1), default=10_000, show_default=True,
              help="Packets per capture file handed to the pipeline (bounds memory and delay).")
@ioc_option
@payload_options
@json_option
@click.pass_obj
def command(app: AppContext, iface: str, bpf: str | None, count: int, duration: float | None, chunk_packets: int,
            ioc_paths: tuple[Path, ...], yara_paths: tuple[Path, ...], payload_limit: int, no_payload_scan: bool,
            as_json: bool) -> None:
    """Capture live packets and run them through the same pipeline and store as pcap files.

    Ctrl-C (or SIGTERM) stops the capture; what was captured is still stored.

    Example: seccenter sniff --iface eth0 --filter 'port 53 or port 80' --duration 600
    """
    ruleset = load_ruleset((sigma_rules(),))
    iocs = load_iocs(ioc_paths)
    payload_scan = payload_scan_for(yara_paths, payload_limit, no_payload_scan, quiet=as_json)
    capture = LiveCapture(iface, bpf=bpf, count=count, duration=duration, chunk_packets=chunk_packets)
    previous = {number: signal.signal(number, lambda *_: capture.stop()) for number in (signal.SIGINT,
                                                                                        signal.SIGTERM)}
    try:
        summary = pipeline.sniff(app.db(), capture.chunks(), ruleset, iocs=iocs, payload_scan=payload_scan)
    except CaptureError as error:
        raise click.ClickException(str(error)) from None
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
    if as_json:
        click.echo(json.dumps({**summary.to_dict(), "packets": capture.packets}, indent=2, default=str))
    else:
        console = make_console()
        console.print(summary_table(summary))
        console.print(f"{capture.packets} packets captured, {summary.total('new_events')} events, "
                      f"{summary.total('alerts')} alerts", markup=False)
