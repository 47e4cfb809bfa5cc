"""Helpers the GitHub Actions release workflow calls (``directive-release-ci``)."""
