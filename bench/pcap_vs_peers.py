#!/usr/bin/env python3
"""Benchmark: how fast does seccenter read a packet capture, compared with scapy and tshark?

What is measured, all in the same run on the same generated capture (``mixed.pcap`` from ``make_workloads.py
--only pcap``: classic pcap, Ethernet, in a fixed cycle of five packets: a DNS query, an HTTP request, a SYN of a
port scan, an ICMP echo request and a TLS ClientHello; scale 1 = 50k packets):

(a) seccenter  in-process: ``PcapCollector().parse(stream, path, Position())`` over the file, every Event and
               Malformed consumed and counted by kind (``event.logsource.service``). Includes reading the records,
               decoding the headers, the flow table, DNS/HTTP/TLS parsing with JA3/JA4, flow events. Best of
               ``--repeat``. Packet i of the file is of kind i % 5 and each DNS query, HTTP request, ICMP echo and
               ClientHello makes exactly one event, so the script knows how many dns, http, icmp and tls events
               the run must yield (10,000 each at scale 1) and fails when they differ.
(b) scapy      in-process full dissection: ``for pkt in scapy.utils.PcapReader(path)`` with scapy's default layers
               plus HTTP and TLS loaded, taking each packet's layer list and the same fields tshark prints (IP
               addresses, DNS query name, HTTP host, URI and user agent, TLS SNI). Best of ``--repeat``. It is
               slow: ``--scapy-packets N`` times only the first N packets and extrapolates packets/s (the
               capture is the same five-packet cycle throughout, so the first packets are a fair sample).
               scapy dissects TLS only when the ``cryptography`` package is installed; without it the TLS
               records stay ``Raw`` (less work for scapy), which the script says.
(c) tshark     ``tshark -r FILE -T fields -e frame.number -e ip.src -e ip.dst -e dns.qry.name -e http.host
               -e http.request.uri -e http.user_agent -e tls.handshake.extensions_server_name > /dev/null``:
               Wireshark's C dissectors printing the same DNS/HTTP/TLS fields. Best of ``--repeat``. Its
               start-up (registering every dissector) is part of each run; it is shown on its own row, timed on
               a capture with no packets. Skipped, with a message, when ``tshark`` is not installed.

The three take turns, one run each per round, so a slow spell of the machine hits them alike. The figures that
matter are the ratios of packets/s, ``seccenter / scapy`` (target: 20 or more) and ``seccenter / tshark`` (target:
1 or more); absolute seconds depend on the machine.

With ``--rss-scale S`` the script also generates a capture at scale S and reads it with the collector in a child
process (``python -c``, every record consumed and counted, no events kept) and reports the child's peak RSS
(target: under 200 MB), as the child reads it from its own ``VmHWM`` in ``/proc/self/status`` at the end. A second
child that only imports the collector shows the interpreter + import share of it. Not ``getrusage`` (neither
``RUSAGE_CHILDREN`` nor ``os.wait4``): Linux gives a child the high-water mark of the memory it ran in before
``exec``, which after fork/vfork is this script's (scapy loaded, a capture read), so those figures never go below
this script's own RSS; they are only the fallback where ``/proc`` is missing, and the output says so.

Why the peers are fair: scapy is what a Python tool reaches for to read packets, and its dissection is what
seccenter itself uses for DHCP only; the comparison leans towards scapy when it cannot dissect TLS. tshark is the
reference decoder and is asked only for the fields seccenter also extracts, but it pays for process start-up and
writing text, while seccenter additionally builds flows and fingerprints; seccenter runs warm in-process.

Nothing is written into the repository: the captures go to ``--out`` (default: a temporary directory, deleted
afterwards unless ``--keep``).

Example: python bench/pcap_vs_peers.py --scale 0.2
"""

from __future__ import annotations

import argparse
import gc
import itertools
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchkit import DEFAULT_WORKLOADS, GENERATOR, BenchError, check_run_args, generate, run_in_workdir

PCAP = "mixed.pcap"
PACKETS_AT_SCALE_1 = 50_000
CYCLE = ("dns", "http", "scan", "icmp", "tls")
"""The generator's packet i is of kind CYCLE[i % 5]; each dns/http/icmp/tls packet makes exactly one event."""
CHECKED_KINDS = ("dns", "http", "tls", "icmp")
TSHARK_FIELDS = ("frame.number", "ip.src", "ip.dst", "dns.qry.name", "http.host", "http.request.uri",
                 "http.user_agent", "tls.handshake.extensions_server_name")
