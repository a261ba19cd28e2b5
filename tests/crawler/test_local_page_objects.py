"""A page object kept beside its YAML (`page_object: mysite:MyListing`, mysite.py in a site
folder) is found without PYTHONPATH, by `trawl sites check`, `trawl sites test` and a
crawl; a missing file or class, or a class that is not a page object, is one FILE:LINE
error naming the field; a module name cannot reach outside the site folders."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.crawler.conftest import REPO, crawl_env, trawl
from tests.crawler.test_gates import QUIRKY_YAML, Quirky

PAGE_OBJECT = '''\
from crawler.sitedef.pages.base import SelectorPage


class MyListing(SelectorPage):
    def field_title(self):
        return "custom " + (self.text_of("h1") or "?")


class NotAPage:
    pass
'''

SAVED = "<html><body><h1>Item 7</h1><span class='price'>$17.00</span></body></html>"


def site_yaml(page_object: str) -> str:
    return QUIRKY_YAML.replace("  fields:\n", f"  page_object: {page_object}\n  fields:\n")


def env_without_repo_on_path(home: Path, sites: Path) -> dict[str, str]:
    env = crawl_env(home, {"TRAWL_SITES_DIR": str(sites), "QUIRKY_URL": "http://127.0.0.1:9"})
    env.pop("PYTHONPATH")  # the CLI runs from the repo (cwd); the site folder is on no path
    return env


@pytest.fixture
def sites(tmp_path: Path) -> Path:
    folder = tmp_path / "sites"
    folder.mkdir()
    (folder / "quirky.py").write_text(PAGE_OBJECT)
    (folder / "quirky.yaml").write_text(site_yaml("quirky:MyListing"))
    (tmp_path / "item.html").write_text(SAVED)
    return folder


def test_check_and_test_use_the_class_beside_the_yaml(sites: Path, tmp_path: Path) -> None:
    env = env_without_repo_on_path(tmp_path / "home", sites)
    check = trawl(["sites", "check", str(sites / "quirky.yaml")], env)
    assert check.returncode == 0 and "ok (site quirky" in check.stdout, check.stderr
    shown = trawl(["sites", "test", str(sites / "quirky.yaml"), str(tmp_path / "item.html"), "--kind", "listing",
                   "--json"], env)
    assert shown.returncode == 0, shown.stderr
    fields = json.loads(shown.stdout)["fields"]
    assert fields["title"] == "custom Item 7" and fields["price"] == "$17.00"


@pytest.mark.parametrize(("page_object", "expected"), [
    ("nosuch:MyListing", "no nosuch.py in the site folders"),
    ("quirky:Missing", "quirky.py defines no class 'Missing'"),
    ("quirky:NotAPage", "quirky:NotAPage is not a subclass of crawler.sitedef.pages.base.SelectorPage"),
    ("../evil:MyListing", "expected mysite:MyPage"),
])
def test_unusable_page_object_is_a_file_line_field_error(sites: Path, tmp_path: Path, page_object: str,
                                                         expected: str) -> None:
    (sites / "quirky.yaml").write_text(site_yaml(page_object))
    check = trawl(["sites", "check", str(sites / "quirky.yaml")], env_without_repo_on_path(tmp_path / "home", sites))
    assert check.returncode == 2
    line = next(row for row in check.stderr.splitlines() if "page_object" in row)
    assert line.startswith(f"{sites / 'quirky.yaml'}:16: listing.page_object: ") and expected in line, line


def test_syntax_error_names_the_python_file_and_line(sites: Path, tmp_path: Path) -> None:
    (sites / "quirky.py").write_text(PAGE_OBJECT + "\ndef broken(:\n")
    check = trawl(["sites", "check", str(sites / "quirky.yaml")], env_without_repo_on_path(tmp_path / "home", sites))
    assert check.returncode == 2 and f"{sites / 'quirky.py'}:12:" in check.stderr, check.stderr


def test_namesakes_in_two_site_folders_stay_apart(tmp_path: Path) -> None:
    """Each YAML gets the mysite.py of its own folder, though both are 'mysite'."""
    folders = [tmp_path / "a", tmp_path / "b"]
    for folder in folders:
        folder.mkdir()
        (folder / "mysite.py").write_text(PAGE_OBJECT.replace('"custom "', f'"from {folder.name} "'))
        (folder / "quirky.yaml").write_text(site_yaml("mysite:MyListing"))
    script = (
        "import sys\n"
        "from crawler.sitedef.pages import PageInput, read_item\n"
        "from crawler.sitedef.siteconfig import load_site_file\n"
        "for path in sys.argv[1:]:\n"
        f"    item = read_item(load_site_file(path), PageInput(url='http://x/item/7', text={SAVED!r}), 'listing')\n"
        "    print(item.fields['title'])\n")
    env = crawl_env(tmp_path / "home", {"TRAWL_SITES_DIR": f"{folders[0]}:{folders[1]}", "QUIRKY_URL": "http://x"})
    out = subprocess.run([sys.executable, "-c", script, *(str(f / "quirky.yaml") for f in folders)], env=env, cwd=REPO,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("\n")[:2] == ["from a Item 7", "from b Item 7"]


def test_crawl_extracts_with_the_local_page_object(sites: Path, tmp_path: Path) -> None:
    server = Quirky()
    server.start()
    try:
        env = env_without_repo_on_path(tmp_path / "home", sites)
        env["QUIRKY_URL"] = server.url
        cookies = tmp_path / "cookies.txt"
        cookies.write_text("# Netscape HTTP Cookie File\n127.0.0.1\tFALSE\t/\tFALSE\t0\tcf_clearance\thuman-ok\n")
        assert trawl(["sites", "cookies", "import", "quirky", str(cookies)], env).returncode == 0
        run = trawl(["crawl", "quirky", "--json"], env)
        assert run.returncode == 0, run.stderr[-2000:]
        assert json.loads(run.stdout.strip().splitlines()[-1])["listings"] == 2
        export = trawl(["export", "listings", "--site", "quirky", "--format", "jsonl", "--out", "-"], env)
        titles = sorted(json.loads(line)["title"] for line in export.stdout.splitlines() if line.strip())
        assert titles == ["custom Item 1", "custom Item 2"], export.stderr[-1000:]
    finally:
        server.stop()
