import pytest

from mobile_kit.fileio import atomic_path, atomic_write_text


def test_atomic_write_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "out" / "model.tflite"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_bytes(b"half")
            raise RuntimeError("converter crashed")
    assert not target.exists()
    assert list((tmp_path / "out").iterdir()) == []


def test_atomic_write_replaces(tmp_path):
    p = atomic_write_text(tmp_path / "a.json", "1")
    atomic_write_text(p, "2")
    assert p.read_text() == "2" and len(list(tmp_path.iterdir())) == 1


def test_atomic_files_get_normal_permissions(tmp_path):
    import os

    p = atomic_write_text(tmp_path / "m.json", "{}")
    umask = os.umask(0)
    os.umask(umask)
    assert p.stat().st_mode & 0o777 == 0o666 & ~umask


# --- several outputs as one unit (stage_outputs / commit_staged / recover_outputs) ---------------------------

def _old_pair(d):
    d.mkdir(parents=True, exist_ok=True)
    (d / "model.tflite").write_bytes(b"OLD MODEL")
    (d / "metadata.json").write_text("OLD META")


def _listing(d):
    return sorted(p.name for p in d.iterdir())


def test_stage_outputs_commits_all_files_together(tmp_path):
    from mobile_kit.fileio import stage_outputs

    _old_pair(tmp_path)
    with stage_outputs(tmp_path) as stage:
        (stage / "model.tflite").write_bytes(b"NEW MODEL")
        (stage / "metadata.json").write_text("NEW META")
        (stage / "labels.txt").write_text("person\n")
        assert (tmp_path / "model.tflite").read_bytes() == b"OLD MODEL"  # nothing visible before the commit
    assert (tmp_path / "model.tflite").read_bytes() == b"NEW MODEL"
    assert (tmp_path / "metadata.json").read_text() == "NEW META"
    assert _listing(tmp_path) == ["labels.txt", "metadata.json", "model.tflite"]


@pytest.mark.parametrize("fail_at", [1, 2, 3])
def test_failure_during_commit_restores_the_old_unit(tmp_path, monkeypatch, fail_at):
    import os

    import mobile_kit.fileio as fileio

    _old_pair(tmp_path)
    calls = []

    def flaky(src, dest):
        calls.append(dest)
        if len(calls) == fail_at + 2:  # 2 renames move the old pair away, then the new files come in
            raise OSError(5, "injected", str(dest))
        os.replace(src, dest)

    monkeypatch.setattr(fileio, "_rename", flaky)
    with pytest.raises(OSError, match="injected"):
        with fileio.stage_outputs(tmp_path) as stage:
            (stage / "model.tflite").write_bytes(b"NEW MODEL")
            (stage / "metadata.json").write_text("NEW META")
            (stage / "labels.txt").write_text("person\n")
    assert (tmp_path / "model.tflite").read_bytes() == b"OLD MODEL"
    assert (tmp_path / "metadata.json").read_text() == "OLD META"
    assert _listing(tmp_path) == ["metadata.json", "model.tflite"]


def test_interrupt_noted_by_a_library_blocks_the_commit(tmp_path):
    import mobile_kit.fileio as fileio

    _old_pair(tmp_path)
    try:
        with pytest.raises(KeyboardInterrupt):
            with fileio.stage_outputs(tmp_path) as stage:
                (stage / "model.tflite").write_bytes(b"NEW MODEL")
                fileio.note_interrupt(2)  # the KeyboardInterrupt itself was swallowed by C++ code
    finally:
        fileio.clear_interrupt()
    assert (tmp_path / "model.tflite").read_bytes() == b"OLD MODEL" and _listing(tmp_path) == ["metadata.json",
                                                                                                 "model.tflite"]


