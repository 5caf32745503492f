"""Tests of the cxrcaption-training package (run: python -m pytest training/tests). A package so that the
test modules import their helpers relatively (tests/helpers.py); pytest runs in importlib mode
(training/pyproject.toml), so the code under test is the installed cxrcaption_* packages."""
