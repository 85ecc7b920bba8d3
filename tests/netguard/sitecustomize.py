"""Installs tests/netguard/netguard.py in every Python process a test starts (this folder leads PYTHONPATH).

Then runs the sitecustomize this one shadows, if the interpreter has one (Debian's, for instance).
"""

from __future__ import annotations

import importlib.machinery
import os
import sys

_here = os.path.dirname(os.path.abspath(__file__))
if _here not in sys.path:
    sys.path.insert(0, _here)

import netguard  # noqa: E402

netguard.install_from_env()

_rest = [p for p in sys.path if p and os.path.abspath(p) != _here]
_spec = importlib.machinery.PathFinder.find_spec("sitecustomize", _rest)
if _spec is not None and _spec.loader is not None and _spec.origin != __file__:
    try:
        _spec.loader.exec_module(type(sys)("_shadowed_sitecustomize"))
    except Exception:  # noqa: BLE001 - the shadowed one failing must not break the test's process
        pass