TARGET_SCAPY = 20.0
TARGET_TSHARK = 1.0
TARGET_RSS_MB = 200.0

PEAK_RSS = """
def peak_kib():
    # VmHWM: the high-water mark of this program's own memory since exec (Linux only).
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None
"""
RSS_CHILD = PEAK_RSS + """
import json, sys, time
from collections import Counter
from seccenter.collect.interface import Position
from seccenter.collect.pcap import PcapCollector
from seccenter.events import Malformed
kinds, malformed = Counter(), 0
collector = PcapCollector()
start = time.perf_counter()
with open(sys.argv[1], "rb") as stream:
    for record in collector.parse(stream, sys.argv[1], Position()):
        if record.__class__ is Malformed:
            malformed += 1
        else:
            kinds[record.logsource.service] += 1
seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "packets": collector.stats.get("packets"), "events": dict(kinds),
                  "malformed": malformed, "peak_kib": peak_kib()}))
"""
IMPORT_CHILD = PEAK_RSS + """
import json
from seccenter.collect.pcap import PcapCollector
print(json.dumps({"peak_kib": peak_kib()}))
"""


@dataclass
class Timing:
    """One measured contender: best seconds over its runs, and the packets those seconds stand for."""

    name: str
    seconds: float
    packets: int
    runs: int = 1
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def packets_per_second(self) -> float:
        return self.packets / self.seconds if self.seconds > 0 else float("nan")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Time seccenter's pcap collector against scapy's full dissection and tshark on the same "
                    "capture.",
        epilog="Figures are ratios measured in the same run; absolute seconds depend on the machine.",
    )
    parser.add_argument("--scale", type=float, default=1.0,
                        help="workload scale for make_workloads.py (1.0 = 50k packets)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per contender; the best counts (default 3)")
    parser.add_argument("--scapy-packets", type=int, metavar="N",
                        help="time scapy on the first N packets only and extrapolate (default: all packets)")
    parser.add_argument("--rss-scale", type=float, metavar="S",
                        help="also read a capture of this scale in a child process and report its peak RSS")
    parser.add_argument("--tshark", metavar="CMD", default=shutil.which("tshark"),
                        help="tshark executable (default: the one on PATH)")
    parser.add_argument("--no-tshark", action="store_true", help="skip the tshark column")
    parser.add_argument("--no-scapy", action="store_true", help="skip the scapy column")
    parser.add_argument("--workloads", type=Path, default=DEFAULT_WORKLOADS, metavar="DIR",
                        help=f"folder holding {GENERATOR} (default: <repo>/../shared/bench)")
    parser.add_argument("--out", type=Path, metavar="DIR",
                        help="where to write the captures (default: a temporary directory)")
    parser.add_argument("--keep", action="store_true", help="keep the output directory afterwards")
    args = parser.parse_args(argv)
    check_run_args(parser, args)
    if args.scapy_packets is not None and args.scapy_packets < 1:
        parser.error("--scapy-packets must be at least 1")
    if args.rss_scale is not None and args.rss_scale <= 0:
        parser.error("--rss-scale must be positive")
    return args


def generate_pcap(workloads: Path, out: Path, scale: float) -> Path:
    generate(workloads, out, scale, "pcap", (PCAP,))
    return out / PCAP


