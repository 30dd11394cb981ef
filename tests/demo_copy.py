"""The demo shop (migrations + `demo_load`) built once per test run, handed out as copies.

`demo_load` takes half a minute to minutes (123 product photos encoded, invoice PDFs
rendered): the browser tests that need the demo shop used to build it four times per run.
`demo_shop_copy(tmp_path_factory, "name")` builds it the first time into the run's base
temporary folder (shared by the pytest-xdist workers, under a file lock, so the whole run
builds it once) and gives each caller its own copy of the SQLite file and of the instance
folder (photos, renditions, mail), which the caller may change freely.

The build starts in the background when the run begins (`demo_shop_prebuild`, from the
suite's conftest, in one process of the run when it holds browser tests): a subprocess
takes the lock and builds while the first tests run, so the first browser tests find it
ready instead of one xdist worker building for ~17 s while the other waits on the lock.
"""

from __future__ import annotations

import fcntl
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from app import create_app
from app.config import TestConfig


def _template_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The run's one demo-shop template folder (in the base temporary folder that the
    pytest-xdist workers share: a worker's base is <run's base>/popen-gwN)."""
    base = tmp_path_factory.getbasetemp()
    return (base.parent if base.name.startswith("popen-") else base) / "demo-shop-template"


def _build(root: Path) -> None:
    instance = root / "instance"
    instance.mkdir(parents=True, exist_ok=True)
    application = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=f"sqlite:///{root / 'demo.db'}",
                             INSTANCE_PATH=str(instance), JOBS_MODE="sync")
    with application.app_context():
        from flask_migrate import upgrade

        from app.demo import demo_load
        from app.extensions import db

        upgrade()
        demo_load()
        db.session.commit()
        db.session.remove()
        db.engine.dispose()


def _built(root: Path) -> None:
    """Build the demo shop into `root` unless it is there: under the run's lock, so one
    process builds and the others wait for it."""
    root.mkdir(exist_ok=True)
    with open(root / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # the other workers wait for the first build
        if not (root / "ready").exists():
            _build(root)
            (root / "ready").touch()


def demo_shop_prebuild(tmp_path_factory: pytest.TempPathFactory) -> subprocess.Popen:
    """Start building the run's demo shop in a subprocess (`python -m tests.demo_copy
    ROOT`); the caller waits for it at the end of the run. Should it fail, the first
    `demo_shop_copy` builds it (and shows the error)."""
    root = _template_root(tmp_path_factory)
    root.mkdir(exist_ok=True)
    with open(root / "prebuild.log", "w") as log:
        return subprocess.Popen([sys.executable, "-m", "tests.demo_copy", str(root)],
                                cwd=Path(__file__).resolve().parent.parent,
                                stdout=log, stderr=subprocess.STDOUT)


def demo_shop_copy(tmp_path_factory: pytest.TempPathFactory, name: str) -> tuple[str, Path]:
    """A private copy of the migrated demo shop: (SQLite URL, instance folder)."""
    root = _template_root(tmp_path_factory)
    _built(root)
    target = tmp_path_factory.mktemp(name)
    shutil.copytree(root / "instance", target / "instance")
    source = sqlite3.connect(root / "demo.db")
    copy = sqlite3.connect(target / "demo.db")
    try:
        source.backup(copy)  # a consistent copy, whatever the WAL holds
    finally:
        copy.close()
        source.close()
    return f"sqlite:///{target / 'demo.db'}", target / "instance"


if __name__ == "__main__":
    _built(Path(sys.argv[1]))
