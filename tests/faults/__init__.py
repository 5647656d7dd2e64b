"""Fault injection and race tests (issue #8): a package, so that its
conftest.py does not clash with tests/integration/conftest.py when pytest
collects both directories in one run."""
