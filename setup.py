"""Build shim: setup.cfg holds all metadata. This file only lists the packages, because setup.cfg cannot
combine ``find:`` with an extra mapped one:

- every folder under ``helpdesk/`` is a package, including those that hold only data (templates, static
  files, translations, migrations); setuptools warns about each data folder it is not told about, and
  ``package_data`` in setup.cfg says which of their files go into the wheel;
- the repository's ``config/`` folder is installed as ``helpdesk.config``.
"""
from setuptools import find_namespace_packages, setup

setup(
    packages=[*find_namespace_packages(include=["helpdesk", "helpdesk.*"], exclude=["*.__pycache__"]),
              "helpdesk.config"],
    package_dir={"helpdesk.config": "config"},
)
