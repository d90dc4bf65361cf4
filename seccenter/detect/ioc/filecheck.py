"""Hash and file name indicators as a check of ``yara scan``: run on the same read as the YARA rules."""

from __future__ import annotations

import hashlib
from pathlib import Path

from seccenter.detect.ioc.iocset import IocSet
from seccenter.detect.ioc.model import HASH, IocHit
from seccenter.detect.yarascan import FileDigest, Finding

_DIGEST_LENGTHS = {"sha256": 64, "sha1": 40, "md5": 32}
"""Strongest first: a file listed under several of its hashes is reported once, by the strongest."""


class IocFileCheck:
    """``FileCheck`` for the hash and file name indicators of an ``IocSet``. Its ``key`` digests every indicator
    that applies to files, so editing a list makes the next scan look at unchanged files again."""

    def __init__(self, iocs: IocSet) -> None:
        self.iocs = iocs
        # only the digests some list holds are computed: hashing a file share three times costs more than YARA
        lengths = {len(value) for value in (*iocs.hashes, *iocs.false_positive_hashes)}
        self.digest_names = tuple(name for name, length in _DIGEST_LENGTHS.items() if length in lengths)
        content = sorted(f"{HASH}\t{value}\t{indicator.score}" for value, indicator in iocs.hashes.items())
        content += sorted(f"fp\t{value}" for value in iocs.false_positive_hashes)
        content += [f"filename\t{entry.indicator.value}\t{entry.indicator.score}\t{entry.false_positive is not None}"
                    for entry in iocs.filenames]
        self.key = "ioc:" + hashlib.sha256("\n".join(content).encode("utf-8", "surrogatepass")).hexdigest()

    def __bool__(self) -> bool:
        return bool(self.iocs.hashes or self.iocs.filenames)

    def __call__(self, path: Path, digest: FileDigest) -> list[Finding]:
        digests = {name: getattr(digest, name) for name in self.digest_names}
        hits = self.iocs.match_file(str(path), digests)
        strongest = next((hit for name in self.digest_names for hit in hits if hit.field == name), None)
        return [finding(hit) for hit in hits if hit.indicator.kind != HASH or hit is strongest]


def finding(hit: IocHit) -> Finding:
    """An IOC hit as a finding stored and shown like a YARA match: rule id ``ioc:<kind>:<list>:<indicator>``."""
    indicator = hit.indicator
    rule = indicator.rule_id.split(":", 2)[2]
    meta = {"score": indicator.score, "title": indicator.title, "description": indicator.description,
            "list": indicator.where, "observed": hit.observed, "field": hit.field}
    return Finding(rule, indicator.kind, tuple(indicator.tags), meta, engine="ioc")
