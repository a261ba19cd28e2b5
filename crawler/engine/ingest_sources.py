"""What `trawl ingest` reads: WARC/WARC.gz files (any producer), WACZ packages, mirror
directories (wget/HTTrack layout, or pages saved flat with the URL path in the file name)
and single HTML files.  Every input is recognised by its bytes, never by its name alone:
a `.warc.gz` that is not a gzipped WARC is an error naming the file, not HTML.

A page's URL comes from the WARC record, or for a saved file from its path in the mirror
(`host/listing/7/index.html` -> `http://host/listing/7/`), `--base-url` replacing the host
part.  Where a path cannot say exactly what the URL was (wget's `-E` adds `.html`; a flat
name loses its trailing `/`), the spelling the site YAML's url patterns recognise is taken.
"""
from __future__ import annotations

import gzip
import re
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import IO
from urllib.parse import quote

from core.errors import TrawlError
from crawler.engine.frontier import page_key
from crawler.evidence.reader import ArchivedPage
from crawler.sitedef.siteconfig import SiteConfig

# saved beside the pages, never pages themselves: not even opened
ASSET_EXTENSIONS = {".css", ".js", ".mjs", ".map", ".png", ".jpg", ".jpeg", ".gif", ".webp", ".svg", ".ico",
                    ".bmp", ".woff", ".woff2", ".ttf", ".otf", ".eot", ".mp4", ".webm", ".mp3", ".pdf", ".zip"}
HTTRACK_TOP = "hts-cache"  # HTTrack's project folder: its cache, and its own index.html beside it
_HOST = re.compile(r"^(?:localhost|(?:[a-z0-9-]+\.)+[a-z0-9-]+)(?::\d+)?$", re.IGNORECASE)
_SAVED_AS = re.compile(r"^(https?) _([^_]+)_(.*)$")  # a browser's flat name: "http _host_path_"

SKIP_HTTRACK = "httrack_file"  # HTTrack's own files (hts-cache/, the project's index.html, logs)
SKIP_NOT_HTML = "not_a_page"  # stylesheets, images, scripts saved beside the pages


class IngestInputError(TrawlError):
    """An input that cannot be read (not a WARC/WACZ/HTML, torn, unreadable): one line naming the file."""


@dataclass
class SavedFile:
    """One saved HTML file of a mirror directory (or given alone) and the URL it had."""

    path: Path
    url: str


# --- recognising an input ----------------------------------------------------------------

def sniff(path: Path) -> str:
    """'warc', 'wacz' or 'html' by the file's bytes; IngestInputError (one line) otherwise."""
    try:
        with path.open("rb") as handle:
            head = handle.read(4096)
    except OSError as exc:
        raise IngestInputError(f"{path}: cannot read ({exc.strerror or exc})") from None
    name = path.name.lower()
    claims_warc = name.endswith((".warc", ".warc.gz", ".arc.gz", ".wacz"))
    if head[:2] == b"\x1f\x8b":
        try:
            inner = zlib.decompressobj(zlib.MAX_WBITS | 16).decompress(head, 64)
        except zlib.error as exc:
            raise IngestInputError(f"{path}: not a WARC (broken gzip data: {exc})") from None
        if inner.startswith(b"WARC/"):
            return "warc"
        raise IngestInputError(f"{path}: not a WARC (gzip data, but it starts {_shown(inner)}, not 'WARC/')")
    if head.startswith(b"WARC/"):
        return "warc"
    if head[:4] == b"PK\x03\x04":
        return _check_wacz(path)
    if claims_warc:
        raise IngestInputError(f"{path}: not a WARC (neither gzip nor 'WARC/': starts {_shown(head)})")
    if looks_like_html(head):
        return "html"
    raise IngestInputError(f"{path}: not HTML, WARC or WACZ (starts {_shown(head)})")


def _shown(data: bytes) -> str:
    return repr(data[:16].decode("latin-1"))


def looks_like_html(head: bytes) -> bool:
    """A saved page: markup after an optional BOM and whitespace, no NUL bytes."""
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    return text[:1] == b"<" and b"\x00" not in head[:1024]


def _check_wacz(path: Path) -> str:
    try:
        with zipfile.ZipFile(path) as package:
            names = package.namelist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise IngestInputError(f"{path}: not a WACZ (broken zip: {exc})") from None
    if not any(_is_archive_member(n) for n in names):
        raise IngestInputError(f"{path}: a zip without archive/*.warc(.gz): not a WACZ")
    return "wacz"


def _is_archive_member(name: str) -> bool:
    return name.startswith("archive/") and name.endswith((".warc", ".warc.gz"))


# --- WARC and WACZ -----------------------------------------------------------------------

