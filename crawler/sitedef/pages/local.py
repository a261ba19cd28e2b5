"""Page objects kept beside a site's YAML: `page_object: mysite:MyListing` loads the class
`MyListing` from `mysite.py` in one of the user's site directories ($TRAWL_SITES_DIR
entries, then $TRAWL_HOME/sites), without PYTHONPATH.

Only those directories are searched, never a path written in the YAML: the module part
is a bare Python name, so a YAML cannot point trawl at arbitrary code.  Each file is
imported once under a name unique to its path (two site folders may both hold a
`mysite.py`)."""
from __future__ import annotations

import hashlib
import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

LOCAL_FORM = re.compile(r"(?P<module>[A-Za-z_]\w*):(?P<cls>[A-Za-z_]\w*)")


class LocalPageObjectError(LookupError):
    """The module file or class a `module:Class` page object names cannot be used."""


def user_site_dirs(prefer: str = "") -> list[Path]:
    """The user's site folders in search order; the folder of the YAML `prefer` first when
    it is one of them (its own `mysite.py` wins over a namesake elsewhere)."""
    from crawler.sitedef.siteconfig import SHIPPED_SITES, site_search_path

    dirs = [d.resolve() for d in site_search_path() if d.resolve() != SHIPPED_SITES.resolve()]
    if prefer:
        own = Path(prefer).resolve().parent
        if own in dirs:
            dirs.remove(own)
            dirs.insert(0, own)
    return list(dict.fromkeys(dirs))


def find_module_file(module: str, prefer: str = "") -> Path:
    dirs = user_site_dirs(prefer)
    for directory in dirs:
        candidate = directory / f"{module}.py"
        if candidate.is_file():
            return candidate
    where = ", ".join(str(d) for d in dirs) or "no site folder (set $TRAWL_SITES_DIR)"
    raise LocalPageObjectError(f"no {module}.py in the site folders ({where}); a 'module:Class' page object is "
                               f"loaded only from $TRAWL_SITES_DIR or $TRAWL_HOME/sites, next to the YAML")


def import_file(path: Path) -> ModuleType:
    """`path` imported as a module of its own (once per process)."""
    digest = hashlib.sha256(str(path).encode()).hexdigest()[:12]
    name = f"trawl_site_page_{path.stem}_{digest}"
    loaded = sys.modules.get(name)
    if loaded is not None:
        return loaded
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise LocalPageObjectError(f"{path}: cannot be imported as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # before running it: dataclasses and pickling look it up
    try:
        spec.loader.exec_module(module)
    except SyntaxError as exc:
        del sys.modules[name]
        raise LocalPageObjectError(f"{exc.filename or path}:{exc.lineno}: {exc.msg}") from exc
    except Exception as exc:
        del sys.modules[name]
        raise LocalPageObjectError(f"{path}: importing it failed: {type(exc).__name__}: {exc}") from exc
    return module


def load_local_class(reference: str, prefer: str = "") -> type:
    """The class a `module:Class` reference names (not yet checked to be a page object)."""
    match = LOCAL_FORM.fullmatch(reference)
    if match is None:
        raise LocalPageObjectError(f"expected module:Class, got {reference!r}")
    path = find_module_file(match["module"], prefer)
    module = import_file(path)
    cls = getattr(module, match["cls"], None)
    if not isinstance(cls, type):
        raise LocalPageObjectError(f"{path} defines no class {match['cls']!r}")
    return cls
