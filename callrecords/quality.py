"""Stream classification as Teams' Call Quality Dashboard does it, and causes in plain words.

The thresholds are CQD's published stream classification ("Stream Classification in Call
Quality Dashboard", Microsoft Teams admin documentation, source file
Teams/stream-classification-in-call-quality-dashboard.md of MicrosoftDocs/
OfficeDocs-SkypeForBusiness at commit 0cf71a8a):

* Audio is Poor if one or more of: Audio Degradation Avg (network MOS degradation) > 1.0,
  Round Trip > 500 ms, Packet Loss Rate > 0.1, Jitter > 30 ms, Ratio Concealed Samples
  Avg > 0.07. With none of these figures reported it is Unclassified.
* Video is classified by the first available of: Video Local Frame Loss Percentage Avg
  > 50 % (Poor, else Good), Video Frame Rate Avg < 7 (Poor, else Good), Video Post FECPLR
  > 0.15 (Poor, else Good); with none of them, Unclassified.
* Video-based screen sharing (VBSS) likewise, with a frame rate under 2 being Poor.

A later revision of that page keeps only round trip, packet loss and jitter for audio and
adds "Packet Utilization > 500 packets"; the portal follows the five-figure revision above,
which also catches the concealment a failing headset causes.

Everything else here (what counts as a weak Wi-Fi signal, a misbehaving device, the tips) is
the portal's own plain-language reading of the figures, not CQD's.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

GOOD = "good"
POOR = "poor"
UNCLASSIFIED = "unclassified"

AUDIO_DEGRADATION_MAX = 1.0
ROUND_TRIP_MAX_MS = 500.0
PACKET_LOSS_MAX = 0.1
JITTER_MAX_MS = 30.0
CONCEALED_RATIO_MAX = 0.07
VIDEO_FRAME_LOSS_MAX_PCT = 50.0
VIDEO_FRAME_RATE_MIN = 7.0
VBSS_FRAME_RATE_MIN = 2.0
VIDEO_POST_FEC_LOSS_MAX = 0.15

# The portal's own reading of the network and device figures.
WEAK_WIFI_SIGNAL_PCT = 40
DEVICE_GLITCH_RATIO_MAX = 0.1

NETWORK_LABELS = {
    "wired": "Wired",
    "wifi-5": "Wi-Fi 5 GHz",
    "wifi-6": "Wi-Fi 6 GHz",
    "wifi-24": "Wi-Fi 2.4 GHz",
    "wifi": "Wi-Fi (band unknown)",
    "vpn": "VPN",
    "mobile": "Cellular",
    "unknown": "Unknown",
}


@dataclass(frozen=True)
class Figures:
    """The figures of one stream the classification reads (None when not reported)."""

    modality: str  # audio, video, vbss, other
    jitter_ms: float | None = None
    packet_loss: float | None = None
    round_trip_ms: float | None = None
    concealed_ratio: float | None = None
    mos_degradation: float | None = None
    video_frame_rate: float | None = None
    video_frame_loss_pct: float | None = None
    post_fec_loss: float | None = None


@dataclass(frozen=True)
class Verdict:
    """A stream's class and the reason codes that made it Poor."""

    verdict: str
    reasons: tuple[str, ...] = ()


def modality_of(label: str | None) -> str:
    """Tell audio, video and screen sharing apart by the media label."""
    text = (label or "").lower()
    if "applicationsharing" in text or "vbss" in text or "screen" in text:
        return "vbss"
    if "audio" in text:
        return "audio"
    if "video" in text:
        return "video"
    return "other"


def classify(figures: Figures) -> Verdict:
    """Classify one stream as Good, Poor or Unclassified by CQD's rules."""
    if figures.modality == "audio":
        checks = (
            ("mos_degradation", figures.mos_degradation, AUDIO_DEGRADATION_MAX),
            ("round_trip", figures.round_trip_ms, ROUND_TRIP_MAX_MS),
            ("packet_loss", figures.packet_loss, PACKET_LOSS_MAX),
            ("jitter", figures.jitter_ms, JITTER_MAX_MS),
            ("concealed", figures.concealed_ratio, CONCEALED_RATIO_MAX),
        )
        reported = [(code, value, limit) for code, value, limit in checks if value is not None]
        if not reported:
            return Verdict(UNCLASSIFIED)
        reasons = tuple(code for code, value, limit in reported if value > limit)
        return Verdict(POOR, reasons) if reasons else Verdict(GOOD)
    if figures.modality in ("video", "vbss"):
        if figures.video_frame_loss_pct is not None:
            if figures.video_frame_loss_pct > VIDEO_FRAME_LOSS_MAX_PCT:
                return Verdict(POOR, ("frame_loss",))
            return Verdict(GOOD)
        floor = VIDEO_FRAME_RATE_MIN if figures.modality == "video" else VBSS_FRAME_RATE_MIN
        if figures.video_frame_rate is not None:
            if figures.video_frame_rate < floor:
                return Verdict(POOR, ("frame_rate",))
            return Verdict(GOOD)
        if figures.post_fec_loss is not None:
            if figures.post_fec_loss > VIDEO_POST_FEC_LOSS_MAX:
                return Verdict(POOR, ("post_fec_loss",))
            return Verdict(GOOD)
    return Verdict(UNCLASSIFIED)