def _pages_of_stream(handle: IO[bytes], label: str) -> Iterator[ArchivedPage]:
    from warcio.archiveiterator import ArchiveIterator
    from warcio.exceptions import ArchiveLoadFailed

    from crawler.evidence.reader import _page_of  # the one record->page reading, shared with reprocess

    try:
        iterator = ArchiveIterator(handle)
        for record in iterator:
            page = _page_of(record, label, 0)
            # warcio learns a record's offset by reading it to its end: only after the body was read
            offset = iterator.get_record_offset()
            if page is not None:
                page.offset = offset
                page.url = page.url.strip().removeprefix("<").removesuffix(">")  # WARC 1.1 drafts wrote <uri>
                yield page
    except (ArchiveLoadFailed, EOFError, zlib.error, gzip.BadGzipFile, ValueError) as exc:
        raise IngestInputError(f"{label}: not a readable WARC ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})") from None


def read_warc(path: Path) -> list[ArchivedPage]:
    """Every response/resource record of a WARC (file order); the whole file or an error."""
    with path.open("rb") as handle:
        gzipped = handle.read(2) == b"\x1f\x8b"
        handle.seek(0)
        pages = list(_pages_of_stream(handle, str(path)))
    if gzipped:
        check_gzip_complete(path)  # warcio stops quietly at a cut-off member
    else:
        check_plain_complete(path)  # and hands out a cut-off record's body as if whole
    return pages


def check_plain_complete(path: Path) -> None:
    """IngestInputError unless every record of an uncompressed WARC is as long as it says."""
    size = path.stat().st_size
    with path.open("rb") as handle:
        while handle.tell() < size:
            start = handle.tell()
            header = b""
            while not header.endswith(b"\r\n\r\n"):
                line = handle.readline(65536)
                if not line:
                    break
                header += line
                if header.strip() == b"":
                    header, start = b"", handle.tell()  # blank lines between records
            if not header:
                return
            found = re.search(rb"(?im)^content-length:\s*(\d+)\s*$", header)
            if found is None:
                raise IngestInputError(f"{path}: not a readable WARC (record at {start} has no Content-Length)")
            end = handle.tell() + int(found.group(1))
            if end > size:
                raise IngestInputError(f"{path}: not a readable WARC (cut short: the record at {start} "
                                       f"needs {end - size} more bytes)")
            handle.seek(end)


def check_gzip_complete(path: Path) -> None:
    """IngestInputError unless every gzip member of `path` is whole (a torn copy, a download cut short)."""
    inflater = zlib.decompressobj(zlib.MAX_WBITS | 16)
    fed = False
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            data = chunk
            while data:
                try:
                    inflater.decompress(data, 1 << 22)
                except zlib.error as exc:
                    raise IngestInputError(f"{path}: not a readable WARC (broken gzip data: {exc})") from None
                fed = True
                if inflater.eof:
                    data = inflater.unused_data
                    inflater, fed = zlib.decompressobj(zlib.MAX_WBITS | 16), False
                else:
                    data = inflater.unconsumed_tail
    if fed:
        raise IngestInputError(f"{path}: not a readable WARC (cut short: its last gzip record is incomplete)")


def read_wacz(path: Path) -> list[ArchivedPage]:
    """The pages of every archive/*.warc(.gz) of a WACZ, read from the zip (nothing extracted).

    A page's `warc_file` is `PACKAGE#archive/NAME` and its offset is within that member."""
    pages: list[ArchivedPage] = []
    with zipfile.ZipFile(path) as package:
        for name in sorted(n for n in package.namelist() if _is_archive_member(n)):
            with package.open(name) as member:
                pages.extend(_pages_of_stream(member, f"{path}#{name}"))
    return pages


# --- mirror directories -------------------------------------------------------------------

def walk_directory(root: Path) -> Iterator[tuple[Path, str]]:
    """(file, skip reason or '') for every file under `root`, in path order.

    HTTrack's project files (hts-cache/, and the index.html, logs and gifs it writes at the
    top of a project) are not pages of the site."""
    httrack_project = (root / HTTRACK_TOP).is_dir() or (root / "hts-log.txt").is_file()
    for file in sorted(p for p in root.rglob("*") if p.is_file()):
        relative = file.relative_to(root)
        if HTTRACK_TOP in relative.parts[:-1] or (httrack_project and len(relative.parts) == 1):
            yield file, SKIP_HTTRACK
        elif file.name.startswith("."):
            yield file, SKIP_NOT_HTML
        else:
            yield file, ""


def is_archive_name(path: Path) -> bool:
    return path.name.lower().endswith((".warc", ".warc.gz", ".wacz"))


def maybe_page(path: Path) -> bool:
    """A file of a mirror worth sniffing as HTML (wget saves `/listing/7` as a file `7`)."""
    return path.suffix.lower() not in ASSET_EXTENSIONS or "?" in path.name


def site_knows(site: SiteConfig, url: str) -> bool:
    """Whether one of the site YAML's url patterns (listing, vendor, grid) recognises `url`."""
    key = page_key(url)
    patterns = [site.listing.url_pattern, site.vendor.url_pattern if site.vendor else None,
                site.grid.url_pattern if site.grid else None]
    return any(p is not None and p.search(key) for p in patterns)


