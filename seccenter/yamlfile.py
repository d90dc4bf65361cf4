"""YAML for rules, playbooks, registers and config: safe, no duplicate keys, and errors that carry file:line."""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml


@dataclass(frozen=True)
class SourceLocation:
    path: str
    line: int | None = None

    def __str__(self) -> str:
        return f"{self.path}:{self.line}" if self.line is not None else self.path


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a file that was read, with where it is (config and playbook loaders collect these)."""

    location: SourceLocation
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.location.path, "line": self.location.line, "message": self.message}


class YamlFileError(ValueError):
    """A YAML document that cannot be read; ``location`` says where."""

    def __init__(self, reason: str, location: SourceLocation) -> None:
        super().__init__(reason)
        self.reason = reason
        self.location = location

    def __str__(self) -> str:
        return f"{self.location}: {self.reason}"


class LineDict(dict):
    """A mapping that remembers the 1-based line of each of its keys (``key_lines``) and of itself."""

    line: int | None = None
    key_lines: dict[Any, int]


class Documents(list):
    """The documents of a YAML stream; ``lines`` holds the 1-based line each one starts at (a document that is
    not a mapping has no ``line`` of its own)."""

    lines: list[int]


# Aliases let a few hundred bytes stand for billions of nodes ("billion laughs"): PyYAML shares the objects, but
# anything that walks the result (validation, JSON) would expand them. Refuse a document whose aliases add more
# than this many nodes to what is written out, and any alias inside its own anchor (a cycle).
MAX_ALIAS_EXPANSION = 100_000


def _check_aliases(root: yaml.Node) -> None:
    sizes: dict[int, int] = {}
    written: set[int] = set()
    in_progress: set[int] = set()

    def children(node: yaml.Node) -> list[yaml.Node]:
        if isinstance(node, yaml.SequenceNode):
            return list(node.value)
        if isinstance(node, yaml.MappingNode):
            return [part for pair in node.value for part in pair]
        return []

    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:  # iterative post-order: deep nesting must not hit Python's recursion limit
        node, expanded = stack.pop()
        key = id(node)
        if expanded:
            in_progress.discard(key)
            sizes[key] = 1 + sum(sizes[id(child)] for child in children(node))
            continue
        if key in sizes:
            continue
        if key in in_progress:
            raise yaml.composer.ComposerError(None, None, "an alias refers to the node that contains it",
                                              node.start_mark)
        in_progress.add(key)
        written.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in children(node) if id(child) not in sizes)
    if sizes[id(root)] - len(written) > MAX_ALIAS_EXPANSION:
        raise yaml.composer.ComposerError(
            None, None, f"aliases expand this document by more than {MAX_ALIAS_EXPANSION} nodes (an alias bomb?)",
            root.start_mark)


# PyYAML composes nested collections by recursion: ``[[[[…`` a few thousand deep would end in a RecursionError
# instead of an error with file:line. No rule, playbook, register or config comes near this depth.
MAX_DEPTH = 100


_NEWLINE = re.compile("\n")


class _Loader(yaml.SafeLoader):
    _depth = 0

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self._newlines = [match.start() for match in _NEWLINE.finditer(text)]
        self.document_line = 1

    def line_of(self, mark: yaml.Mark) -> int:
        """The 1-based line of ``mark`` counting line feeds: YAML also breaks lines at NEL, LS and PS, which would
        shift every line after them in an editor (a lone CR is a line feed already in a file read as text)."""
        return bisect.bisect_left(self._newlines, mark.index) + 1

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise yaml.composer.ComposerError(None, None, f"nested deeper than {MAX_DEPTH} levels",
                                                  self.peek_event().start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def compose_document(self) -> yaml.Node | None:
        node = super().compose_document()
        if node is not None:
            self.document_line = self.line_of(node.start_mark)
            _check_aliases(node)
        return node

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep=deep)
        except ValueError as error:  # PyYAML's own checks stop short: a date that is no day (2026-02-30), an int
            raise yaml.constructor.ConstructorError(  # longer than int() takes (4300 digits)
                None, None, f"cannot read this value: {error}", node.start_mark) from None

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> LineDict:
        self.flatten_mapping(node)
        mapping = LineDict()
        mapping.line = self.line_of(node.start_mark)
        mapping.key_lines = {}
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=deep)
            try:
                hash(key)
            except TypeError:
                raise yaml.constructor.ConstructorError(
                    None, None, "unhashable mapping key", key_node.start_mark) from None
            if key in mapping:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark)
            mapping[key] = self.construct_object(value_node, deep=deep)
            mapping.key_lines[key] = self.line_of(key_node.start_mark)
        return mapping


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _Loader.construct_mapping)


def load_documents(text: str, path: str) -> Documents:
    """Every document of a YAML stream, mappings as ``LineDict``; raises ``YamlFileError``."""
    documents = Documents()
    documents.lines = []
    try:
        loader = _Loader(text)  # (what yaml.load_all does, keeping each document's line)
        try:
            while loader.check_data():
                documents.append(loader.get_data())
                documents.lines.append(loader.document_line)
        finally:
            loader.dispose()
    except yaml.reader.ReaderError as error:  # a character YAML does not allow (most control characters)
        reason = f"unacceptable character #x{error.character:04x}: {error.reason}"
        raise YamlFileError(reason, SourceLocation(path, text.count("\n", 0, error.position) + 1)) from None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = text.count("\n", 0, mark.index) + 1 if mark is not None else None
        reason = " ".join(part for part in (error.context, error.problem) if part) or str(error)
        raise YamlFileError(reason, SourceLocation(path, line)) from None
    except ValueError as error:  # the scanner lets an escape through unchecked: "\U00110000" reaches chr()
        line = loader.line_of(loader.get_mark())
        raise YamlFileError(f"cannot read this value: {error}", SourceLocation(path, line)) from None
    except yaml.YAMLError as error:
        raise YamlFileError(str(error), SourceLocation(path)) from None
    return documents


def read_documents(path: Path) -> Documents:
    """Read and parse a YAML file; unreadable or undecodable files raise ``YamlFileError`` too."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise YamlFileError(f"not UTF-8 text ({error.reason} at byte {error.start})",
                            SourceLocation(str(path))) from None
    except OSError as error:
        raise YamlFileError(error.strerror or str(error), SourceLocation(str(path))) from None
    return load_documents(text, str(path))


def find_line(document: Any, *keys: Any) -> int | None:
    """Line of the deepest of ``keys`` (a path into nested mappings) that exists in ``document``."""
    line = document.line if isinstance(document, LineDict) else None
    node = document
    for key in keys:
        if not isinstance(node, LineDict) or key not in node:
            break
        line = node.key_lines[key]
        node = node[key]
    return line
