"""The chat door's test server: prosody (bench/peers.py), or a skip saying what is missing."""

import importlib.util
import shutil

import pytest

from bench.peers import prosody

__all__ = ['prosody', 'prosody_or_skip']


def prosody_or_skip() -> None:
    """Skip the calling test module unless prosody and slixmpp are installed."""
    if shutil.which('prosody') is None or shutil.which('prosodyctl') is None:
        pytest.skip('prosody is not installed (make setup-bridges installs it with apt)',
                    allow_module_level=True)
    if importlib.util.find_spec('slixmpp') is None:
        pytest.skip('slixmpp is not installed (make setup-bridges)', allow_module_level=True)
