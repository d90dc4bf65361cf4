"""Live capture: packets from an interface written to short pcap files, which then take the same path as any
capture file (collect/pcap.py → detect → store). Files of at most ``chunk_packets`` packets keep memory and
disk bounded however long the capture runs, and each is stored as soon as it is complete."""

from __future__ import annotations

import contextlib
import queue
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any


class CaptureError(Exception):
    """The interface cannot be captured on (missing, no privilege, bad filter)."""


class LiveCapture:
    def __init__(self, iface: str, bpf: str | None = None, count: int = 0, duration: float | None = None,
                 chunk_packets: int = 10_000) -> None:
        self.iface, self.bpf, self.count, self.duration = iface, bpf, count, duration
        self.chunk_packets = chunk_packets
        self.packets = 0
        self._folder = tempfile.TemporaryDirectory(prefix="seccenter-sniff-")
        self._done: queue.Queue[Path] = queue.Queue()
        self._lock = threading.Lock()
        self._writer: Any = None
        self._path: Path | None = None
        self._in_file = 0
        self._sniffer: Any = None

    def _write(self, packet: Any) -> None:
        from scapy.utils import PcapWriter

        with self._lock:
            if self._writer is None:
                self._path = Path(self._folder.name) / f"live-{self.packets:012d}.pcap"
                self._writer = PcapWriter(str(self._path), sync=False)
            self._writer.write(packet)
            self.packets += 1
            self._in_file += 1
            if self._in_file >= self.chunk_packets:
                self._close_file()

    def _close_file(self) -> None:
        if self._writer is not None and self._path is not None:
            self._writer.close()
            self._done.put(self._path)
        self._writer, self._path, self._in_file = None, None, 0

    def chunks(self) -> Iterator[Path]:
        """Capture until ``count`` packets, ``duration`` seconds or ``stop()``; yields each finished file, the
        last one (however few packets it holds) once capturing has ended. A file is deleted when the next
        one is asked for, so the caller stores it first."""
        from scapy.sendrecv import AsyncSniffer

        self._sniffer = AsyncSniffer(iface=self.iface, filter=self.bpf, count=self.count, prn=self._write,
                                     store=False)
        try:
            self._sniffer.start()
        except (OSError, ValueError, RuntimeError) as error:
            raise CaptureError(f"cannot capture on {self.iface}: {error}") from None
        deadline = time.monotonic() + self.duration if self.duration else None
        try:
            while True:
                try:
                    path = self._done.get(timeout=0.2)
                except queue.Empty:
                    if deadline is not None and time.monotonic() >= deadline:
                        self.stop()
                    if self._capturing():
                        continue
                    with self._lock:
                        self._close_file()
                    if self._done.empty():
                        self._raise_sniffer_error()
                        return
                    continue
                yield path
                path.unlink(missing_ok=True)
        finally:
            self.stop()
            self._folder.cleanup()

    def _raise_sniffer_error(self) -> None:
        """scapy's sniffer thread keeps what ended it (no such interface, no privilege) instead of raising it."""
        error = getattr(self._sniffer, "exception", None)
        if error is not None:
            raise CaptureError(f"cannot capture on {self.iface}: {error}")

    def _capturing(self) -> bool:
        thread = self._sniffer.thread if self._sniffer is not None else None
        return thread is not None and thread.is_alive()

    def stop(self) -> None:
        if self._sniffer is not None and self._sniffer.running:
            # scapy raises assorted errors when asked to stop a sniffer that has just finished by itself
            with contextlib.suppress(Exception):
                self._sniffer.stop()
