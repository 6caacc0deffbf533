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
