import pytest


@pytest.fixture(autouse=True)
def _files_in_tmp(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "STORAGE_BACKEND", "local")
    monkeypatch.setitem(app.config, "STORAGE_LOCAL_PATH", str(tmp_path / "files"))
