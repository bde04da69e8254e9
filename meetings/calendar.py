"""A meeting as an iCalendar (RFC 5545) file, made with the ``icalendar`` library."""

from __future__ import annotations

from datetime import datetime

from icalendar import Calendar, Event, vCalAddress, vText

from meetings.models import Meeting


def meeting_calendar(meeting: Meeting, *, host: str, now: datetime) -> bytes:
    """Return one VEVENT for the meeting, with its join link, ID and passcode."""
    calendar = Calendar()
    calendar.add("prodid", "-//Comms Portal//Meetings//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    event = Event()
    event.add("uid", f"meeting-{meeting.pk}@{host.split(':')[0]}")
    event.add("dtstamp", now)
    event.add("dtstart", meeting.start)
    event.add("dtend", meeting.end)
    event.add("summary", meeting.subject or "Microsoft Teams meeting")
    event.add("location", "Microsoft Teams meeting")
    event.add("url", meeting.join_web_url)
    lines = ["Join the Microsoft Teams meeting:", meeting.join_web_url]
    if meeting.join_meeting_id:
        lines.append(f"Meeting ID: {meeting.join_meeting_id}")
    if meeting.passcode:
        lines.append(f"Passcode: {meeting.passcode}")
    event.add("description", "\n".join(lines))
    if meeting.organizer is not None and meeting.organizer.email:
        organizer = vCalAddress(f"mailto:{meeting.organizer.email}")
        organizer.params["cn"] = vText(meeting.organizer.display_name or meeting.organizer.email)
        event.add("organizer", organizer)
    for invitee in meeting.invitees.order_by("display_name"):
        if not invitee.upn:
            continue
        attendee = vCalAddress(f"mailto:{invitee.upn}")
        attendee.params["cn"] = vText(invitee.display_name or invitee.upn)
        attendee.params["role"] = vText("REQ-PARTICIPANT")
        event.add("attendee", attendee, encode=False)
    calendar.add_component(event)
    return bytes(calendar.to_ical())