def count_packets(path: Path) -> int:
    """Records in a classic little- or big-endian pcap, read from the framing alone (the common denominator)."""
    with path.open("rb") as handle:
        header = handle.read(24)
        if len(header) < 24 or header[:4] not in (b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4",
                                                   b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d"):
            raise BenchError(f"{path.name} is not a classic pcap file")
        record = struct.Struct("<IIII" if header[0] in (0xD4, 0x4D) else ">IIII")
        packets = 0
        while True:
            head = handle.read(16)
            if len(head) < 16:
                return packets
            handle.seek(record.unpack(head)[2], os.SEEK_CUR)
            packets += 1


def expected_events(packets: int) -> dict[str, int]:
    """Events of each checked kind the generator's packets must produce (one per DNS query, request, hello, echo)."""
    return {kind: len(range(CYCLE.index(kind), packets, len(CYCLE))) for kind in CHECKED_KINDS}


def count_mismatches(found: dict[str, int], expected: dict[str, int]) -> dict[str, tuple[int, int]]:
    return {kind: (found.get(kind, 0), want) for kind, want in expected.items() if found.get(kind, 0) != want}


# --- (a) seccenter in-process -----------------------------------------------------------------------------------


def run_seccenter(path: Path, packets: int) -> Timing:
    from seccenter.collect.interface import Position
    from seccenter.collect.pcap import PcapCollector
    from seccenter.events import Malformed

    kinds: Counter[str] = Counter()
    malformed = 0
    collector = PcapCollector()
    start = time.perf_counter()
    with path.open("rb") as stream:
        for record in collector.parse(stream, str(path), Position()):
            if record.__class__ is Malformed:
                malformed += 1
            else:
                kinds[record.logsource.service] += 1  # type: ignore[union-attr]
    seconds = time.perf_counter() - start
    return Timing("seccenter", seconds, packets, extra={
        "events": dict(sorted(kinds.items())), "malformed": malformed,
        "packets_seen": collector.stats.get("packets"),
    })


# --- (b) scapy full dissection ----------------------------------------------------------------------------------


def load_scapy() -> tuple[dict[str, Any] | None, str | None]:
    """scapy's default layers (DNS among them) plus HTTP and, when it can, TLS. Returns (classes, why not)."""
    try:
        import scapy.all  # noqa: F401  (registers the default layers: without it UDP/53 stays Raw)
        from scapy.layers.dns import DNS
        from scapy.layers.http import HTTPRequest
        from scapy.layers.inet import IP
        from scapy.utils import PcapReader
    except ImportError as error:
        return None, f"scapy is not installed ({error})"
    classes: dict[str, Any] = {"reader": PcapReader, "IP": IP, "DNS": DNS, "HTTPRequest": HTTPRequest,
                               "ClientHello": None, "ServerName": None}
    try:
        import cryptography  # noqa: F401  (scapy's TLS layer builds a session with it for every record)
        from scapy.layers.tls.extensions import TLS_Ext_ServerName
        from scapy.layers.tls.handshake import TLSClientHello
        from scapy.layers.tls.record import TLS  # noqa: F401  (binds TCP/443 to TLS)
    except ImportError:
        return classes, None
    classes["ClientHello"], classes["ServerName"] = TLSClientHello, TLS_Ext_ServerName
    return classes, None


def run_scapy(classes: dict[str, Any], path: Path, limit: int) -> Timing:
    ip_layer, dns_layer, http_layer = classes["IP"], classes["DNS"], classes["HTTPRequest"]
    hello_layer, sni_layer = classes["ClientHello"], classes["ServerName"]
    found: Counter[str] = Counter()
    packets = 0
    start = time.perf_counter()
    reader = classes["reader"](str(path))
    try:
        for packet in itertools.islice(reader, limit):
            packets += 1
            layers = packet.layers()  # the dissection itself happened when the reader built the packet
            if ip_layer in layers:
                ip = packet[ip_layer]
                _addresses = (ip.src, ip.dst)
            if dns_layer in layers:
                question = packet[dns_layer].qd
                _name = question[0].qname if question else None
                found["dns"] += 1
            elif http_layer in layers:
                request = packet[http_layer]
                _request = (request.Host, request.Path, request.User_Agent)
                found["http"] += 1
            elif hello_layer is not None and hello_layer in layers:
                _sni = [name.servername for name in packet[sni_layer].servernames] if sni_layer in packet else None
                found["tls"] += 1
    finally:
        reader.close()
    seconds = time.perf_counter() - start
    return Timing("scapy", seconds, packets, extra={"dissected": dict(sorted(found.items()))})


# --- (c) tshark -------------------------------------------------------------------------------------------------


def tshark_version(tshark: str) -> str | None:
    try:
        result = subprocess.run([tshark, "--version"], capture_output=True, text=True, check=False, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    first = result.stdout.strip().splitlines()[:1]
    return first[0] if result.returncode == 0 and first else None


def run_tshark(tshark: str, path: Path, packets: int) -> Timing:
    command = [tshark, "-r", str(path), "-T", "fields"]
    for name in TSHARK_FIELDS:
        command += ["-e", name]
    with open(os.devnull, "wb") as devnull:
        start = time.perf_counter()
        result = subprocess.run(command, stdin=subprocess.DEVNULL, stdout=devnull, stderr=subprocess.PIPE,
                                check=False)
        seconds = time.perf_counter() - start
    if result.returncode != 0:
        raise BenchError(f"tshark failed on {path.name} (exit {result.returncode}):\n"
                         f"{result.stderr.decode(errors='replace').strip()}")
    return Timing("tshark", seconds, packets)


def write_empty_pcap(path: Path) -> Path:
    path.write_bytes(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
    return path


# --- taking turns -----------------------------------------------------------------------------------------------


def best_of_turns(contenders: dict[str, Callable[[], Timing]], repeat: int) -> dict[str, Timing]:
    """Run every contender once per round, ``repeat`` rounds; keep each one's fastest run."""
    best: dict[str, Timing] = {}
    for round_no in range(1, repeat + 1):
        for name, run in contenders.items():
            print(f"  round {round_no}/{repeat}: {name} ...", file=sys.stderr)
            gc.collect()
            timing = run()
            if name not in best or timing.seconds < best[name].seconds:
                best[name] = timing
    for timing in best.values():
        timing.runs = repeat
    return best


# --- peak RSS of a child ----------------------------------------------------------------------------------------


def max_rss_mb(rusage: Any) -> float:
    """ru_maxrss is in KiB on Linux and in bytes on macOS."""
    return rusage.ru_maxrss / (1024 * 1024 if sys.platform == "darwin" else 1024)


def run_child(code: str, *args: str) -> tuple[dict[str, Any], float, float]:
    """Run ``python -c code args``, which prints one JSON object last; returns it, wall seconds, rusage peak MB.

    The rusage figure (``os.wait4``) is only a fallback: Linux hands the child the high-water mark of the memory
    it ran in before ``exec``, which with vfork/fork is this script's own, so it is never below this script's RSS.
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-c", code, *args], stdin=subprocess.DEVNULL, stdout=out,
                                stderr=err)
        _, status, rusage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)  # already reaped: tell Popen not to wait again
        out.seek(0)
        err.seek(0)
        printed, errors = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    if proc.returncode != 0:
        raise BenchError(f"a seccenter child process failed (exit {proc.returncode}):\n{errors.strip()}")
    try:
        result = json.loads(printed.strip().splitlines()[-1])
    except (ValueError, IndexError) as error:
        raise BenchError(f"a seccenter child printed no usable JSON ({error}):\n{printed[:2000]}") from None
    return result, seconds, max_rss_mb(rusage)


def child_peak_mb(result: dict[str, Any], rusage_mb: float) -> tuple[float, str]:
    if result.get("peak_kib") is not None:
        return result["peak_kib"] / 1024, "VmHWM"
    return rusage_mb, "rusage (an upper bound: includes this script's RSS at launch)"


def measure_rss(workloads: Path, out: Path, scale: float) -> dict[str, Any]:
    print(f"generating {PCAP} at scale {scale} for the RSS run ...", file=sys.stderr)
    path = generate_pcap(workloads, out / f"rss-scale-{scale:g}", scale)
    packets = count_packets(path)
    imported, _, import_rusage = run_child(IMPORT_CHILD)
    import_rss, _ = child_peak_mb(imported, import_rusage)
    print(f"seccenter child process on {packets:,} packets ...", file=sys.stderr)
    result, wall, rusage_mb = run_child(RSS_CHILD, str(path))
    peak_rss, source = child_peak_mb(result, rusage_mb)
    expected = expected_events(packets)
    return {
        "scale": scale, "packets": packets, "bytes": path.stat().st_size, "peak_rss_mb": round(peak_rss, 1),
        "import_rss_mb": round(import_rss, 1), "rss_source": source, "seconds": round(result["seconds"], 3),
        "wall_seconds": round(wall, 3),
        "packets_per_s": round(packets / result["seconds"]) if result["seconds"] > 0 else None,
        "events": dict(sorted(result["events"].items())), "malformed": result["malformed"],
        "expected": expected, "mismatches": count_mismatches(result["events"], expected),
    }


# --- report -----------------------------------------------------------------------------------------------------


def fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def speedup(ours: Timing, peer: Timing | None) -> float | None:
    """How many times seccenter's packets/s is the peer's (above 1: seccenter is faster)."""
    if peer is None or peer.seconds <= 0 or ours.seconds <= 0 or peer.packets == 0:
        return None
    return ours.packets_per_second / peer.packets_per_second


def verdict(value: float | None, target: float, above: bool = True) -> str:
    if value is None:
        return "not measured"
    return "target met" if (value >= target if above else value < target) else "TARGET MISSED"


def print_report(args: argparse.Namespace, packets: int, ours: Timing, scapy: Timing | None,
                 tshark: Timing | None, startup: Timing | None, notes: dict[str, str],
                 rss: dict[str, Any] | None) -> dict[str, Any]:
    scapy_ratio, tshark_ratio = speedup(ours, scapy), speedup(ours, tshark)
    print(f"{'contender':<40} {'packets':>9} {'seconds':>9} {'packets/s':>11} {'seccenter x':>12}")
    rows: list[tuple[str, Timing | None, str | None]] = [
        (f"seccenter PcapCollector (best of {ours.runs})", ours, None),
        (f"scapy full dissection (best of {scapy.runs if scapy else args.repeat})", scapy, notes.get("scapy")),
        (f"tshark -T fields (best of {tshark.runs if tshark else args.repeat})", tshark, notes.get("tshark")),
    ]
    for label, timing, note in rows:
        if timing is None:
            print(f"{label:<40} {'skipped':>9}   {note or ''}")
            continue
        marker = "*" if timing.extra.get("extrapolated") else " "
        print(f"{label:<40} {timing.packets:>8,}{marker} {timing.seconds:>9.3f} {timing.packets_per_second:>11,.0f} "
              f"{fmt(speedup(ours, timing), '.2f'):>12}")
    if startup is not None:
        print(f"{'tshark start-up (capture of 0 packets)':<40} {'':>9} {startup.seconds:>9.3f}   "
              "(included in the tshark row)")
    if scapy is not None and scapy.extra.get("extrapolated"):
        print(f"* scapy EXTRAPOLATED: timed on the first {scapy.packets:,} of {packets:,} packets "
              f"(--scapy-packets); packets/s is from those, about {packets / scapy.packets_per_second:.1f} s "
              "for the whole file")
    print()
    print(f"ratio seccenter / scapy:  {fmt(scapy_ratio, '.2f')} x  (target >= {TARGET_SCAPY:g}: "
          f"{verdict(scapy_ratio, TARGET_SCAPY)})")
    print(f"ratio seccenter / tshark: {fmt(tshark_ratio, '.2f')} x  (target >= {TARGET_TSHARK:g}: "
          f"{verdict(tshark_ratio, TARGET_TSHARK)})")
    print()
    events = ours.extra["events"]
    expected = expected_events(packets)
    mismatches = count_mismatches(events, expected)
    print(f"seccenter events by kind: {', '.join(f'{kind} {count:,}' for kind, count in events.items()) or 'none'}"
          f"; malformed {ours.extra['malformed']:,}")
    print(f"expected from {packets:,} packets: {', '.join(f'{kind} {count:,}' for kind, count in expected.items())}"
          f" -> {'counts OK' if not mismatches else 'MISMATCH'}")
    for kind, (found, want) in mismatches.items():
        print(f"  MISMATCH: {kind} events {found:,}, expected {want:,}")
    if ours.extra["packets_seen"] is not None and ours.extra["packets_seen"] != packets:
        print(f"warning: the collector counted {ours.extra['packets_seen']:,} packets, the file holds {packets:,}")
    if scapy is not None:
        dissected = scapy.extra["dissected"]
        print(f"scapy dissected: {', '.join(f'{kind} {count:,}' for kind, count in dissected.items()) or 'none'} "
              f"(of {scapy.packets:,} packets)")
        if "tls" in notes:
            print(f"note: {notes['tls']}")
    if rss is not None:
        print()
        print(f"RSS: seccenter child on a scale-{rss['scale']:g} capture ({rss['packets']:,} packets, "
              f"{rss['bytes'] / 1e6:.0f} MB): peak RSS {rss['peak_rss_mb']:.1f} MB (target < {TARGET_RSS_MB:g} MB: "
              f"{verdict(rss['peak_rss_mb'], TARGET_RSS_MB, above=False)}); interpreter + imports alone "
              f"{rss['import_rss_mb']:.1f} MB; from {rss['rss_source']}")
        print(f"  parse {rss['seconds']:.2f} s, {rss['packets_per_s']:,} packets/s")
        print(f"  events: {', '.join(f'{kind} {count:,}' for kind, count in rss['events'].items())}; malformed "
              f"{rss['malformed']:,} -> {'counts OK' if not rss['mismatches'] else 'MISMATCH'}")
        for kind, (found, want) in rss["mismatches"].items():
            print(f"  MISMATCH: {kind} events {found:,}, expected {want:,}")

    def figures(timing: Timing | None) -> dict[str, Any] | None:
        if timing is None:
            return None
        return {"seconds": round(timing.seconds, 3), "packets": timing.packets,
                "packets_per_s": round(timing.packets_per_second), "runs": timing.runs, **timing.extra}

    return {
        "benchmark": "pcap_vs_peers", "scale": args.scale, "packets": packets, "seccenter": figures(ours),
        "expected_events": expected, "counts_ok": not mismatches, "scapy": figures(scapy),
        "tshark": figures(tshark), "tshark_startup_seconds": None if startup is None else round(startup.seconds, 3),
        "ratio_seccenter_scapy": None if scapy_ratio is None else round(scapy_ratio, 2),
        "ratio_seccenter_tshark": None if tshark_ratio is None else round(tshark_ratio, 2),
        "rss": None if rss is None else {key: value for key, value in rss.items() if key != "expected"},
        "targets": {"seccenter_scapy": TARGET_SCAPY, "seccenter_tshark": TARGET_TSHARK, "rss_mb": TARGET_RSS_MB},
        "notes": notes, "python": sys.version.split()[0],
    }


def run(args: argparse.Namespace, out: Path) -> int:
    where = str(out) if args.out is not None or args.keep else "a temporary directory"
    print(f"generating {PCAP} at scale {args.scale} in {where} ...", file=sys.stderr)
    path = generate_pcap(args.workloads, out, args.scale)
    packets = count_packets(path)
    notes: dict[str, str] = {}
    contenders: dict[str, Callable[[], Timing]] = {"seccenter": lambda: run_seccenter(path, packets)}

    if args.no_scapy:
        notes["scapy"] = "--no-scapy"
    else:
        classes, why_not = load_scapy()
        if classes is None:
            notes["scapy"] = why_not or "scapy cannot be imported"
            print(f"scapy: {notes['scapy']}; skipping the scapy column", file=sys.stderr)
        else:
            if classes["ClientHello"] is None:
                notes["tls"] = ("scapy dissects TLS only with the 'cryptography' package, which is not installed: "
                                "its TLS records stayed Raw (less work for scapy than for the others)")
            limit = min(args.scapy_packets or packets, packets)

            def scapy_run() -> Timing:
                timing = run_scapy(classes, path, limit)
                timing.extra["extrapolated"] = timing.packets < packets
                return timing

            contenders["scapy"] = scapy_run

    tshark_version_text = None
    if args.no_tshark:
        notes["tshark"] = "--no-tshark"
    elif args.tshark is None:
        notes["tshark"] = "tshark is not on PATH (install Wireshark's tshark, or pass --tshark CMD)"
        print(f"tshark: {notes['tshark']}; skipping the tshark column", file=sys.stderr)
    else:
        tshark_version_text = tshark_version(args.tshark)
        if tshark_version_text is None:
            notes["tshark"] = f"{args.tshark} --version failed; is it tshark?"
            print(f"tshark: {notes['tshark']}; skipping the tshark column", file=sys.stderr)
        else:
            empty = write_empty_pcap(out / "empty.pcap")
            contenders["tshark"] = lambda: run_tshark(args.tshark, path, packets)
            contenders["tshark start-up"] = lambda: run_tshark(args.tshark, empty, 0)

    print(f"{len(contenders)} contenders on {packets:,} packets, {args.repeat} rounds ...", file=sys.stderr)
    best = best_of_turns(contenders, args.repeat)
    rss = measure_rss(args.workloads, out, args.rss_scale) if args.rss_scale is not None else None
    document = print_report(args, packets, best["seccenter"], best.get("scapy"), best.get("tshark"),
                            best.get("tshark start-up"), notes, rss)
    if tshark_version_text:
        document["tshark_version"] = tshark_version_text
    print(json.dumps(document))
    failed = not document["counts_ok"] or (rss is not None and rss["mismatches"])
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    return run_in_workdir(parse_args(argv), run)


if __name__ == "__main__":
    sys.exit(main())
