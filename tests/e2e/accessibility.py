"""axe-core, fetched once from the npm registry, and the checks the accessibility tests share."""

from __future__ import annotations

import shutil
import subprocess
import tarfile
from pathlib import Path
from typing import Any

from playwright.sync_api import Page

REPO = Path(__file__).resolve().parents[2]
# Kept between runs (var/ is never committed); a fresh machine fetches it once.
AXE_CACHE = REPO / "var" / "test-cache" / "axe-core"
AXE_VERSION = "4"
SERIOUS = {"serious", "critical"}

# Every id an ARIA attribute names must exist on the page, or the reference says nothing.
MISSING_REFERENCES_JS = """() => {
  const missing = [];
  for (const name of ["aria-describedby", "aria-labelledby", "aria-controls"]) {
    for (const element of document.querySelectorAll("[" + name + "]")) {
      for (const id of element.getAttribute(name).split(/\\s+/).filter(Boolean)) {
        if (!document.getElementById(id)) missing.push(name + "=" + id);
      }
    }
  }
  return missing;
}"""

OVERFLOW_JS = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
# The elements reaching past the window's right edge, to say what made a page too wide.
TOO_WIDE_JS = """() => {
  const width = document.documentElement.clientWidth;
  return Array.from(document.querySelectorAll("body *"))
    .filter((element) => element.getBoundingClientRect().right > width + 0.5)
    .slice(0, 8)
    .map((element) => element.tagName.toLowerCase() + (element.id ? "#" + element.id : "") +
      (element.className && typeof element.className === "string"
        ? "." + element.className.trim().split(/\\s+/).join(".") : "") +
      " (right edge " + Math.round(element.getBoundingClientRect().right) + ")");
}"""


def axe_source() -> str:
    """Return axe-core's script, packing it from the npm registry the first time."""
    script = AXE_CACHE / "package" / "axe.min.js"
    if not script.exists():
        npm = shutil.which("npm")
        if npm is None:
            raise RuntimeError("the accessibility tests need npm (apt-get install nodejs npm)")
        AXE_CACHE.mkdir(parents=True, exist_ok=True)
        packed = subprocess.run(
            [npm, "pack", f"axe-core@{AXE_VERSION}", "--pack-destination", str(AXE_CACHE)],
            check=True,
            capture_output=True,
            text=True,
            timeout=300,
        )
        tarball = AXE_CACHE / packed.stdout.strip().splitlines()[-1]
        with tarfile.open(tarball) as archive:
            archive.extract("package/axe.min.js", AXE_CACHE, filter="data")
        tarball.unlink()
    return script.read_text(encoding="utf-8")


def serious_violations(page: Page, source: str) -> list[str]:
    """Run axe on the page; return its serious and critical violations, one line each."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(content=source)
    result: dict[str, Any] = page.evaluate("() => axe.run(document)")
    return [
        f"{violation['id']} ({violation['impact']}): "
        + ", ".join(str(node["target"]) for node in violation["nodes"][:5])
        for violation in result["violations"]
        if violation["impact"] in SERIOUS
    ]


def missing_references(page: Page) -> list[str]:
    """Return each aria-describedby/-labelledby/-controls id the page names but lacks."""
    missing: list[str] = page.evaluate(MISSING_REFERENCES_JS)
    return missing


def sideways_overflow(page: Page) -> int:
    """Return by how many pixels the page is wider than the window (0: no sideways scroll)."""
    overflow: int = page.evaluate(OVERFLOW_JS)
    return overflow


def too_wide(page: Page) -> list[str]:
    """Return the elements that reach past the window's right edge, named by tag and class."""
    found: list[str] = page.evaluate(TOO_WIDE_JS)
    return found
