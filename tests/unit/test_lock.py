"""The lock in requirements/ covers what setup.cfg asks for, at versions its ranges allow, with hashes,
and the app's lock and the tests' lock agree. A dependency added to setup.cfg without `make lock`
fails here, not on a user's machine."""
import configparser
import re
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[2]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)")


def _setup_cfg():
    config = configparser.ConfigParser()
    config.read(REPO / "setup.cfg", encoding="utf-8")
    return config


def _requirements(text):
    lines = (line.split("#")[0].strip() for line in text.splitlines())
    return [Requirement(line) for line in lines if line]


def _read_lock(name):
    """{package: (version, [hashes])} from a pip-compile output file."""
    pins, current = {}, None
    for line in (REPO / "requirements" / name).read_text(encoding="utf-8").splitlines():
        match = PIN.match(line)
        if match:
            current = canonicalize_name(match.group(1))
            pins[current] = (match.group(2), [])
        elif line.strip().startswith("--hash=sha256:") and current:
            pins[current][1].append(line.strip().split(":", 1)[1].rstrip(" \\"))
        elif line.strip() and not line.startswith((" ", "#")):
            pytest.fail(f"requirements/{name}: not a pinned requirement: {line!r}")
    return pins


@pytest.mark.parametrize(("lock", "sections"), [
    ("main.txt", [("options", "install_requires")]),
    ("test.txt", [("options", "install_requires"), ("options.extras_require", "test")]),
])
def test_lock_pins_every_requirement_of_setup_cfg_within_its_range(lock, sections):
    pins = _read_lock(lock)
    config = _setup_cfg()
    wrong = []
    for section, key in sections:
        for requirement in _requirements(config[section][key]):
            pinned = pins.get(canonicalize_name(requirement.name))
            if pinned is None:
                wrong.append(f"{requirement.name} is not in requirements/{lock}: run make lock")
            elif not requirement.specifier.contains(pinned[0], prereleases=True):
                wrong.append(f"{requirement.name}=={pinned[0]} is outside {requirement}: run make lock")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("lock", ["main.txt", "test.txt"])
def test_every_locked_package_has_hashes(lock):
    pins = _read_lock(lock)
    assert pins
    unhashed = [name for name, (_version, hashes) in pins.items() if not hashes]
    assert not unhashed, f"no hashes for {unhashed}: pip would refuse the lock"
    # setuptools and wheel build helpdesk itself (pip install --no-build-isolation), so they are pinned too.
    assert {"setuptools", "wheel"} <= pins.keys()


def test_the_tests_run_on_exactly_the_versions_the_app_is_deployed_with():
    app, tests = _read_lock("main.txt"), _read_lock("test.txt")
    differing = {name: (version, tests.get(name, ("missing",))[0])
                 for name, (version, _hashes) in app.items() if tests.get(name, (None,))[0] != version}
    assert not differing, f"requirements/main.txt and test.txt disagree (run make lock): {differing}"
