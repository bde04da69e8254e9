"""The design system's promises: readable colours, a shape for every presence, nothing remote."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "static"
TEMPLATES = ROOT / "templates"
PORTAL_CSS = (STATIC / "css" / "portal.css").read_text()
PRESENCE_CSS = (STATIC / "css" / "presence.css").read_text()

# Graph's presence values (availability and activity), as the presence resource documents them.
# https://learn.microsoft.com/graph/api/resources/presence
AVAILABILITY = [
    "Available",
    "AvailableIdle",
    "Away",
    "BeRightBack",
    "Busy",
    "BusyIdle",
    "DoNotDisturb",
    "Offline",
    "PresenceUnknown",
]
ACTIVITY = [
    "Available",
    "Away",
    "BeRightBack",
    "Busy",
    "DoNotDisturb",
    "InACall",
    "InAConferenceCall",
    "Inactive",
    "InAMeeting",
    "Offline",
    "OffWork",
    "OutOfOffice",
    "PresenceUnknown",
    "Presenting",
    "UrgentInterruptionsOnly",
    "Focusing",
]


def tokens(css_block: str) -> dict[str, str]:
    return dict(re.findall(r"--([\w-]+):\s*(#[0-9a-fA-F]{6})\b", css_block))


def theme_tokens() -> dict[str, dict[str, str]]:
    dark_start = PORTAL_CSS.index("@media (prefers-color-scheme: dark)")
    light = tokens(PORTAL_CSS[:dark_start])
    dark = {**light, **tokens(PORTAL_CSS[dark_start : PORTAL_CSS.index("/* ---------- Base")])}
    return {"light": light, "dark": dark}


def relative_luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(foreground: str, background: str) -> float:
    lighter, darker = sorted(
        (relative_luminance(foreground), relative_luminance(background)), reverse=True
    )
    return (lighter + 0.05) / (darker + 0.05)


def mix(colour: str, background: str, share: float) -> str:
    """Return ``share`` of ``colour`` over ``background``, as CSS color-mix does in sRGB."""
    channels = [
        round(int(colour[i : i + 2], 16) * share + int(background[i : i + 2], 16) * (1 - share))
        for i in (1, 3, 5)
    ]
    return "#" + "".join(f"{channel:02x}" for channel in channels)


TEXT_PAIRS = [
    ("color-text", "color-bg"),
    ("color-text", "color-surface"),
    ("color-text", "color-surface-sunken"),
    ("color-text", "color-primary-soft"),
    ("color-text-muted", "color-bg"),
    ("color-text-muted", "color-surface"),
    ("color-text-muted", "color-surface-sunken"),
    ("color-link", "color-bg"),
    ("color-link", "color-surface"),
    ("color-on-primary", "color-primary"),
    ("color-on-primary", "color-primary-hover"),
    ("color-on-danger", "color-danger"),
    ("color-on-danger", "color-danger-hover"),
    ("color-danger", "color-surface"),
    ("color-primary", "color-primary-soft"),
    ("color-text", "color-info-bg"),
    ("color-text", "color-success-bg"),
    ("color-text", "color-warning-bg"),
    ("color-text", "color-error-bg"),
]
# Borders, focus rings and icons need 3:1 against what they sit on (WCAG 1.4.11).
UI_PAIRS = [
    ("color-border-strong", "color-surface"),
    ("color-border-strong", "color-bg"),
    ("color-focus", "color-surface"),
    ("color-focus", "color-bg"),
    ("color-success-border", "color-success-bg"),
    ("color-warning-border", "color-warning-bg"),
    ("color-error-border", "color-error-bg"),
    ("color-info-border", "color-info-bg"),
]
PRESENCE_TOKENS = [
    "presence-available",
    "presence-away",
    "presence-busy",
    "presence-do-not-disturb",
    "presence-offline",
    "presence-out-of-office",
]


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_text_colours_meet_wcag_aa(theme: str) -> None:
    palette = theme_tokens()[theme]
    failing = {
        (fg, bg): round(contrast(palette[fg], palette[bg]), 2)
        for fg, bg in TEXT_PAIRS
        if contrast(palette[fg], palette[bg]) < 4.5
    }
    assert failing == {}


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_borders_focus_rings_and_presence_icons_stand_out(theme: str) -> None:
    palette = theme_tokens()[theme]
    pairs = [*UI_PAIRS]
    for token in PRESENCE_TOKENS:
        badge_tint = mix(palette[token], palette["color-surface"], 0.10)
        palette[f"{token}-tint"] = badge_tint
        pairs += [(token, "color-surface"), (token, "color-bg"), (token, f"{token}-tint")]
    failing = {
        (fg, bg): round(contrast(palette[fg], palette[bg]), 2)
        for fg, bg in pairs
        if contrast(palette[fg], palette[bg]) < 3
    }
    assert failing == {}


def presence_rules() -> dict[str, dict[str, str]]:
    """Map each .presence-<value> class to the custom properties its rule sets."""
    rules: dict[str, dict[str, str]] = {}
    for selectors, body in re.findall(r"([^{}]+)\{([^{}]*)\}", PRESENCE_CSS):
        declarations = dict(re.findall(r"(--presence-[\w-]+):\s*([^;]+);", body))
        for selector in selectors.split(","):
            name = selector.strip()
            if re.fullmatch(r"\.presence-[a-z]+", name):
                rules[name[1:]] = declarations
    return rules


def test_every_graph_presence_value_has_a_colour_and_a_shape() -> None:
    rules = presence_rules()
    missing = [
        value
        for value in sorted(set(AVAILABILITY + ACTIVITY))
        if not {"--presence-color", "--presence-shape"}
        <= set(rules.get(f"presence-{value.lower()}", {}))
    ]
    assert missing == []


# The ten statuses the home page's legend lists, each promised a shape of its own.
LEGEND = [
    "available",
    "away",
    "berightback",
    "busy",
    "inacall",
    "donotdisturb",
    "presenting",
    "outofoffice",
    "offline",
    "presenceunknown",
]


def test_each_of_the_ten_legend_statuses_has_a_shape_of_its_own() -> None:
    rules = presence_rules()
    shapes = {status: rules[f"presence-{status}"]["--presence-shape"] for status in LEGEND}
    assert len(set(shapes.values())) == len(LEGEND), shapes
    assert rules["presence-inaconferencecall"] == rules["presence-inacall"]
    assert rules["presence-focusing"]["--presence-shape"] == shapes["donotdisturb"]


def test_a_shaped_activity_wins_over_its_availability() -> None:
    # A badge reads class="presence-busy presence-inacall": the activity's rule comes later.
    order = [match.group(1) for match in re.finditer(r"\.presence-([a-z]+)\b", PRESENCE_CSS)]
    for activity, availability in [
        ("inacall", "busy"),
        ("presenting", "donotdisturb"),
        ("outofoffice", "away"),
        ("outofoffice", "offline"),
    ]:
        assert max(i for i, n in enumerate(order) if n == activity) > max(
            i for i, n in enumerate(order) if n == availability
        )


def test_each_presence_colour_group_has_its_own_shape() -> None:
    rules = presence_rules()
    groups = ["available", "away", "busy", "donotdisturb", "offline", "outofoffice"]
    shapes = [rules[f"presence-{group}"]["--presence-shape"] for group in groups]
    assert len(set(shapes)) == len(groups)
    for shape in shapes:
        name = shape.strip().removeprefix("var(").removesuffix(")")
        assert re.search(rf"{re.escape(name)}:\s*url\(\"data:image/svg\+xml,", PRESENCE_CSS)


def shipped_files() -> list[Path]:
    return sorted(
        path
        for folder in (STATIC, TEMPLATES)
        for path in folder.rglob("*")
        if path.suffix in {".html", ".css", ".js", ".svg"}
    )


def test_nothing_is_fetched_from_outside_the_portal() -> None:
    # SVG namespace identifiers are names, not requests.
    remote = re.compile(r"""(?:https?:)?//(?!www\.w3\.org/2000/svg)[\w.-]+\.[a-z]{2,}""")
    offenders = {
        str(path.relative_to(ROOT)): remote.findall(path.read_text())
        for path in shipped_files()
        if remote.search(path.read_text())
    }
    assert offenders == {}


def test_every_static_reference_in_templates_exists() -> None:
    referenced = {
        match
        for path in TEMPLATES.rglob("*.html")
        for match in re.findall(r"""\{%\s*static\s+['"]([^'"]+)['"]\s*%\}""", path.read_text())
    }
    assert referenced >= {"css/portal.css", "css/presence.css", "js/portal.js", "img/favicon.svg"}
    assert sorted(ref for ref in referenced if not (STATIC / ref).is_file()) == []


def test_shell_sets_focus_outlines_and_honours_reduced_motion() -> None:
    assert re.search(r":focus-visible\s*\{[^}]*outline:\s*3px solid", PORTAL_CSS)
    assert "@media (prefers-reduced-motion: reduce)" in PORTAL_CSS
    assert "@media (prefers-color-scheme: dark)" in PORTAL_CSS