@pytest.mark.parametrize("killed_after", ["one_old_moved", "journal", "one_new_placed", "committed"])
def test_recover_after_kill_mid_commit(tmp_path, killed_after):
    """kill -9 at each step of a commit: the next write finds the old unit, or the whole new one."""
    import json
    import os

    import mobile_kit.fileio as fileio

    _old_pair(tmp_path)
    staging = tmp_path / (fileio.STAGING_PREFIX + "x")
    staging.mkdir()
    (staging / "model.tflite").write_bytes(b"NEW MODEL")
    (staging / "metadata.json").write_text("NEW META")
    (staging / "labels.txt").write_text("person\n")
    rep = tmp_path / (fileio.REPLACED_PREFIX + "x")
    rep.mkdir()
    os.replace(tmp_path / "metadata.json", rep / "metadata.json")
    if killed_after != "one_old_moved":
        os.replace(tmp_path / "model.tflite", rep / "model.tflite")
        (rep / fileio.JOURNAL).write_text(json.dumps({"names": ["labels.txt", "metadata.json", "model.tflite"],
                                                      "had_old": ["metadata.json", "model.tflite"]}))
    if killed_after in ("one_new_placed", "committed"):
        os.replace(staging / "labels.txt", tmp_path / "labels.txt")
        os.replace(staging / "metadata.json", tmp_path / "metadata.json")
    if killed_after == "committed":
        os.replace(staging / "model.tflite", tmp_path / "model.tflite")
        (rep / fileio.COMMITTED).write_text("")
    fileio.recover_outputs(tmp_path)
    if killed_after == "committed":
        assert (tmp_path / "model.tflite").read_bytes() == b"NEW MODEL"
        assert (tmp_path / "metadata.json").read_text() == "NEW META"
        assert _listing(tmp_path) == ["labels.txt", "metadata.json", "model.tflite"]
    else:
        assert (tmp_path / "model.tflite").read_bytes() == b"OLD MODEL"
        assert (tmp_path / "metadata.json").read_text() == "OLD META"
        assert _listing(tmp_path) == ["metadata.json", "model.tflite"]


# --- output folders checked before work -----------------------------------------------------------------------

def test_ensure_output_dir_creates_nothing_and_refuses_files_and_proc(tmp_path):
    from mobile_kit.errors import OutputError
    from mobile_kit.fileio import ensure_output_dir, ensure_output_file

    assert ensure_output_dir(tmp_path / "a" / "b") == tmp_path / "a" / "b"
    assert not (tmp_path / "a").exists() and list(tmp_path.iterdir()) == []  # the probe file is gone too
    (tmp_path / "f").write_text("x")
    with pytest.raises(OutputError, match="--bundle .*f: expected a folder, found an existing file"):
        ensure_output_dir(tmp_path / "f", "--bundle")
    with pytest.raises(OutputError, match="is a file"):
        ensure_output_dir(tmp_path / "f" / "sub")
    with pytest.raises(OutputError, match="virtual file system /proc"):
        ensure_output_dir("/proc/self/mobilekit")
    with pytest.raises(OutputError, match="existing folder"):
        ensure_output_file(tmp_path)


def test_private_tempdir_collects_and_removes_temp_files(tmp_path, monkeypatch):
    import os
    import tempfile

    import mobile_kit.fileio as fileio

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    stale = tmp_path / f"{fileio.RUN_TMP_PREFIX}999999999-abc"  # left by a kill -9 of a process that is gone
    stale.mkdir()
    with pytest.raises(KeyboardInterrupt):
        with fileio.private_tempdir() as d:
            assert tempfile.mkdtemp().startswith(str(d)) and os.environ["TMPDIR"] == str(d)
            raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("fail", [False, True])
def test_replaces_removes_an_earlier_units_extra_files_or_restores_them(tmp_path, monkeypatch, fail):
    import os

    import mobile_kit.fileio as fileio

    _old_pair(tmp_path)
    (tmp_path / "labels.txt").write_text("old labels")
    (tmp_path / "golden").mkdir()
    (tmp_path / "golden" / "manifest.json").write_text("{}")
    (tmp_path / "notes.md").write_text("the user's own file")
    if fail:
        def flaky(src, dest):
            if fileio.STAGING_PREFIX in str(src):
                raise OSError(5, "injected", str(dest))
            os.replace(src, dest)

        monkeypatch.setattr(fileio, "_rename", flaky)
    try:
        with fileio.stage_outputs(tmp_path, replaces=("labels.txt", "golden", "model.onnx")) as stage:
            (stage / "model.tflite").write_bytes(b"NEW MODEL")
            (stage / "metadata.json").write_text("NEW META")
    except OSError:
        assert fail
    if fail:
        assert _listing(tmp_path) == ["golden", "labels.txt", "metadata.json", "model.tflite", "notes.md"]
        assert (tmp_path / "golden" / "manifest.json").read_text() == "{}"
    else:
        assert _listing(tmp_path) == ["metadata.json", "model.tflite", "notes.md"]
        assert (tmp_path / "model.tflite").read_bytes() == b"NEW MODEL"
