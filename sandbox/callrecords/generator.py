"""Call records as Teams writes them, made up deterministically from a compact description.

https://learn.microsoft.com/graph/api/resources/callrecords-callrecord
A :class:`RecordSpec` says who talked to whom, when, and in what conditions (a wired desk, a
weak 2.4 GHz Wi-Fi, a VPN, a bad headset...); :func:`render_record` turns it into Graph's
``callRecord`` with its sessions, segments, media and streams, the same every time for the
same spec. Only the spec is kept, so a sandbox can hold a company's month of calls.
"""

from __future__ import annotations

import functools
import hashlib
import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

# The conditions an endpoint can be in during a call; each shapes its network, device and
# the quality figures of the streams it sends.
CONDITIONS = ("wired", "wifi-5", "wifi-24-weak", "vpn", "bad-headset", "cellular")
GOOD_CONDITIONS = ("wired", "wifi-5")

# People of the demo cast who have a recurring problem, so the dashboard has one to find.
TROUBLED = {
    "samuel.ortega": ("wifi-24-weak", 0.7),
    "lena.brandt": ("vpn", 0.6),
    "marcus.bell": ("bad-headset", 1.0),
}

OFFICE_SUBNETS = {
    "Harbour Tower 12": "10.12",
    "Harbour Tower 14": "10.14",
    "Riverside 2": "10.22",
    "Riverside 3": "10.23",
}
HOME_SUBNET = "192.168.1"
VPN_SUBNET = "10.200.0"
CELLULAR_SUBNET = "100.64.12"

