"""`pip install .` (pyproject.toml) installs the seven algorithm files and nothing else.

The wheel is built offline (--no-deps --no-build-isolation) from a copy of the repository in
tmp_path, so the build's own leftovers (build/, pgref.egg-info/) never land in the checkout;
the copy also gets stray Python files planted where setuptools' auto-discovery would find them.
"""
import ast
import email
import importlib.metadata
import importlib.util
import os
import shutil
import subprocess
import sys
import zipfile

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SEVEN = {"reinforce.py", "actor_critic.py", "gae.py", "npg_trpo.py", "ppo.py", "a3c.py",
         "dqn_ddpg.py"}
TEST_ONLY = {"pytest", "hypothesis"}  # in requirements.txt for the tests, not for the modules
# What a fresh clone would not have: .gitignore's entries and the build's own outputs.
NOT_COPIED = shutil.ignore_patterns(".git", "runs", "__pycache__", "*.pyc", ".pytest_cache",
                                    ".hypothesis", "out", "build", "dist", "*.egg-info")


def _build_wheel(tmp_path):
    if importlib.util.find_spec("setuptools") is None:
        pytest.skip("setuptools (the build backend) is not installed: pip install setuptools")
    version = Version(importlib.metadata.version("setuptools"))
    if version < Version("61"):
        pytest.skip("setuptools < 61 cannot read pyproject.toml's [project] table")
    # setuptools builds wheels itself from 70.1 on (a Python 3.10 or 3.11 venv brings 65.5)
    if version < Version("70.1") and importlib.util.find_spec("wheel") is None:
        pytest.skip("setuptools < 70.1 builds wheels with the wheel package: pip install wheel")
    src = tmp_path / "src"
    shutil.copytree(ROOT, src, ignore=NOT_COPIED)
    # Strays that auto-discovery would pick up: a top-level module, a package, a run dir.
    (src / "stray_helper.py").write_text("X = 1\n")
    (src / "straypkg").mkdir()
    (src / "straypkg" / "__init__.py").write_text("")
    (src / "runs").mkdir()
    (src / "runs" / "leftover.py").write_text("Y = 1\n")
    out = tmp_path / "dist"
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "--no-build-isolation",
         "--disable-pip-version-check", "-w", str(out)],
        capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    wheels = list(out.glob("*.whl"))
    assert len(wheels) == 1, wheels
    return zipfile.ZipFile(wheels[0])


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    with _build_wheel(tmp_path_factory.mktemp("wheel")) as whl:
        yield whl


def _requirements(filename):
    """The requirement lines of a requirements file, less comments and `-r` includes."""
    with open(os.path.join(ROOT, filename)) as f:
        lines = [line.split("#", 1)[0].strip() for line in f]
    return [Requirement(line) for line in lines if line and not line.startswith("-")]


def _key(req):
    """Order-free form of one requirement: `numpy<3,>=1.24` and `numpy>=1.24,<3` agree."""
    return (canonicalize_name(req.name), frozenset(req.extras),
            frozenset(str(s) for s in req.specifier))


def _requires_dist(wheel, extra=None):
    meta_name = next(n for n in wheel.namelist() if n.endswith(".dist-info/METADATA"))
    meta = email.message_from_bytes(wheel.read(meta_name))
    found = set()
    for line in meta.get_all("Requires-Dist") or []:
        req = Requirement(line)
        in_extra = req.marker is not None and req.marker.evaluate({"extra": extra or ""})
        if (req.marker is None) if extra is None else in_extra:
            found.add(_key(req))
    return found


def test_wheel_holds_exactly_the_seven_files_unchanged(wheel):
    names = wheel.namelist()
    payload = {n for n in names if ".dist-info/" not in n}
    assert payload == SEVEN  # no tests, benchmarks, examples or planted strays; no packages
    dist_infos = {n.split("/", 1)[0] for n in names if ".dist-info/" in n}
    assert dist_infos == {"pgref-0.1.0.dist-info"}
    for name in sorted(SEVEN):
        with open(os.path.join(ROOT, name), "rb") as f:
            assert wheel.read(name) == f.read(), f"{name} in the wheel differs from the repository's"
    top_level = wheel.read("pgref-0.1.0.dist-info/top_level.txt").decode().split()
    assert sorted(top_level) == sorted(n[:-3] for n in SEVEN)


def test_wheel_requirements_are_requirements_txt(wheel):
    listed = {_key(r) for r in _requirements("requirements.txt")}
    test_only = {k for k in listed if k[0] in TEST_ONLY}
    assert {k[0] for k in test_only} == TEST_ONLY  # the split below is not vacuous
    assert _requires_dist(wheel) == listed - test_only
    assert _requires_dist(wheel, extra="test") == test_only
    bench = {_key(r) for r in _requirements("requirements-bench.txt")}
    assert bench
    assert _requires_dist(wheel, extra="bench") == bench


def test_no_test_module_has_a_module_level_setup_that_pytest_7_would_call():
    """requirements.txt allows pytest 7, whose nose support calls a test module's module-level
    setup() and teardown() around its tests: a helper so named, called with no arguments, made
    every test of its module error (81 tests under pytest 7.4.4)."""
    pytest_req = next(r for r in _requirements("requirements.txt") if r.name == "pytest")
    assert pytest_req.specifier.contains("7.4.4")  # else this check has no reason to be
    tests, found = os.path.dirname(os.path.abspath(__file__)), []
    for name in sorted(os.listdir(tests)):
        if name.startswith("test_") and name.endswith(".py"):
            with open(os.path.join(tests, name)) as f:
                body = ast.parse(f.read()).body
            defined = [n.name for n in body if isinstance(n, (ast.FunctionDef, ast.ClassDef))]
            defined += [a.asname or a.name for n in body if isinstance(n, ast.ImportFrom)
                        for a in n.names]
            found += [f"{name}: {d}" for d in defined if d in ("setup", "teardown")]
    assert found == []
