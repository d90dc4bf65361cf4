"""File name indicators searched in a path with one pass for the whole list instead of one search per regex.

signature-base's file name list has thousands of regexes; searching each in every path of a file server
costs milliseconds a file. RE2's ``Set`` finds every regex of a set that matches in one pass. It is used as
a prefilter only where RE2 and Python's ``re`` cannot disagree (Loki's semantics are ``re``'s):

- regexes that are ASCII and use no ``(?`` construct (inline flags, look-around, named groups), and
- paths that are printable ASCII: there ``\\w``, ``\\d``, ``\\s`` and ``\\b`` mean the same in both engines
  (Python's Unicode classes differ only on other characters, its ``\\s`` on control characters) and ``$``
  has no line break to stop before.

Every regex the set reports is confirmed with its own search; the other regexes, and any path that is not
plain, take one search per regex.
"""

from __future__ import annotations

from collections.abc import Sequence

from seccenter.detect.regex import Search

try:
    import re2
except ImportError:  # pragma: no cover - google-re2 comes with pySigma
    re2 = None

SET_MEMORY = 256 << 20
"""RE2's default budget (8 MiB) is too small for thousands of regexes in one set."""


def _set_compatible(pattern: str) -> bool:
    return pattern.isascii() and "(?" not in pattern


class PathMatcher:
    """Indices of the regexes (given as their text and a search function) that match a path."""

    def __init__(self, patterns: Sequence[tuple[str, Search]]) -> None:
        self.searches = [search for _pattern, search in patterns]
        self._set = None
        self._in_set: list[int] = []
        self._outside: list[int] = list(range(len(patterns)))
        if re2 is None or len(patterns) < 2:
            return
        options = re2.Options()
        options.max_mem = SET_MEMORY
        candidate = re2.Set.SearchSet(options)
        in_set, outside = [], []
        for index, (pattern, _search) in enumerate(patterns):
            if _set_compatible(pattern):
                try:
                    candidate.Add(pattern)
                except re2.error:
                    outside.append(index)
                else:
                    in_set.append(index)
            else:
                outside.append(index)
        try:
            candidate.Compile()
        except re2.error:
            return  # over the memory budget: one search per regex, as without RE2
        self._set, self._in_set, self._outside = candidate, in_set, outside

    def matches(self, path: str) -> list[int]:
        searches = self.searches
        if self._set is None or not (path.isascii() and path.isprintable()):
            return [index for index, search in enumerate(searches) if search(path)]
        found = [self._in_set[position] for position in self._set.Match(path) or ()]
        found = [index for index in found if searches[index](path)]
        found.extend(index for index in self._outside if searches[index](path))
        return sorted(found)
