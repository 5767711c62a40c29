"""Atomic writes: a target is either its old or its new content, and nothing is left beside it."""

import os
from pathlib import Path

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


WRITER = """
import sys, time
from mtaal.io import atomic_directory, atomic_path
with atomic_path(sys.argv[1]) as part, atomic_directory(sys.argv[2]) as folder:
    part.write_bytes(b"x" * 1000)
    (folder / "half.txt").write_text("half")
    print(part, folder, flush=True)
    time.sleep(60)
"""


def start_writer(tmp_path):
    """A process half-way through writing tmp_path/out.json and tmp_path/files; its two temporaries."""
    import subprocess
    import sys

    process = subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path / "out.json"),
                                str(tmp_path / "files")], stdout=subprocess.PIPE, text=True)
    line = process.stdout.readline().split()
    assert len(line) == 2, "the writer did not start"
    return process, [Path(path) for path in line]


def test_the_next_writer_removes_what_a_killed_writer_left_not_a_live_ones(tmp_path):
    import signal

    live, live_parts = start_writer(tmp_path)
    killed, killed_parts = start_writer(tmp_path)
    try:
        killed.send_signal(signal.SIGKILL)
        killed.wait(timeout=30)
        assert all(part.exists() for part in killed_parts + live_parts)
        write_json({"a": 1}, tmp_path / "out.json")
        with atomic_directory(tmp_path / "files") as new:
            (new / "all.txt").write_text("all")
        assert not any(part.exists() for part in killed_parts)  # a file and a folder
        assert all(part.exists() for part in live_parts)  # its writer is still at work
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
            ["out.json", "files", *(part.name for part in live_parts)])
    finally:
        live.kill()
        live.wait(timeout=30)
    write_json({"a": 2}, tmp_path / "out.json")
    with atomic_directory(tmp_path / "files"):
        pass
    assert sorted(p.name for p in tmp_path.iterdir()) == ["files", "out.json"]


def test_temporaries_of_another_host_or_target_are_left_alone(tmp_path):
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, timeout=60)
    gone = int(done.stdout)  # a process that has ended
    this_host = tmp_path / f".out.json.{io._HOST}-{gone}.abc.part"
    other_host = tmp_path / f".out.json.{io._HOST}x-{gone}.abc.part"  # a shared folder's other machine
    other_target = tmp_path / f".out.json.x.{io._HOST}-{gone}.abc.part"  # a temporary of "out.json.x"
    for path in (this_host, other_host, other_target):
        path.write_text("")
    write_json({}, tmp_path / "out.json")
    assert not this_host.exists() and other_host.exists() and other_target.exists()
