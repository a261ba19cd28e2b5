"""Extraction version: which site YAML, page objects, trawl code and control lists produced a value.

Every stored listing, snapshot and vendor carries `extraction_version`, a short stable id
("0.1.0-3f9a0c21d4e5"): the trawl version in clear, then a digest of

- the site YAML's bytes (selectors, defaults, grid cards...),
- the source of the page-object modules the YAML names (`page_object: mysite:MyListing`),
- the extraction code of this checkout (parsers/, enrich/, crawler/sitedef/, pipeline parse
  and enrich), so a development tree that changed a parser is told apart from the release,
- the control/substance lists enrich matches against (shipped lists + $TRAWL_CONTROL_LISTS).

Equal ids mean a page re-read now gives the values stored; a crawl re-parses a listing whose
stored version differs even when its raw fields did not change (pipeline.unchanged), and
`trawl reprocess` re-reads stored evidence to bring old captures to the current version.
Computed once per loaded site per process (the files are hashed the first time it is asked for).
"""
from __future__ import annotations

import hashlib
import inspect
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from crawler.sitedef.siteconfig import SiteConfig

REPO = Path(__file__).resolve().parents[1]
# the code a page's values depend on, beside the site YAML and its page objects
EXTRACTION_CODE = ("parsers", "enrich", "crawler/sitedef", "pipeline/parse.py", "pipeline/enrich.py")
UNVERSIONED = ""  # records stored before versions existed

_BY_SITE: dict[int, tuple[SiteConfig, str]] = {}  # id(loaded site) -> (the site, kept alive; its version)
_BY_NAME: dict[str, str] = {}  # site name -> the version of the site this process loaded last
_PROCESS_PARTS: dict[str, str] = {}


def version_id(trawl: str, site_yaml: bytes, page_objects: Iterable[bytes] = (), code: str = "", lists: str = "") -> str:
    """The id of one combination of inputs: stable, short, the trawl version readable.

    >>> a = version_id("0.1.0", b"name: s\\n", code="c1", lists="l1")
    >>> a == version_id("0.1.0", b"name: s\\n", code="c1", lists="l1"), a.startswith("0.1.0-"), len(a)
    (True, True, 18)
    >>> len({a, version_id("0.1.0", b"name: t\\n", code="c1", lists="l1"),
    ...      version_id("0.1.0", b"name: s\\n", code="c1", lists="l2"),
    ...      version_id("0.1.0", b"name: s\\n", [b"class P: ..."], code="c1", lists="l1")})
    4
    """
    digest = hashlib.sha256()
    for part in (site_yaml, *page_objects, code.encode(), lists.encode()):
        digest.update(hashlib.sha256(part).digest())  # framed: no two inputs concatenate alike
    return f"{trawl}-{digest.hexdigest()[:12]}"


def _digest_files(files: Iterable[Path], root: Path | None = None) -> str:
    digest = hashlib.sha256()
    for path in files:
        name = path.relative_to(root).as_posix() if root is not None and path.is_relative_to(root) else path.name
        digest.update(name.encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def trawl_version() -> str:
    if "trawl" not in _PROCESS_PARTS:
        try:
            _PROCESS_PARTS["trawl"] = metadata.version("trawl")
        except metadata.PackageNotFoundError:
            _PROCESS_PARTS["trawl"] = "0"
    return _PROCESS_PARTS["trawl"]


def code_digest() -> str:
    """Digest of the extraction code's .py files in this checkout or install."""
    if "code" not in _PROCESS_PARTS:
        files: list[Path] = []
        for entry in EXTRACTION_CODE:
            path = REPO / entry
            files.extend(sorted(path.rglob("*.py")) if path.is_dir() else [path] if path.is_file() else [])
        _PROCESS_PARTS["code"] = _digest_files(files, REPO)
    return _PROCESS_PARTS["code"]


def lists_digest() -> str:
    """Digest of the control/substance list files enrich loads (cache keyed like enrich.lists)."""

    from enrich.lists import default_paths, lists_state

    key = "lists:" + "|".join(lists_state())
    if key not in _PROCESS_PARTS:
        files: list[Path] = []
        for path in default_paths():
            if path.is_dir():
                files.extend(sorted([*path.glob("*.yaml"), *path.glob("*.yml")]))
            elif path.is_file():
                files.append(path)
        _PROCESS_PARTS[key] = _digest_files(files)
    return _PROCESS_PARTS[key]


def page_object_sources(site: SiteConfig) -> list[bytes]:
    """The source files of the page objects the YAML names (none for a selectors-only site)."""
    from crawler.sitedef.pages import resolve_page_object

    specs = [site.listing, site.vendor, site.grid.card if site.grid else None]
    sources: list[bytes] = []
    for spec in specs:
        if spec is None or not spec.page_object:
            continue
        cls = resolve_page_object(spec.page_object, spec.source)
        for klass in cls.__mro__:  # a local page object may subclass another local one
            try:
                file = inspect.getsourcefile(klass)
            except TypeError:  # builtins
                continue
            if file and not Path(file).resolve().is_relative_to(REPO / "crawler" / "sitedef"):
                sources.append(Path(file).read_bytes())  # trawl's own page objects are in code_digest
    return sources


def extraction_version(site: SiteConfig) -> str:
    """The version of `site` as loaded: its YAML file is hashed once per loaded SiteConfig (a
    site loaded again after an edit gets a new version; the code and list digests are per
    process).  Also what `site_version(site.name)` answers from now on in this process, so
    whoever loads a site for extraction calls this once."""
    cached = _BY_SITE.get(id(site))
    if cached is None or cached[0] is not site:
        yaml_bytes = Path(site.source).read_bytes() if site.source and Path(site.source).is_file() else site.name.encode()
        cached = (site, version_id(trawl_version(), yaml_bytes, page_object_sources(site), code_digest(), lists_digest()))
        _BY_SITE[id(site)] = cached
    _BY_NAME[site.name] = cached[1]
    return cached[1]


def site_version(name: str) -> str:
    """The version for site `name`: the one this process computed for the site it loaded, else
    the site YAML found by name; "" when the site cannot be found (a stamp never costs an item)."""
    if name not in _BY_NAME:
        from core.errors import TrawlError
        from crawler.sitedef.siteconfig import SiteConfigError, load_site

        try:
            extraction_version(load_site(name))
        except (TrawlError, SiteConfigError, OSError, ImportError):
            _BY_NAME[name] = UNVERSIONED
    return _BY_NAME[name]


def forget() -> None:
    """Drop the per-process cache (tests that edit code or lists in-process)."""
    _BY_SITE.clear()
    _BY_NAME.clear()
    _PROCESS_PARTS.clear()
