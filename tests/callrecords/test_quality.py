"""CQD's stream classification at each threshold's edge, and the words that explain it."""

from __future__ import annotations

import pytest

from callrecords import quality
from callrecords.quality import GOOD, POOR, UNCLASSIFIED, Figures, classify

GOOD_AUDIO = {
    "jitter_ms": 10.0,
    "packet_loss": 0.01,
    "round_trip_ms": 80.0,
    "concealed_ratio": 0.01,
    "mos_degradation": 0.3,
}


@pytest.mark.parametrize(
    ("figure", "at_limit", "over_limit", "code"),
    [
        ("mos_degradation", 1.0, 1.01, "mos_degradation"),
        ("round_trip_ms", 500.0, 501.0, "round_trip"),
        ("packet_loss", 0.1, 0.1001, "packet_loss"),
        ("jitter_ms", 30.0, 30.5, "jitter"),
        ("concealed_ratio", 0.07, 0.0701, "concealed"),
    ],
)
def test_audio_is_poor_only_past_each_threshold(
    figure: str, at_limit: float, over_limit: float, code: str
) -> None:
    assert classify(Figures("audio", **{**GOOD_AUDIO, figure: at_limit})).verdict == GOOD
    verdict = classify(Figures("audio", **{**GOOD_AUDIO, figure: over_limit}))
    assert verdict.verdict == POOR and verdict.reasons == (code,)


def test_audio_with_several_breaches_names_them_all() -> None:
    verdict = classify(Figures("audio", **{**GOOD_AUDIO, "packet_loss": 0.14, "jitter_ms": 45.0}))
    assert verdict.reasons == ("packet_loss", "jitter")


def test_audio_with_no_figures_is_unclassified_and_one_figure_is_enough() -> None:
    assert classify(Figures("audio")).verdict == UNCLASSIFIED
    assert classify(Figures("audio", jitter_ms=31.0)).verdict == POOR
    assert classify(Figures("audio", jitter_ms=12.0)).verdict == GOOD


def test_video_takes_the_first_available_figure_in_cqd_order() -> None:
    # Frame loss decides when reported, even if the frame rate would say otherwise.
    assert (
        classify(Figures("video", video_frame_loss_pct=50.0, video_frame_rate=1.0)).verdict == GOOD
    )
    assert classify(Figures("video", video_frame_loss_pct=50.1)).reasons == ("frame_loss",)
    assert classify(Figures("video", video_frame_rate=7.0)).verdict == GOOD
    assert classify(Figures("video", video_frame_rate=6.9)).reasons == ("frame_rate",)
    assert classify(Figures("video", post_fec_loss=0.15)).verdict == GOOD
    assert classify(Figures("video", post_fec_loss=0.151)).reasons == ("post_fec_loss",)
    assert classify(Figures("video")).verdict == UNCLASSIFIED


def test_screen_sharing_accepts_a_lower_frame_rate_than_video() -> None:
    assert classify(Figures("vbss", video_frame_rate=2.0)).verdict == GOOD
    assert classify(Figures("vbss", video_frame_rate=1.9)).verdict == POOR
    assert classify(Figures("video", video_frame_rate=2.0)).verdict == POOR


def test_other_media_are_unclassified() -> None:
    assert classify(Figures("other", jitter_ms=100.0)).verdict == UNCLASSIFIED


@pytest.mark.parametrize(
    ("label", "modality"),
    [
        ("main-audio", "audio"),
        ("main-video", "video"),
        ("applicationsharing-video", "vbss"),
        ("data", "other"),
        (None, "other"),
    ],
)
def test_media_labels_name_their_modality(label: str | None, modality: str) -> None:
    assert quality.modality_of(label) == modality


@pytest.mark.parametrize(
    ("connection", "band", "kind"),
    [
        ("wired", None, "wired"),
        ("wifi", "frequency24GHz", "wifi-24"),
        ("wifi", "frequency50GHz", "wifi-5"),
        ("wifi", "unknownFutureValue", "wifi"),
        ("tunnel", None, "vpn"),
        ("mobile", None, "mobile"),
        ("unknownFutureValue", None, "unknown"),
        (None, None, "unknown"),
    ],
)
def test_network_kinds(connection: str | None, band: str | None, kind: str) -> None:
    assert quality.network_kind(connection, band) == kind


def test_a_poor_stream_is_explained_in_words() -> None:
    figures = Figures("audio", packet_loss=0.14, jitter_ms=41.0)
    text = quality.explain(figures, ("packet_loss", "jitter"), "wifi-24", 22)
    assert text == "packet loss 14 %, jitter 41 ms on Wi-Fi 2.4 GHz (signal 22 %)"
    assert quality.explain(figures, ("packet_loss",), "vpn", None) == "packet loss 14 % on VPN"


def test_likely_causes() -> None:
    def cause(**kwargs: object) -> str | None:
        base: dict[str, object] = {
            "own_poor": True,
            "network": "wired",
            "wifi_signal": None,
            "device_glitch": None,
            "others_poor": False,
        }
        return quality.likely_cause(**{**base, **kwargs})  # type: ignore[arg-type]

    assert cause(network="wifi-24") == "weak-wifi"
    assert cause(network="wifi-5", wifi_signal=20) == "weak-wifi"
    assert cause(network="vpn") == "vpn"
    assert cause(network="mobile") == "cellular"
    assert cause(network="wired") == "network"
    assert cause(own_poor=False, device_glitch=0.3) == "device"
    assert cause(own_poor=False, others_poor=True) == "others"
    assert cause(own_poor=False) is None
