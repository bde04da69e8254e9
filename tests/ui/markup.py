"""Read rendered HTML back as elements so tests can ask for tags and attributes."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

VOID_TAGS = {"meta", "link", "input", "br", "img", "hr", "source", "rect", "circle", "path"}


@dataclass
class Element:
    """One start tag with its attributes and the text inside it."""

    tag: str
    attrs: dict[str, str | None]
    parent: Element | None = None
    text_parts: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        """Return the element's text with whitespace collapsed."""
        return " ".join("".join(self.text_parts).split())

    @property
    def classes(self) -> set[str]:
        """Return the element's CSS classes."""
        return set((self.attrs.get("class") or "").split())


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[Element] = []
        self._open: list[Element] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        parent = self._open[-1] if self._open else None
        element = Element(tag=tag, attrs=dict(attrs), parent=parent)
        self.elements.append(element)
        if tag not in VOID_TAGS:
            self._open.append(element)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        parent = self._open[-1] if self._open else None
        self.elements.append(Element(tag=tag, attrs=dict(attrs), parent=parent))

    def handle_endtag(self, tag: str) -> None:
        for index in range(len(self._open) - 1, -1, -1):
            if self._open[index].tag == tag:
                del self._open[index:]
                break

    def handle_data(self, data: str) -> None:
        for element in self._open:
            element.text_parts.append(data)


def elements(html: str) -> list[Element]:
    """Return every element of ``html`` in document order."""
    collector = _Collector()
    collector.feed(html)
    collector.close()
    return collector.elements


def find_all(html: str, tag: str, **attrs: str) -> list[Element]:
    """Return the ``tag`` elements whose attributes equal ``attrs`` (use class_ for class)."""
    wanted = {name.rstrip("_").replace("_", "-"): value for name, value in attrs.items()}
    return [
        element
        for element in elements(html)
        if element.tag == tag
        and all(element.attrs.get(name) == value for name, value in wanted.items())
    ]


def links_named(html: str, name: str) -> list[Element]:
    """Return the links whose visible text is ``name``."""
    return [link for link in find_all(html, "a") if link.text == name]


def is_inside(element: Element, tag: str, **attrs: str) -> bool:
    """Return whether some ancestor of ``element`` is a ``tag`` with ``attrs``."""
    wanted = {name.rstrip("_").replace("_", "-"): value for name, value in attrs.items()}
    ancestor = element.parent
    while ancestor is not None:
        if ancestor.tag == tag and all(ancestor.attrs.get(k) == v for k, v in wanted.items()):
            return True
        ancestor = ancestor.parent
    return False
