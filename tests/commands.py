"""Commands the tests run in subprocesses, derived from the interpreter running pytest.

Never a hard-coded virtualenv path: the suite must run from any environment where
`pip install -e '.[test]'` was done (a venv elsewhere, tox, nox, a conda env).
"""
from __future__ import annotations

import sys

PYTHON = sys.executable
# `trawl` is the console script for trawl.cli:main; running the module needs no script on PATH
TRAWL = [PYTHON, "-m", "trawl.cli"]
# warcio ships no __main__ module, only a console script: call its entry function directly
WARCIO = [PYTHON, "-c", "import sys; from warcio.cli import main; sys.exit(main())"]
