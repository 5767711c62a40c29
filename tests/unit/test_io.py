"""Atomic writes: a target is either its old or its new content, and nothing is left beside it."""

import os

import pytest

from mtaal import io
from mtaal.io import atomic_directory, write_json


def test_atomic_directory_replaces_the_previous_one_whole(tmp_path):
    target = tmp_path / "encoder"
    with atomic_directory(target) as new:
        (new / "a.txt").write_text("first")
    with atomic_directory(target) as new:
        assert new.parent == tmp_path and new != target and not any(new.iterdir())
        (new / "b.txt").write_text("second")
    assert sorted(p.name for p in target.iterdir()) == ["b.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["encoder"]
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o777 & ~umask  # not mkdtemp's 0700


def test_a_failed_atomic_directory_keeps_the_previous_one(tmp_path):
    target = tmp_path / "files"
    target.mkdir()
    (target / "old.txt").write_text("old")
    with pytest.raises(RuntimeError), atomic_directory(target) as new:
        (new / "half.txt").write_text("half")
        raise RuntimeError("download failed")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["files"]
    assert (target / "old.txt").read_text() == "old" and not (target / "half.txt").exists()


def test_a_failed_swap_puts_the_previous_directory_back(tmp_path, monkeypatch):
    target = tmp_path / "files"
    target.mkdir()
    (target / "old.txt").write_text("old")
    real_replace = os.replace
    calls = []

    def replace(source, destination):
        calls.append((source, destination))
        if len(calls) == 2:  # the new directory onto the target, after the old one moved aside
            raise OSError("disk gone")
        real_replace(source, destination)

    monkeypatch.setattr(io.os, "replace", replace)
    with pytest.raises(OSError, match="disk gone"), atomic_directory(target) as new:
        (new / "new.txt").write_text("new")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["files"]
    assert sorted(p.name for p in target.iterdir()) == ["old.txt"]


def test_write_json_replaces_a_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "sub" / "best.json"
    write_json({"b": 1, "a": [1.5]}, target)
    write_json({"c": 2}, target)
    assert target.read_text(encoding="utf-8") == '{\n  "c": 2\n}\n'
    assert [p.name for p in target.parent.iterdir()] == ["best.json"]
