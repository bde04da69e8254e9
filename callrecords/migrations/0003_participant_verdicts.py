"""Each participant's verdict on a call, stored; people's daily counts for any modality/type.

Both are filled in for what is already stored: the verdicts from the stored streams and
endpoints (as storage.judge_for reaches them for new records), the people's rows for any
modality or call type by adding up their rows per modality and call type.
"""

from collections import defaultdict
from typing import Any

from django.db import migrations, models

CHUNK = 1000


def judge_stored_calls(apps: Any, schema_editor: Any) -> None:
    from callrecords import quality
    from callrecords.storage import JudgedStream, judge_for

    call_model = apps.get_model("callrecords", "CallRecord")
    participant_model = apps.get_model("callrecords", "CallParticipant")
    stream_model = apps.get_model("callrecords", "CallStream")
    endpoint_model = apps.get_model("callrecords", "CallEndpoint")
    call_ids = list(call_model.objects.order_by("pk").values_list("pk", flat=True))
    for begin in range(0, len(call_ids), CHUNK):
        chunk = call_ids[begin : begin + CHUNK]
        streams: dict[int, list[JudgedStream]] = defaultdict(list)
        for stream in (
            stream_model.objects.filter(call_id__in=chunk)
            .exclude(verdict=quality.UNCLASSIFIED)
            .order_by("call_id", "pk")
        ):
            figures = quality.Figures(
                modality=stream.modality,
                jitter_ms=stream.jitter_ms,
                packet_loss=stream.packet_loss,
                round_trip_ms=stream.round_trip_ms,
                concealed_ratio=stream.concealed_ratio,
                mos_degradation=stream.mos_degradation,
                video_frame_rate=stream.video_frame_rate,
                video_frame_loss_pct=stream.video_frame_loss_pct,
                post_fec_loss=stream.post_fec_loss,
            )
            reasons = tuple(code for code in stream.reasons.split(",") if code)
            streams[stream.call_id].append(
                JudgedStream(stream.person_id, stream.verdict, figures, reasons, stream.network)
            )
        endpoints: dict[int, list[tuple[str, str, int | None, float | None]]] = defaultdict(list)
        for call_id, *endpoint in (
            endpoint_model.objects.filter(call_id__in=chunk)
            .order_by("call_id", "pk")
            .values_list("call_id", "person_id", "network", "wifi_signal", "device_glitch_ratio")
        ):
            endpoints[call_id].append(tuple(endpoint))  # type: ignore[arg-type]
        participants = list(participant_model.objects.filter(call_id__in=chunk))
        for participant in participants:
            participant.verdict, participant.cause, participant.detail = judge_for(
                participant.person_id,
                streams[participant.call_id],
                endpoints[participant.call_id],
            )
        participant_model.objects.bulk_update(
            participants, ["verdict", "cause", "detail"], batch_size=CHUNK
        )


def add_people_rows_for_any(apps: Any, schema_editor: Any) -> None:
    rollup_model = apps.get_model("callrecords", "StreamRollup")
    totals: dict[tuple[Any, ...], list[Any]] = {}
    for row in rollup_model.objects.filter(dimension="person").exclude(modality="").iterator():
        for modality in (row.modality, ""):
            for call_type in (row.call_type, ""):
                if modality and call_type:
                    continue
                key = (row.hour, modality, call_type, row.key)
                found = totals.setdefault(key, [0, 0, row.label])
                found[0] += row.classified
                found[1] += row.poor
    rollup_model.objects.bulk_create(
        [
            rollup_model(
                hour=hour,
                modality=modality,
                call_type=call_type,
                dimension="person",
                key=key,
                label=label,
                classified=classified,
                poor=poor,
            )
            for (hour, modality, call_type, key), (classified, poor, label) in totals.items()
        ],
        batch_size=CHUNK,
    )


def drop_people_rows_for_any(apps: Any, schema_editor: Any) -> None:
    rollup_model = apps.get_model("callrecords", "StreamRollup")
    people = rollup_model.objects.filter(dimension="person")
    (people.filter(modality="") | people.filter(call_type="")).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("callrecords", "0002_stream_rollups"),
    ]

    operations = [
        migrations.AddField(
            model_name="callparticipant",
            name="verdict",
            field=models.CharField(default="unclassified", max_length=16),
        ),
        migrations.AddField(
            model_name="callparticipant",
            name="cause",
            field=models.CharField(blank=True, max_length=16),
        ),
        migrations.AddField(
            model_name="callparticipant",
            name="detail",
            field=models.TextField(blank=True),
        ),
        migrations.RunPython(judge_stored_calls, migrations.RunPython.noop),
        migrations.RunPython(add_people_rows_for_any, drop_people_rows_for_any),
    ]
