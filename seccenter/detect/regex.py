"""Regular expressions from rules, run so that no rule can hang the engine.

Python's ``re`` backtracks: nested unbounded repetition (``(a+)+``, ``(x|xy)*``) takes exponential time on a
crafted field value, and so does a bounded repetition of a large choice (``(a|a){0,100}``); even a single
unbounded repetition makes a search quadratic (``a*b`` tries every start against every end), and each further
one in sequence adds a power (``cmd.*/c.*powershell`` takes minutes on a 20 kB field). Fields may be up to
1 MiB long. So a pattern runs on ``re`` (fast to call, Python's semantics) only when it cannot backtrack past a
small constant at each start position: no unbounded repetition and at most ``PYTHON_PATHS`` ways to try a
match. Every other pattern runs on RE2 (linear time, shipped with pySigma as google-re2: ``\\w``, ``\\d``,
``\\s`` and ``\\b`` are ASCII there, ``(?i)`` folds case as Unicode's simple case folding (``ı`` is not ``i``)
and ``$`` matches only at the very end; a search is given the text's UTF-8 bytes, so lone surrogates from JSON
are data, not an encoding error); one RE2 cannot run either (look-around, back-references) is rejected with
the reason.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from typing import Any, Protocol

try:  # re2 is a dependency of pySigma; stay importable should that ever change
    import re2
except ImportError:  # pragma: no cover - exercised only without google-re2
    re2 = None

try:
    from re import _parser as sre_parse  # Python 3.11+
except ImportError:  # pragma: no cover
    import sre_parse  # type: ignore[no-redef]

Search = Callable[[str], bool]

PYTHON_PATHS = 64
"""Most ways a pattern run on ``re`` may try to match at one position (``\\d{1,3}\\.\\d{1,3}`` has 9)."""
PATHS_CAP = 1 << 32
WIDE_REPEAT = 100
"""A repetition allowing more than this many iterations counts as unbounded."""

_REPEATS = {sre_parse.MAX_REPEAT, sre_parse.MIN_REPEAT, getattr(sre_parse, "POSSESSIVE_REPEAT", None)}
_ATOMIC = getattr(sre_parse, "ATOMIC_GROUP", None)


class UnsafeRegex(ValueError):
    """A pattern that could backtrack catastrophically and has no linear-time equivalent."""


class FullMatcher(Protocol):
    def fullmatch(self, text: str) -> Any: ...


class _Cost:
    """How a backtracking engine could fare on a pattern at one start position: ``paths`` (ways to try, up to
    the unbounded repetitions) and ``unbounded`` (most unbounded repetitions on one way; ``inf`` when nested)."""

    __slots__ = ("paths", "unbounded")

    def __init__(self, paths: float = 1, unbounded: float = 0) -> None:
        self.paths, self.unbounded = paths, unbounded


def _capped(paths: float) -> float:
    """Counts past ``PATHS_CAP`` only need to be known as too many (and must not overflow a float)."""
    return paths if paths <= PATHS_CAP else math.inf


def _sequence_cost(items: Sequence[Any]) -> _Cost:
    cost = _Cost()
    for op, argument in items:
        part = _item_cost(op, argument)
        cost.paths = _capped(cost.paths * part.paths)
        cost.unbounded += part.unbounded
    return cost


def _item_cost(op: Any, argument: Any) -> _Cost:
    if op in _REPEATS:
        low, high, body = argument
        inner = _sequence_cost(body)
        if high == sre_parse.MAXREPEAT or high > WIDE_REPEAT:
            if inner.unbounded or inner.paths > 1:  # (a+)+, (x|xy)*: exponential
                return _Cost(math.inf, math.inf)
            return _Cost(1, 1)
        paths = sum(inner.paths ** count for count in range(low, high + 1)) if inner.paths > 1 else high - low + 1
        return _Cost(_capped(paths), inner.unbounded * high if high else 0)
    if op is sre_parse.BRANCH:
        branches = [_sequence_cost(branch) for branch in argument[1]]
        return _Cost(_capped(sum(branch.paths for branch in branches)), max(branch.unbounded for branch in branches))
    if op in (sre_parse.SUBPATTERN, sre_parse.ASSERT, sre_parse.ASSERT_NOT):
        return _sequence_cost(argument[-1])  # a look-around tries its body at the position too
    if op is not None and op is _ATOMIC:
        return _sequence_cost(argument)
    if op is sre_parse.GROUPREF_EXISTS:
        _group, yes, no = argument
        branches = [_sequence_cost(yes), _sequence_cost(no) if no is not None else _Cost()]
        return _Cost(_capped(branches[0].paths + branches[1].paths), max(branch.unbounded for branch in branches))
    return _Cost()


def _cost(pattern: str, flags: int) -> _Cost:
    return _sequence_cost(sre_parse.parse(pattern, flags))


def backtracks_past_linear(pattern: str, flags: int = 0, anchored: bool = False) -> bool:
    """True when a backtracking engine could take more than linear time on some text: a search (or, with
    ``anchored``, a full match) trying more than ``PYTHON_PATHS`` ways at one position, or any unbounded
    repetition (a full match tolerates one on each way)."""
    cost = _cost(pattern, flags)
    return cost.paths > PYTHON_PATHS or cost.unbounded > (1 if anchored else 0)


def _linear(pattern: str, flags: int) -> Any:
    """The RE2 form of ``pattern``; raises ``UnsafeRegex`` with the reason when RE2 cannot run it."""
    inline = "".join(letter for flag, letter in ((re.IGNORECASE, "i"), (re.MULTILINE, "m"), (re.DOTALL, "s"))
                     if flags & flag)
    if re2 is not None:
        options = re2.Options()
        options.log_errors = False  # a refused pattern is reported by the caller, not by RE2 on stderr
        try:
            return re2.compile(f"(?{inline}){pattern}" if inline else pattern, options)
        except re2.error:
            pass
    if math.isinf(_cost(pattern, flags).unbounded):
        raise UnsafeRegex(f"regular expression '{pattern}' nests unbounded repetition (it could take exponential "
                          "time) and needs features the linear-time engine lacks (look-around, back-references)")
    raise UnsafeRegex(f"regular expression '{pattern}' repeats without bound or tries too many ways (a search "
                      "could take quadratic time or worse on a long field) and needs features the linear-time "
                      "engine lacks (look-around, back-references)")


def compile_search(pattern: str, flags: int = 0) -> Search:
    """A ``search`` test for ``pattern``; raises ``re.error`` for invalid and ``UnsafeRegex`` for unsafe ones."""
    compiled = re.compile(pattern, flags)
    if not backtracks_past_linear(pattern, flags):
        search = compiled.search
        return lambda text: search(text) is not None
    linear_search = _linear(pattern, flags).search
    return lambda text: linear_search(text.encode("utf-8", "surrogatepass")) is not None


def compile_fullmatch(pattern: str, flags: int = 0) -> FullMatcher:
    """What ``re.compile(pattern, flags)`` would be for ``fullmatch`` (``.fullmatch(text)`` is a match or None),
    on RE2 when the backtracking engine could take more than linear time (``*a*b*`` wildcards)."""
    compiled = re.compile(pattern, flags)
    if not backtracks_past_linear(pattern, flags, anchored=True):
        return compiled
    return _LinearFullMatch(_linear(pattern, flags).fullmatch)


class _LinearFullMatch:
    """RE2's ``fullmatch`` on the text's UTF-8 bytes (lone surrogates from JSON kept, not an encoding error)."""

    __slots__ = ("_fullmatch",)

    def __init__(self, fullmatch: Callable[[bytes], Any]) -> None:
        self._fullmatch = fullmatch

    def fullmatch(self, text: str) -> Any:
        return self._fullmatch(text.encode("utf-8", "surrogatepass"))
