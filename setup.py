"""Build shim: setup.cfg holds all metadata. This file only adds the repo's config/ folder to the
wheel as ``helpdesk.config`` (setup.cfg cannot combine ``find:`` with an extra mapped package)."""
from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["helpdesk", "helpdesk.*"]), "helpdesk.config"],
    package_dir={"helpdesk.config": "config"},
)