def mirror_url(site: SiteConfig, root: Path, file: Path, *, base_url: str = "", flat_names: bool = False) -> str:
    """The URL a saved file had, from its path under the mirror `root`.

    `root/host/a/b/index.html` -> `http://host/a/b/`; `root/host/a/b?x=1.html` -> `.../a/b?x=1`;
    without a host directory (or with `base_url`) the path is taken from `root` and the site
    is `base_url`.  `flat_names`: a file name holds the whole path with `_` for `/`, as a
    browser's "Save Page As" writes it (`http _host_listing_7_.htm`)."""
    relative = list(file.relative_to(root).parts) if file != root else [file.name]
    host = ""
    hosts = [n for n, part in enumerate(relative[:-1]) if _HOST.match(part)]
    if hosts:  # root/host/... or root/2015-03-01/host/... (the archives' market/date/ folders)
        host, relative = relative[hosts[0]], relative[hosts[0] + 1:]
    elif root.is_dir() and _HOST.match(root.name) and file != root:
        host = root.name
    scheme = "http"
    if flat_names:
        saved_as = _SAVED_AS.match(relative[-1])
        if saved_as:
            scheme, host, rest = saved_as.group(1), saved_as.group(2), saved_as.group(3)
            relative[-1] = rest
        stem = re.sub(r"\.(html?|xhtml)$", "", relative[-1], flags=re.IGNORECASE)
        segments = [s for s in stem.split("_") if s]
        spelled = "/" + "/".join([*relative[:-1], *segments])
        candidates = [spelled + "/", spelled] if stem.endswith("_") else [spelled, spelled + "/"]
        default = candidates[0]
    else:
        candidates, default = _path_candidates(relative)
    if base_url:
        origin = base_url.rstrip("/")
    elif host:
        origin = f"{scheme}://{host}"
    else:
        raise IngestInputError(f"{file}: cannot tell the page's URL (no host directory such as "
                               f"'example.onion/' above it): give --base-url (or --url for one file)")
    urls = [origin + _quote_path(c) for c in candidates]
    return next((u for u in urls if site_knows(site, u)), origin + _quote_path(default))


def _path_candidates(parts: list[str]) -> tuple[list[str], str]:
    """(URL paths a mirror file may stand for, tried in this order against the site's
    patterns; the path taken when none is recognised)."""
    directory = "/" + "/".join(parts[:-1]) + ("/" if len(parts) > 1 else "")
    name = parts[-1]
    bare = re.sub(r"\.html?$", "", name, flags=re.IGNORECASE)
    if name.lower() in ("index.html", "index.htm"):
        return [directory, directory + name], directory
    if "?" in name:  # wget -E appends .html after the query string
        return [directory + bare, directory + name], directory + bare
    if bare != name:  # wget -E may have added the .html: the site's patterns tell
        return [directory + bare, directory + bare + "/", directory + name], directory + name
    return [directory + name, directory + name + "/"], directory + name


def _quote_path(path: str) -> str:
    """A file name's characters as a URL's (spaces and the like percent-encoded, `?`/`=` kept)."""
    return quote(path, safe="/?=&;:@!$'()*+,%~-._")


# --- capture time of a saved file -----------------------------------------------------------

def compile_date_pattern(pattern: str) -> re.Pattern[str]:
    try:
        compiled = re.compile(pattern)
    except re.error as exc:
        raise TrawlError(f"--date-from-path {pattern!r}: not a regular expression ({exc})") from None
    if compiled.groups < 1:
        raise TrawlError(f"--date-from-path {pattern!r}: needs a group around the date, e.g. '(\\d{{4}}-\\d{{2}}-\\d{{2}})'")
    return compiled


def date_from_path(pattern: re.Pattern[str], path: Path) -> str:
    """ISO-8601 UTC midnight of the date the pattern's `date` group (or first group) finds
    in `path` ('' when the path does not match or the date is not a date)."""
    found = pattern.search(path.as_posix())
    if found is None:
        return ""
    text = found.group("date") if "date" in pattern.groupindex else found.group(1)
    digits = re.sub(r"\D", "", text or "")
    try:
        day = datetime.strptime(digits, "%Y%m%d")
    except ValueError:
        return ""
    return day.strftime("%Y-%m-%dT00:00:00Z")


def mtime_iso(path: Path) -> str:
    stamp = datetime.fromtimestamp(path.stat().st_mtime, tz=timezone.utc)
    return stamp.strftime("%Y-%m-%dT%H:%M:%SZ")


def normalise_clock(clock: str) -> str:
    try:
        parsed = datetime.fromisoformat(clock.replace("Z", "+00:00"))
    except ValueError:
        raise TrawlError(f"--clock {clock!r}: expected an ISO-8601 time like 2017-06-24T12:00:00Z") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)  # a naive time is UTC
    return parsed.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