def network_kind(connection_type: str | None, wifi_band: str | None) -> str:
    """Name the network an endpoint used: wired, Wi-Fi by band, VPN, cellular or unknown."""
    connection = (connection_type or "").lower()
    if connection == "wired":
        return "wired"
    if connection == "wifi":
        band = (wifi_band or "").lower()
        if band == "frequency24ghz":
            return "wifi-24"
        if band == "frequency50ghz":
            return "wifi-5"
        if band == "frequency60ghz":
            return "wifi-6"
        return "wifi"
    if connection == "tunnel":
        return "vpn"
    if connection == "mobile":
        return "mobile"
    return "unknown"


def percent(ratio: float) -> str:
    """Write a ratio as a percentage with at most one decimal."""
    value = ratio * 100
    return f"{value:.0f} %" if value >= 10 or value == int(value) else f"{value:.1f} %"


def describe_reason(code: str, figures: Figures) -> str:
    """Say in words what one reason code measured."""
    if code == "packet_loss" and figures.packet_loss is not None:
        return f"packet loss {percent(figures.packet_loss)}"
    if code == "jitter" and figures.jitter_ms is not None:
        return f"jitter {figures.jitter_ms:.0f} ms"
    if code == "round_trip" and figures.round_trip_ms is not None:
        return f"round trip {figures.round_trip_ms:.0f} ms"
    if code == "concealed" and figures.concealed_ratio is not None:
        return f"{percent(figures.concealed_ratio)} of the audio concealed"
    if code == "mos_degradation" and figures.mos_degradation is not None:
        return f"network MOS degradation {figures.mos_degradation:.1f}"
    if code == "frame_loss" and figures.video_frame_loss_pct is not None:
        return f"{figures.video_frame_loss_pct:.0f} % of video frames lost"
    if code == "frame_rate" and figures.video_frame_rate is not None:
        return f"video at {figures.video_frame_rate:.1f} frames a second"
    if code == "post_fec_loss" and figures.post_fec_loss is not None:
        return f"video packet loss after correction {percent(figures.post_fec_loss)}"
    return code.replace("_", " ")


def describe_network(network: str, wifi_signal: int | None) -> str:
    """Say in words which network an endpoint used."""
    label = NETWORK_LABELS.get(network, "an unknown network")
    if network.startswith("wifi") and wifi_signal is not None:
        return f"{label} (signal {wifi_signal} %)"
    return label


def explain(figures: Figures, reasons: Iterable[str], network: str, wifi_signal: int | None) -> str:
    """Explain a Poor stream: what went wrong, and on which network."""
    parts = [describe_reason(code, figures) for code in reasons]
    if not parts:
        return ""
    return f"{', '.join(parts)} on {describe_network(network, wifi_signal)}"


# Likely causes, from what a person's own endpoint shows, with a tip for each.
CAUSES = {
    "weak-wifi": (
        "weak Wi-Fi",
        "Your Wi-Fi was weak. Sit closer to the access point, use the 5 GHz network, or plug "
        "in a cable for calls.",
    ),
    "vpn": (
        "the VPN",
        "Your calls went through the VPN, which adds delay. Ask IT whether Teams traffic can "
        "bypass it, or disconnect from the VPN for calls when policy allows.",
    ),
    "device": (
        "your headset or microphone",
        "Your headset or microphone kept glitching. Try another headset, or unplug it and "
        "plug it in again and check its driver.",
    ),
    "cellular": (
        "the mobile network",
        "You were on a mobile network. Use Wi-Fi or a wired network for calls when you can.",
    ),
    "network": (
        "your network",
        "Your network lost or delayed audio. If it keeps happening, tell IT where you were "
        "sitting, so they can look at that network.",
    ),
    "others": (
        "the other side's connection",
        "",
    ),
}


def likely_cause(
    *,
    own_poor: bool,
    network: str,
    wifi_signal: int | None,
    device_glitch: float | None,
    others_poor: bool,
) -> str | None:
    """Name the likely cause of a person's poor call, as a key of CAUSES; None when good."""
    if device_glitch is not None and device_glitch > DEVICE_GLITCH_RATIO_MAX:
        return "device"
    if own_poor:
        if network == "wifi-24" or (
            network.startswith("wifi")
            and wifi_signal is not None
            and wifi_signal < WEAK_WIFI_SIGNAL_PCT
        ):
            return "weak-wifi"
        if network == "vpn":
            return "vpn"
        if network == "mobile":
            return "cellular"
        return "network"
    if others_poor:
        return "others"
    return None


PRODUCT_NAMES = {"teams": "Teams", "skypeForBusiness": "Skype for Business", "lync": "Lync"}
PLATFORM_NAMES = {
    "windows": "Windows",
    "macOS": "macOS",
    "iOS": "iOS",
    "android": "Android",
    "web": "the web",
    "ipPhone": "an IP phone",
    "roomSystem": "a room system",
    "surfaceHub": "Surface Hub",
}


def client_words(product_family: str, platform: str) -> str:
    """Name a client in words: "Teams on Windows"."""
    product = PRODUCT_NAMES.get(product_family, product_family)
    where = PLATFORM_NAMES.get(platform, platform)
    if product and where:
        return f"{product} on {where}"
    return product or where or "Unknown client"
