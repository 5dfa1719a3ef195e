"""requirements.lock (what the image installs, with --require-hashes) agrees with the pins
in pyproject.toml: a dependency bumped without refreshing the lock fails here, not in a
Docker build."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PIN = re.compile(r"^([A-Za-z0-9._-]+)(?:\[([^\]]+)\])?==([^\s;]+)")


def norm(name: str) -> str:
    """A distribution name as PEP 503 compares it."""
    return re.sub(r"[-_.]+", "-", name).lower()


def locked() -> dict[str, tuple[str, int]]:
    """{name: (version, number of hashes)} from requirements.lock."""
    out: dict[str, tuple[str, int]] = {}
    name = ""
    for line in (ROOT / "requirements.lock").read_text(encoding="utf-8").splitlines():
        match = PIN.match(line)
        if match:
            name = norm(match.group(1))
            out[name] = (match.group(3), 0)
        elif line.strip().startswith("--hash=sha256:") and name:
            version, hashes = out[name]
            out[name] = (version, hashes + 1)
    return out


def test_every_runtime_pin_is_locked_at_the_same_version() -> None:
    """Each dependency of pyproject.toml (and its extras' packages) is locked at its version."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    lock = locked()
    for requirement in project["dependencies"]:
        match = PIN.match(requirement)
        assert match, f"{requirement}: runtime dependencies are pinned with =="
        name, extras, version = norm(match.group(1)), match.group(2), match.group(3)
        assert lock.get(name, ("missing", 0))[0] == version, requirement
        for extra in (extras or "").split(","):
            if extra:
                assert f"{name}-{norm(extra)}" in lock, requirement


def test_every_locked_package_is_pinned_with_hashes() -> None:
    """Every package in the lock has at least one sha256 hash (pip --require-hashes needs it)."""
    lock = locked()
    assert len(lock) > 40
    assert [name for name, (_, hashes) in lock.items() if hashes == 0] == []
    assert {"setuptools", "wheel"} <= lock.keys()  # the build backend the image uses


def test_the_image_base_is_pinned_to_a_python_release_and_a_digest() -> None:
    """Both stages of the Dockerfile build from one base pinned by patch release and digest."""
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    base = re.search(r"^ARG PYTHON_IMAGE=(\S+)$", text, re.MULTILINE)
    assert base, "the Dockerfile names its base in ARG PYTHON_IMAGE"
    assert re.fullmatch(r"python:3\.11\.\d+-slim-bookworm@sha256:[0-9a-f]{64}", base.group(1))
    stages = re.findall(r"^FROM (\S+)", text, re.MULTILINE)
    assert stages, "the Dockerfile has build stages"
    assert all(s.startswith("${PYTHON_IMAGE}") for s in stages), stages
