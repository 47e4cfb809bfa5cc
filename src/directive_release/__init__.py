"""directive-release: repeatable, all-or-nothing releases for Python packages."""

__version__ = "0.1.0"
