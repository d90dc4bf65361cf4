"""The shared YAML reader: alias bombs and self-referencing aliases are refused with file:line."""

from __future__ import annotations

import pytest

from seccenter.yamlfile import YamlFileError, load_documents


def _laughs(levels: int) -> str:
    names = "abcdefghijklmnop"
    lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for parent, child in zip(names, names[1:levels], strict=False):
        lines.append(f"{child}: &{child} [{', '.join([f'*{parent}'] * 9)}]")
    return "\n".join(lines) + "\n"


def test_billion_laughs_is_refused_with_its_location() -> None:
    with pytest.raises(YamlFileError) as caught:
        load_documents("title: x\n" + _laughs(9), "bomb.yaml")
    assert str(caught.value).startswith("bomb.yaml:1: ")
    assert "alias bomb" in caught.value.reason


def test_alias_inside_its_own_anchor_is_refused() -> None:
    with pytest.raises(YamlFileError) as caught:
        load_documents("steps:\n  - &loop [*loop]\n", "loop.yaml")
    assert caught.value.location.line == 2
    assert "contains it" in caught.value.reason


def test_ordinary_anchors_and_merges_still_load() -> None:
    documents = load_documents("base: &base {owner: dpo}\nstep: {<<: *base, id: notify}\nsmall: " + "[*base]\n"
                               + _laughs(3), "ok.yaml")
    assert documents[0]["step"] == {"owner": "dpo", "id": "notify"}
    assert len(documents[0]["c"]) == 9