CLIENTS = (
    ("windows", "teams", "CallSignalingAgent (Teams 24215.1007.3082.1590; Windows 10.0.22631)"),
    ("windows", "teams", "CallSignalingAgent (Teams 24215.1007.3082.1590; Windows 10.0.19045)"),
    ("macOS", "teams", "CallSignalingAgent (Teams 24215.1007.3082.1590; macOS 14.6)"),
    ("web", "teams", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/128.0 Teams/web"),
    ("iOS", "teams", "CallSignalingAgent (Teams 6.18.1; iOS 17.6)"),
)
DEVICES = (
    ("Jabra Evolve2 65", "Jabra Evolve2 65"),
    ("Poly Voyager 4320", "Poly Voyager 4320"),
    ("Logitech H390 USB Headset", "Logitech H390 USB Headset"),
    ("Microphone (Realtek(R) Audio)", "Speakers (Realtek(R) Audio)"),
    ("MacBook Pro Microphone", "MacBook Pro Speakers"),
)
BAD_HEADSET = ("Generic USB Audio Device", "Generic USB Audio Device")
SERVER_NAME = "Microsoft Teams conferencing server"
NAMESPACE = uuid.UUID("5f0c3c0e-9a4e-4a53-9d1e-2b7d1c1e0a11")
_NAMESPACE_BYTES = NAMESPACE.bytes


@dataclass(frozen=True, slots=True)
class Member:
    """Someone who can take part: a person of the tenant, or a guest."""

    id: str
    display_name: str
    user_principal_name: str | None
    office: str | None
    tenant_id: str | None


@dataclass(frozen=True, slots=True)
class Leg:
    """One session: a person's endpoint to another's (peer-to-peer) or to the meeting server."""

    caller: str  # member id
    callee: str | None  # member id; None for the conferencing server
    start: float
    end: float
    caller_condition: str
    callee_condition: str


@dataclass(slots=True)
class RecordSpec:
    """Everything a call record is made from."""

    id: str
    seed: int
    type: str  # peerToPeer or groupCall
    start: float
    end: float
    organizer: str
    modalities: tuple[str, ...]
    join_web_url: str | None
    legs: tuple[Leg, ...]
    available_at: float  # when the first version can be read
    second_version_at: float | None = None  # when a later version replaces it, if ever
    extra_versions: int = 0  # versions added by hand on top (control API)
    guests: dict[str, str] = field(default_factory=dict)

    def version_at(self, now: float) -> int:
        """Return the version visible at ``now``; 0 before the first."""
        if now < self.available_at:
            return 0
        version = 1
        if self.second_version_at is not None and now >= self.second_version_at:
            version = 2
        return version + self.extra_versions

    def participant_ids(self) -> list[str]:
        """Return every participant's id, in order of first appearance."""
        seen: dict[str, None] = {self.organizer: None}
        for leg in self.legs:
            seen.setdefault(leg.caller, None)
            if leg.callee is not None:
                seen.setdefault(leg.callee, None)
        return list(seen)


@functools.lru_cache(maxsize=8192)
def iso(timestamp: float) -> str:
    """Return Graph's UTC date-time text for ``timestamp``, to the millisecond."""
    # isoformat cuts to the millisecond as the text before did, a few times faster than
    # strftime; the offset "+00:00" becomes Graph's "Z".
    return datetime.fromtimestamp(timestamp, tz=UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


class _Draws(random.Random):
    """A generator whose ``randint`` draws exactly what ``random.Random``'s does, in one call.

    ``randint`` goes through ``randrange`` and ``_randbelow``, three calls with checks, and a
    record's sessions draw it a hundred times each time they are read: drawn here directly by
    the same rejection of ``getrandbits``, so every record stays what it was.
    """

    def randint(self, a: int, b: int) -> int:
        """Return a whole number in ``[a, b]``, the same one ``random.Random`` would."""
        width = b - a + 1
        bits = width.bit_length()
        drawn = self.getrandbits(bits)
        while drawn >= width:
            drawn = self.getrandbits(bits)
        return a + drawn


def duration(seconds: float) -> str:
    """Return an ISO 8601 duration such as ``PT0.016S``."""
    return f"PT{round(seconds, 3):g}S"


def record_id(seed_text: str) -> str:
    """Return a stable GUID for ``seed_text`` (the text of ``uuid.uuid5(NAMESPACE, ...)``)."""
    # As uuid5 computes it, without building a UUID object: a record's ids are made by the
    # dozen each time it is read.
    digest = bytearray(
        hashlib.sha1(_NAMESPACE_BYTES + seed_text.encode(), usedforsecurity=False).digest()[:16]
    )
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    text = digest.hex()
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def usual_condition(member: Member, rng: random.Random) -> str:
    """Pick the condition a person is in for one call: mostly good, sometimes not."""
    local = (member.user_principal_name or "").split("@")[0].lower()
    trouble = TROUBLED.get(local)
    if trouble is not None and rng.random() < trouble[1]:
        return trouble[0]
    roll = rng.random()
    if roll < 0.04:
        return "wifi-24-weak"
    if roll < 0.06:
        return "vpn"
    if roll < 0.075:
        return "cellular"
    if roll < 0.08:
        return "bad-headset"
    return "wired" if member.office and rng.random() < 0.6 else "wifi-5"


def _person_rng(member_id: str) -> random.Random:
    return random.Random(f"person:{member_id}")


# What is fixed for a person (their client, computer, headset, office floor) is drawn from a
# generator seeded by their id, the same in every record: drawn once and kept, as seeding a
# generator costs more than the rest of an endpoint. Bounded, as tenants are.
_PERSON_CACHE = 65_536


@functools.lru_cache(maxsize=_PERSON_CACHE)
def _user_agent(member_id: str) -> dict[str, Any]:
    platform, family, header = _person_rng(member_id).choice(CLIENTS)
    return {
        "@odata.type": "#microsoft.graph.callRecords.clientUserAgent",
        "headerValue": header,
        "platform": platform,
        "productFamily": family,
        "applicationVersion": None,
        "azureADAppId": None,
        "communicationServiceId": None,
    }


def _identity(member: Member) -> dict[str, Any]:
    if member.user_principal_name is None:
        return {"guest": {"id": member.id, "displayName": member.display_name}}
    return {
        "user": {
            "id": member.id,
            "displayName": member.display_name,
            "tenantId": member.tenant_id,
            "userPrincipalName": member.user_principal_name,
        }
    }


def _endpoint(member: Member | None, feedback: dict[str, Any] | None) -> dict[str, Any]:
    if member is None or feedback is None:
        return _endpoint_of(member)
    return {**_endpoint_of(member), "feedback": feedback}


@functools.lru_cache(maxsize=_PERSON_CACHE)
def _endpoint_of(member: Member | None) -> dict[str, Any]:
    """Return a person's endpoint (or the meeting server's); shared, so never changed."""
    if member is None:
        return {
            "@odata.type": "#microsoft.graph.callRecords.serviceEndpoint",
            "userAgent": {
                "@odata.type": "#microsoft.graph.callRecords.serviceUserAgent",
                "headerValue": "Microsoft.Lync.AVMCU/2024.10",
                "role": "conferencing",
            },
        }
    associated: dict[str, Any] = {"id": member.id, "displayName": member.display_name}
    if member.user_principal_name is not None:
        associated["tenantId"] = member.tenant_id
        associated["userPrincipalName"] = member.user_principal_name
    rng = _person_rng(member.id)
    body: dict[str, Any] = {
        "@odata.type": "#microsoft.graph.callRecords.participantEndpoint",
        "name": f"LT-{member.id[:6].upper()}",
        "userAgent": _user_agent(member.id),
        "associatedIdentity": associated,
        "cpuCoresCount": rng.choice((4, 8, 12)),
        "cpuName": rng.choice(("Intel(R) Core(TM) i7-1365U", "Apple M2", "AMD Ryzen 7 7840U")),
        "cpuProcessorSpeedInMhz": rng.choice((1800, 2400, 3200)),
    }
    return body


def _subnet_and_ip(member: Member | None, condition: str, rng: random.Random) -> tuple[str, str]:
    if member is None:
        return "52.113.64.0", f"52.113.64.{rng.randint(2, 250)}"
    if condition == "vpn":
        return f"{VPN_SUBNET}.0", f"{VPN_SUBNET}.{rng.randint(2, 250)}"
    if condition == "cellular":
        return f"{CELLULAR_SUBNET}.0", f"{CELLULAR_SUBNET}.{rng.randint(2, 250)}"
    prefix = OFFICE_SUBNETS.get(member.office or "")
    if prefix is None:
        return f"{HOME_SUBNET}.0", f"{HOME_SUBNET}.{rng.randint(2, 250)}"
    floor = _floor(member.id)
    return f"{prefix}.{floor}.0", f"{prefix}.{floor}.{rng.randint(2, 250)}"


@functools.lru_cache(maxsize=_PERSON_CACHE)
def _floor(member_id: str) -> int:
    return _person_rng(member_id).randint(1, 4)


@functools.lru_cache(maxsize=_PERSON_CACHE)
def _usual_devices(member_id: str) -> tuple[str, str]:
    return _person_rng(member_id).choice(DEVICES)


def _network(member: Member | None, condition: str, rng: random.Random) -> dict[str, Any]:
    subnet, address = _subnet_and_ip(member, condition, rng)
    body: dict[str, Any] = {
        "ipAddress": address,
        "subnet": subnet,
        "reflexiveIPAddress": f"203.0.113.{rng.randint(2, 250)}",
        "networkTransportProtocol": "udp",
        "bandwidthLowEventRatio": 0.0,
        "delayEventRatio": 0.0,
        "receivedQualityEventRatio": 0.0,
        "sentQualityEventRatio": 0.0,
    }
    if member is None or condition == "wired" or condition == "bad-headset":
        body.update(connectionType="wired", linkSpeed=1_000_000_000)
    elif condition == "wifi-5":
        body.update(
            connectionType="wifi",
            wifiBand="frequency50GHz",
            wifiSignalStrength=rng.randint(70, 99),
            wifiChannel=rng.choice((36, 44, 149)),
            wifiRadioType="wifi80211ac",
            linkSpeed=866_000_000,
        )
    elif condition == "wifi-24-weak":
        body.update(
            connectionType="wifi",
            wifiBand="frequency24GHz",
            wifiSignalStrength=rng.randint(12, 35),
            wifiChannel=rng.choice((1, 6, 11)),
            wifiRadioType="wifi80211n",
            linkSpeed=rng.choice((6_500_000, 13_000_000, 26_000_000)),
            bandwidthLowEventRatio=round(rng.uniform(0.2, 0.5), 3),
            receivedQualityEventRatio=round(rng.uniform(0.2, 0.6), 3),
        )
    elif condition == "vpn":
        body.update(connectionType="tunnel", linkSpeed=100_000_000)
        body["delayEventRatio"] = round(rng.uniform(0.3, 0.7), 3)
    elif condition == "cellular":
        body.update(connectionType="mobile", linkSpeed=50_000_000)
    return body


def _device(member: Member | None, condition: str, rng: random.Random) -> dict[str, Any]:
    if member is None:
        return {}
    capture, render = BAD_HEADSET if condition == "bad-headset" else _usual_devices(member.id)
    bad = condition == "bad-headset"
    return {
        "captureDeviceName": capture,
        "renderDeviceName": render,
        "captureDeviceDriver": "Microsoft: 10.0.22621.1",
        "renderDeviceDriver": "Microsoft: 10.0.22621.1",
        "micGlitchRate": rng.randint(800, 2400) if bad else rng.randint(0, 40),
        "speakerGlitchRate": rng.randint(300, 900) if bad else rng.randint(0, 30),
        "deviceGlitchEventRatio": round(rng.uniform(0.1, 0.35), 3) if bad else 0.0,
        "captureNotFunctioningEventRatio": round(rng.uniform(0.02, 0.1), 3) if bad else 0.0,
        "cpuInsufficentEventRatio": 0.0,
        "lowSpeechLevelEventRatio": round(rng.uniform(0.0, 0.05), 3),
        "receivedSignalLevel": rng.randint(-30, -10),
        "sentSignalLevel": rng.randint(-30, -10),
        "receivedNoiseLevel": rng.randint(-80, -60),
        "sentNoiseLevel": rng.randint(-80, -60),
        "howlingEventCount": 0,
    }


# (jitter ms, packet loss, round trip ms, concealed ratio, network MOS degradation) ranges.
_AUDIO_FIGURES: dict[str, tuple[tuple[float, float], ...]] = {
    "wired": ((2, 8), (0.0, 0.005), (20, 80), (0.0, 0.01), (0.05, 0.3)),
    "wifi-5": ((4, 15), (0.002, 0.02), (30, 120), (0.005, 0.03), (0.1, 0.6)),
    "wifi-24-weak": ((32, 60), (0.11, 0.18), (150, 450), (0.08, 0.14), (1.1, 2.0)),
    "vpn": ((15, 28), (0.02, 0.08), (520, 700), (0.03, 0.06), (0.5, 0.95)),
    "bad-headset": ((3, 10), (0.0, 0.01), (25, 90), (0.08, 0.15), (0.1, 0.4)),
    "cellular": ((10, 28), (0.01, 0.06), (100, 300), (0.01, 0.05), (0.3, 0.9)),
}


def _worse(first: str, second: str) -> str:
    order = ("wifi-24-weak", "vpn", "bad-headset", "cellular", "wifi-5", "wired")
    return min(first, second, key=order.index)


def _stream(
    kind: str,
    direction: str,
    sender_condition: str,
    receiver_condition: str,
    start: float,
    end: float,
    rng: random.Random,
    stream_id: int,
) -> dict[str, Any]:
    # The sender's own trouble shows fully; the path's other end adds only mildly (the headset
    # of the one who listens does not spoil what they receive).
    condition = sender_condition
    if receiver_condition in ("wifi-24-weak", "vpn", "cellular") and sender_condition in (
        "wired",
        "wifi-5",
    ):
        condition = "wifi-5"
    # Drawn in this order, as every record was drawn before (the same record each time).
    uniform = rng.uniform
    spans = _AUDIO_FIGURES[condition]
    jitter, loss, rtt = uniform(*spans[0]), uniform(*spans[1]), uniform(*spans[2])
    concealed, degradation = uniform(*spans[3]), uniform(*spans[4])
    seconds = max(end - start, 1.0)
    body: dict[str, Any] = {
        "streamId": str(stream_id),
        "streamDirection": direction,
        "startDateTime": iso(start),
        "endDateTime": iso(end),
        "averageJitter": duration(jitter / 1000),
        "maxJitter": duration(jitter * rng.uniform(1.5, 3) / 1000),
        "averagePacketLossRate": round(loss, 4),
        "maxPacketLossRate": round(min(1.0, loss * rng.uniform(1.5, 3)), 4),
        "averageRoundTripTime": duration(rtt / 1000),
        "maxRoundTripTime": duration(rtt * rng.uniform(1.2, 2) / 1000),
        "packetUtilization": int(seconds * 50),
        "averageBandwidthEstimate": rng.randint(400_000, 9_000_000),
        "wasMediaBypassed": False,
        "isAudioForwardErrorCorrectionUsed": loss > 0.05,
    }
    if kind == "audio":
        body.update(
            audioCodec="satin",
            averageAudioDegradation=round(degradation, 2),
            averageAudioNetworkJitter=duration(jitter / 1000),
            maxAudioNetworkJitter=duration(jitter * 2 / 1000),
            averageRatioOfConcealedSamples=round(concealed, 4),
            maxRatioOfConcealedSamples=round(min(1.0, concealed * 2), 4),
        )
    else:
        poor = condition in ("wifi-24-weak",)
        rate_floor = 2 if kind == "vbss" else 7
        frame_rate = rng.uniform(1, rate_floor) if poor else rng.uniform(15, 30)
        body.update(
            videoCodec="h264" if kind == "video" else "h264s",
            averageVideoFrameRate=round(frame_rate, 1),
            averageReceivedFrameRate=round(frame_rate, 1),
            averageVideoFrameLossPercentage=round(
                rng.uniform(5, 30) if poor else rng.uniform(0, 3), 2
            ),
            averageVideoPacketLossRate=round(loss, 4),
            postForwardErrorCorrectionPacketLossRate=round(loss * 0.8, 4),
            averageFreezeDuration=duration(rng.uniform(0.5, 2) if poor else 0.0),
            rmsFreezeDuration=duration(rng.uniform(0.5, 2) if poor else 0.0),
            lowFrameRateRatio=round(rng.uniform(0.3, 0.8) if poor else 0.0, 3),
        )
    return body


def _media(
    label: str,
    kind: str,
    caller: Member | None,
    callee: Member | None,
    leg: Leg,
    rng: random.Random,
) -> dict[str, Any]:
    first_id = rng.randint(10_000_000, 2_000_000_000)
    return {
        "label": label,
        "callerNetwork": _network(caller, leg.caller_condition, rng),
        "calleeNetwork": _network(callee, leg.callee_condition, rng),
        "callerDevice": _device(caller, leg.caller_condition, rng),
        "calleeDevice": _device(callee, leg.callee_condition, rng),
        "streams": [
            _stream(kind, "callerToCallee", leg.caller_condition, leg.callee_condition,
                    leg.start, leg.end, rng, first_id),
            _stream(kind, "calleeToCaller", leg.callee_condition, leg.caller_condition,
                    leg.start, leg.end, rng, first_id + 1),
        ],
    }  # fmt: skip


MEDIA_OF_MODALITY = {
    "audio": ("main-audio", "audio"),
    "video": ("main-video", "video"),
    "videoBasedScreenSharing": ("applicationsharing-video", "vbss"),
}


def render_sessions(
    spec: RecordSpec, members: dict[str, Member], version: int
) -> list[dict[str, Any]]:
    """Return every session of the record, each with its segments, media and streams."""
    rng = _Draws(spec.seed)
    sessions: list[dict[str, Any]] = []
    for number, leg in enumerate(spec.legs):
        caller = members.get(leg.caller) or _guest(spec, leg.caller)
        callee = (members.get(leg.callee) or _guest(spec, leg.callee)) if leg.callee else None
        session_id = record_id(f"{spec.id}:session:{number}")
        feedback: dict[str, Any] | None = None
        if version >= 2 and number == 0:
            poor = "wifi-24-weak" in (leg.caller_condition, leg.callee_condition)
            feedback = {"rating": "poor" if poor else "good", "tokens": {}}
        caller_json = _endpoint(caller, feedback)
        callee_json = _endpoint(callee, None)
        # A long session on a bad network sometimes drops and reconnects: two segments.
        cut = None
        if (
            leg.end - leg.start > 600
            and _worse(leg.caller_condition, leg.callee_condition) in ("wifi-24-weak", "cellular")
            and rng.random() < 0.5
        ):
            cut = leg.start + (leg.end - leg.start) * rng.uniform(0.3, 0.7)
        spans = [(leg.start, leg.end)] if cut is None else [(leg.start, cut), (cut + 4, leg.end)]
        segments = []
        for part, (begin, finish) in enumerate(spans):
            piece = Leg(leg.caller, leg.callee, begin, finish, leg.caller_condition,
                        leg.callee_condition)  # fmt: skip
            media = [
                _media(*MEDIA_OF_MODALITY[modality], caller, callee, piece, rng)
                for modality in spec.modalities
                if modality in MEDIA_OF_MODALITY
            ]
            segments.append(
                {
                    "id": record_id(f"{spec.id}:segment:{number}:{part}"),
                    "startDateTime": iso(begin),
                    "endDateTime": iso(finish),
                    "caller": caller_json,
                    "callee": callee_json,
                    "failureInfo": None,
                    "media": media,
                }
            )
        sessions.append(
            {
                "id": session_id,
                "modalities": list(spec.modalities),
                "startDateTime": iso(leg.start),
                "endDateTime": iso(leg.end),
                "isTest": False,
                "failureInfo": None,
                "caller": caller_json,
                "callee": callee_json,
                "segments": segments,
            }
        )
    return sessions


def _guest(spec: RecordSpec, member_id: str) -> Member:
    return Member(member_id, spec.guests.get(member_id, "Guest"), None, None, None)


def participant_json(
    spec: RecordSpec, members: dict[str, Member], member_id: str
) -> dict[str, Any]:
    """Return one ``participant`` of ``participants_v2``."""
    member = members.get(member_id) or _guest(spec, member_id)
    return {"id": member.id, "identity": _identity(member)}


def record_json(
    spec: RecordSpec, members: dict[str, Member], version: int, last_modified: float
) -> dict[str, Any]:
    """Return the record's own properties with its organizer (expanded by default)."""
    organizer = members.get(spec.organizer) or _guest(spec, spec.organizer)
    return {
        "id": spec.id,
        "version": version,
        "type": spec.type,
        "modalities": list(spec.modalities),
        "lastModifiedDateTime": iso(last_modified),
        "startDateTime": iso(spec.start),
        "endDateTime": iso(spec.end),
        "joinWebUrl": spec.join_web_url,
        "organizer_v2": {"id": organizer.id, "identity": _identity(organizer)},
    }
