"""A calendar file (RFC 5545) for one review meeting, written by hand: it is one small event.

Text values are escaped, lines end in CRLF and are folded at 75 octets without splitting a
UTF-8 character, and times are given in UTC so no time zone definition is needed.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta


def escape_text(value: str) -> str:
    """TEXT value escaping: backslash, semicolon, comma and newlines; control characters go."""
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    value = "".join(c for c in value if c in "\n\t" or (ord(c) >= 32 and ord(c) != 127))
    return value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def fold(line: str) -> str:
    """Split a content line into pieces of at most 75 octets, continuation lines led by a space."""
    pieces: list[bytes] = []
    current = b""
    for char in line:
        encoded = char.encode("utf-8")
        if len(current) + len(encoded) > 75:
            pieces.append(current)
            current = b" "
        current += encoded
    pieces.append(current)
    return "\r\n".join(p.decode("utf-8") for p in pieces)


def utc_stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


@dataclass
class Event:
    uid: str
    start: datetime
    length: timedelta
    summary: str
    location: str
    description: str
    language: str  # BCP 47 tag of the text, e.g. "cy" or "zh-Hans"
    url: str = ""
    reminder: str = ""  # shown the day before, if given


def calendar(event: Event, stamp: datetime) -> bytes:
    lang = f";LANGUAGE={event.language}" if event.language else ""
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//NHS care plan portal//Review meetings//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        "BEGIN:VEVENT",
        f"UID:{event.uid}",
        f"DTSTAMP:{utc_stamp(stamp)}",
        f"DTSTART:{utc_stamp(event.start)}",
        f"DTEND:{utc_stamp(event.start + event.length)}",
        f"SUMMARY{lang}:{escape_text(event.summary)}",
    ]
    if event.location:
        lines.append(f"LOCATION{lang}:{escape_text(event.location)}")
    if event.description:
        lines.append(f"DESCRIPTION{lang}:{escape_text(event.description)}")
    if event.url:
        lines.append(f"URL:{event.url}")
    if event.reminder:
        lines += [
            "BEGIN:VALARM",
            "ACTION:DISPLAY",
            "TRIGGER:-P1D",
            f"DESCRIPTION{lang}:{escape_text(event.reminder)}",
            "END:VALARM",
        ]
    lines += ["END:VEVENT", "END:VCALENDAR"]
    return ("".join(fold(line) + "\r\n" for line in lines)).encode("utf-8")
