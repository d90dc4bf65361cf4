"""Regular expressions from rules, run so that no rule can hang the engine.

Python's ``re`` backtracks: a pattern with nested unbounded repetition (``(a+)+``, ``(x|xy)*``) takes
exponential time on a crafted field value. Patterns without such nesting run on ``re`` (fast to call);
the others run on RE2 (linear time, shipped with pySigma as google-re2); a nested pattern that RE2 cannot
run either (look-around, back-references) is rejected with the reason.
"""

from __future__ import annotations

import re
from collections.abc import Callable

try:  # re2 is a dependency of pySigma; stay importable should that ever change
    import re2
except ImportError:  # pragma: no cover - exercised only without google-re2
    re2 = None

try:
    from re import _parser as sre_parse  # Python 3.11+
except ImportError:  # pragma: no cover
    import sre_parse  # type: ignore[no-redef]

Search = Callable[[str], bool]

_REPEATS = {sre_parse.MAX_REPEAT, sre_parse.MIN_REPEAT, getattr(sre_parse, "POSSESSIVE_REPEAT", None)}
_UNBOUNDED = sre_parse.MAXREPEAT


class UnsafeRegex(ValueError):
    """A pattern that could backtrack catastrophically and has no linear-time equivalent."""


def _repeats_inside(items: sre_parse.SubPattern | list, inside_unbounded: bool) -> bool:
    """True when an unbounded repetition (or alternation) sits inside another unbounded repetition."""
    for op, argument in items:
        if op in _REPEATS:
            low, high, body = argument
            unbounded = high == _UNBOUNDED or high > 100
            if inside_unbounded and unbounded:
                return True
            if _repeats_inside(body, inside_unbounded or unbounded):
                return True
        elif op is sre_parse.BRANCH:
            if inside_unbounded and len(argument[1]) > 1:
                return True
            if any(_repeats_inside(branch, inside_unbounded) for branch in argument[1]):
                return True
        elif op is sre_parse.SUBPATTERN:
            if _repeats_inside(argument[-1], inside_unbounded):
                return True
        elif op in (sre_parse.ASSERT, sre_parse.ASSERT_NOT) and _repeats_inside(argument[1], inside_unbounded):
            return True
    return False


def can_backtrack_badly(pattern: str, flags: int = 0) -> bool:
    return _repeats_inside(sre_parse.parse(pattern, flags), False)


def compile_search(pattern: str, flags: int = 0) -> Search:
    """A ``search`` test for ``pattern``; raises ``re.error`` for invalid and ``UnsafeRegex`` for unsafe ones."""
    compiled = re.compile(pattern, flags)
    if not can_backtrack_badly(pattern, flags):
        search = compiled.search
        return lambda text: search(text) is not None
    if re2 is not None:
        inline = "".join(letter for flag, letter in ((re.IGNORECASE, "i"), (re.MULTILINE, "m"), (re.DOTALL, "s"))
                         if flags & flag)
        try:
            linear = re2.compile(f"(?{inline}){pattern}" if inline else pattern)
        except re2.error:
            pass
        else:
            linear_search = linear.search
            return lambda text: linear_search(text) is not None
    raise UnsafeRegex(f"regular expression {pattern!r} nests unbounded repetition (it could take exponential "
                      "time) and needs features the linear-time engine lacks (look-around, back-references)")
