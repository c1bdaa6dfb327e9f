"""Deterministic fake accounts for the simulator, and the in-memory state of one simulator.

Everything an account contains is derived from sha256(api key) and the day the account was first
seen, so the same key sees the same practice, staff, event types, bookings, agents and calls in
every test run on that day. Large collections (bookings, calls) are computed per index on demand:
an account with 100,000 calls costs a few small arrays until a page is actually requested.
"""
from __future__ import annotations

import bisect
import hashlib
import json
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import cached_property, lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from .faults import FaultBook

BERLIN = ZoneInfo("Europe/Berlin")
TIME_ZONE = "Europe/Berlin"
DAY_MS = 86_400_000

DEFAULT_COUNTS: dict[str, int] = {
    "event_types": 3,  # personal event types of the key's owner
    "team_event_types": 2,  # per team
    "members": 2,  # team members, the owner included
    "bookings": 12,  # the owner's bookings (GET /v2/bookings)
    "team_bookings": 3,  # per team: bookings hosted by other members (only in /v2/teams/{id}/bookings)
    "agents": 2,
    "phone_numbers": 2,
    "calls": 15,
}
MAX_COUNTS: dict[str, int] = {
    "event_types": 25_000, "team_event_types": 25_000, "members": 100_000, "bookings": 100_000,
    "team_bookings": 100_000, "agents": 100_000, "phone_numbers": 100_000, "calls": 100_000,
}

FIRST_NAMES = (
    "Anna", "Lukas", "Sophie", "Jonas", "Marie", "Felix", "Laura", "Maximilian", "Lea", "Paul",
    "Hannah", "Leon", "Emilia", "Jürgen", "Katharina", "Moritz", "Clara", "Tobias", "Julia",
    "Sebastian", "Özlem", "Lena", "Niklas", "Greta",
)
LAST_NAMES = (
    "Schmidt", "Müller", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schulz",
    "Hoffmann", "Koch", "Richter", "Klein", "Wolf", "Schröder", "Neumann", "Schwarz", "Zimmermann",
    "Braun", "Krüger", "Hartmann", "Lange", "Werner", "Krause",
)
MAIL_DOMAINS = ("web.de", "gmx.de", "t-online.de", "posteo.de", "mailbox.org", "outlook.de")
PERSONAL_EVENT_TYPES = (
    ("Erstberatung", 30), ("Folgetermin", 15), ("Kontrolltermin", 45), ("Beratungsgespräch", 60),
    ("Telefonsprechstunde", 10), ("Behandlung", 50),
)
TEAM_EVENT_TYPES = (("Team-Sprechstunde", 20), ("Gruppentermin", 60), ("Notfalltermin", 15))
AGENT_NAMES = ("Praxis-Empfang", "Terminvereinbarung", "Rezeptbestellung", "Notfall-Weiterleitung")
PHONE_NICKNAMES = ("Praxis Hauptnummer", "Rezeption", "Terminhotline", "Notfallnummer")
STREETS = ("Hauptstraße", "Bahnhofstraße", "Gartenweg", "Schillerstraße", "Lindenallee")
CALL_SUMMARIES = (
    "Die Anruferin möchte einen Termin zur Erstberatung vereinbaren; Termin wurde angeboten.",
    "Der Anrufer fragt nach den Öffnungszeiten der Praxis.",
    "Ein Folgetermin wurde auf nächste Woche verschoben.",
    "Rezeptbestellung aufgenommen; Abholung am Empfang.",
    "Anrufer hat vor Gesprächsende aufgelegt.",
)
CANCELLATION_REASONS = ("Termin passt leider nicht mehr", "Krankheit", "Doppelt gebucht")

_TRANSLIT = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue"})
_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def key_hash(api_key: str) -> str:
    return hashlib.sha256(api_key.encode("utf-8")).hexdigest()


def account_id(api_key: str) -> str:
    """The short, non-secret name of the account behind a key (used in logs and /_sim/ answers)."""
    return key_hash(api_key)[:12]


@lru_cache(maxsize=4096)
def ascii_slug(text: str) -> str:
    text = text.translate(_TRANSLIT).lower()
    out = "".join(ch if ch.isascii() and ch.isalnum() else "-" for ch in text)
    return "-".join(part for part in out.split("-") if part)


def iso_ms(ms: int) -> str:
    """Cal.com's date format: ISO 8601 UTC with milliseconds and Z."""
    moment = datetime.fromtimestamp(ms / 1000, tz=timezone.utc)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def dumps(payload: Any) -> bytes:
    """The simulator's JSON rendering (compact, UTF-8)."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


ITEMS_MARKER = "\x00items\x00"
_ITEMS_MARKER_JSON = dumps(ITEMS_MARKER)


def encode_with_items(envelope: dict[str, Any], items: list[bytes]) -> bytes:
    """`envelope` rendered with its ITEMS_MARKER value replaced by the list of pre-rendered items."""
    return dumps(envelope).replace(_ITEMS_MARKER_JSON, b"[" + b",".join(items) + b"]", 1)


def clamp_counts(counts: dict[str, Any]) -> dict[str, int]:
    """Validated counts; raises ValueError on unknown names or values outside 0..max."""
    out: dict[str, int] = {}
    for name, value in counts.items():
        if name not in MAX_COUNTS:
            raise ValueError(f"unknown count {name!r}; known: {sorted(MAX_COUNTS)}")
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_COUNTS[name]:
            raise ValueError(f"count {name!r} must be an integer 0..{MAX_COUNTS[name]}")
        out[name] = value
    if out.get("members", 1) < 1:
        raise ValueError("members must be at least 1 (the owner)")
    return out


@dataclass(frozen=True)
class Person:
    index: int
    first: str
    last: str
    email: str
    username: str

    @property
    def name(self) -> str:
        return f"{self.first} {self.last}"


@dataclass(frozen=True)
class BookingRow:
    """What filtering and sorting need; the full JSON is built only for the requested page."""

    id: int
    seq: int  # index within its series, feeds the hash
    series: str  # "own" or "team<t>"
    start_ms: int
    end_ms: int
    created_ms: int
    status: str
    event_type: int  # index into Account.event_type_list
    host: int  # person index


class Account:
    """One API key's world. Immutable data is computed lazily; mutations live in small dicts."""

    def __init__(self, api_key: str, counts: dict[str, int] | None = None, *, now: float | None = None) -> None:
        self.hash = key_hash(api_key)
        self.id = self.hash[:12]
        self.tag = self.hash[:6]
        self.counts = {**DEFAULT_COUNTS, **(counts or {})}
        now = time.time() if now is None else now
        self.now_ms = int(now * 1000)
        # Start of today (UTC): the data is stable for the day and "now" lies inside the range.
        self.anchor_ms = (self.now_ms // DAY_MS) * DAY_MS
        self.id_base = (int(self.hash[:8], 16) % 9000 + 1000) * 100_000
        self.domain = f"praxis-{self.tag}.de"
        # Mutable parts: Retell agent edits (PATCH /update-agent) and Cal.com webhooks.
        self.agent_overrides: dict[str, dict[str, Any]] = {}
        self.calcom_webhooks: list[dict[str, Any]] = []
        self.page_cache: dict[tuple, list[BookingRow]] = {}
        # Rendered list items. A real provider serves listings from its database; building and
        # encoding thousands of objects on every page request would only burn the CPU the code
        # under test shares with this simulator. Calls embed agent fields: `agents_changed` drops them.
        self._call_bytes: dict[int, bytes] = {}
        self._booking_bytes: dict[tuple[str, int], bytes] = {}

    # --- hashing helpers ---------------------------------------------------------------------------
    def _h(self, kind: str, index: int) -> bytes:
        return hashlib.blake2b(f"{self.hash}:{kind}:{index}".encode(), digest_size=32).digest()

    def _n(self, kind: str, index: int, modulo: int, part: int = 0) -> int:
        digest = self._h(kind, index)
        return int.from_bytes(digest[part * 4:part * 4 + 4], "big") % modulo

    def _hex(self, kind: str, index: int, length: int) -> str:
        return self._h(kind, index).hex()[:length]

    def _uid(self, kind: str, index: int) -> str:
        number = int.from_bytes(self._h(kind, index)[:17], "big")
        chars = []
        for _ in range(22):
            number, rest = divmod(number, 62)
            chars.append(_B62[rest])
        return "".join(chars)

    # --- people --------------------------------------------------------------------------------------
    def person(self, index: int) -> Person:
        """Staff member `index` (0 = the key's owner); emails unique within the account."""
        combos = len(FIRST_NAMES) * len(LAST_NAMES)
        combo = (int(self.hash[6:14], 16) + index * 25) % combos  # 25 is coprime to 576: no repeats
        first, last = FIRST_NAMES[combo % len(FIRST_NAMES)], LAST_NAMES[combo // len(FIRST_NAMES)]
        suffix = "" if index < combos else str(index // combos)
        local = f"{ascii_slug(first)}.{ascii_slug(last)}{suffix}"
        return Person(index, first, last, f"{local}@{self.domain}", f"{local.replace('.', '-')}-{self.tag}")

    @property
    def owner(self) -> Person:
        return self.person(0)

    def user_id(self, person_index: int) -> int:
        return self.id_base + person_index

    def me(self) -> dict[str, Any]:
        owner = self.owner
        return {
            "id": self.user_id(0), "username": owner.username, "email": owner.email, "name": owner.name,
            "avatarUrl": None, "bio": None, "timeFormat": 24, "defaultScheduleId": self.id_base + 7,
            "weekStart": "Monday", "timeZone": TIME_ZONE, "organizationId": None,
        }

    # --- teams ---------------------------------------------------------------------------------------
    @property
    def teams(self) -> list[dict[str, Any]]:
        """Two teams: one named after the account and the fixed slug "mein-team"."""
        return [
            {"id": self.id_base + 1, "slug": f"team-{self.tag}", "name": f"Praxis {self.owner.last}"},
            {"id": self.id_base + 2, "slug": "mein-team", "name": "Mein Team"},
        ]

    def team_index(self, team_id: int) -> int | None:
        for t, team in enumerate(self.teams):
            if team["id"] == team_id:
                return t
        return None

    def team_json(self, t: int) -> dict[str, Any]:
        team = self.teams[t]
        return {
            "id": team["id"], "name": team["name"], "slug": team["slug"], "parentId": None,
            "isOrganization": False, "isPrivate": False, "timeZone": TIME_ZONE, "weekStart": "Monday",
            "hideBookATeamMember": False, "hideBranding": False, "theme": None, "brandColor": "#292929",
            "darkBrandColor": "#fafafa", "logoUrl": None, "bannerUrl": None, "bio": None,
            "calVideoLogo": None, "appLogo": None, "appIconLogo": None, "metadata": {},
        }

    def membership(self, t: int, i: int) -> dict[str, Any]:
        person = self.person(i)
        return {
            "id": self.id_base + 30_000 + t * 100_000 + i, "userId": self.user_id(i), "teamId": self.teams[t]["id"],
            "accepted": i == 0 or i % 7 != 6,  # every 7th invitation still open, as in real teams
            "role": "OWNER" if i == 0 else ("ADMIN" if i == 1 else "MEMBER"),
            "disableImpersonation": False,
            "user": {"email": person.email, "username": person.username, "name": person.name, "metadata": {}},
        }

    # --- event types ---------------------------------------------------------------------------------
    @cached_property
    def event_type_list(self) -> list[tuple[int, str, int, int | None]]:
        """(id, title, length, team index or None): personal ones first, then each team's."""
        out: list[tuple[int, str, int, int | None]] = []
        for j in range(self.counts["event_types"]):
            base, length = PERSONAL_EVENT_TYPES[j % len(PERSONAL_EVENT_TYPES)]
            series = j // len(PERSONAL_EVENT_TYPES)
            title = f"{base} {length} Min" + (f" ({series + 1})" if series else "")
            out.append((self.id_base + 100 + j, title, length, None))
        for t in range(len(self.teams)):
            for j in range(self.counts["team_event_types"]):
                base, length = TEAM_EVENT_TYPES[j % len(TEAM_EVENT_TYPES)]
                series = j // len(TEAM_EVENT_TYPES)
                title = f"{base} {length} Min" + (f" ({series + 1})" if series else "")
                out.append((self.id_base + 50_000 + t * 25_000 + j, title, length, t))
        return out

    def personal_event_type_indexes(self) -> list[int]:
        return [k for k, et in enumerate(self.event_type_list) if et[3] is None]

    def team_event_type_indexes(self, t: int) -> list[int]:
        return [k for k, et in enumerate(self.event_type_list) if et[3] == t]

    def _booking_fields(self) -> list[dict[str, Any]]:
        return [
            {"type": "name", "slug": "name", "label": "Ihr Name", "placeholder": "", "isDefault": True,
             "required": True, "disableOnPrefill": False},
            {"type": "email", "slug": "email", "label": "E-Mail-Adresse", "placeholder": "", "isDefault": True,
             "required": True, "hidden": False, "disableOnPrefill": False},
            {"type": "textarea", "slug": "notes", "label": "Anmerkungen", "placeholder": "", "isDefault": True,
             "required": False, "hidden": False, "disableOnPrefill": False},
        ]

    def event_type_json(self, k: int) -> dict[str, Any]:
        et_id, title, length, t = self.event_type_list[k]
        slug = ascii_slug(title)
        body: dict[str, Any] = {
            "id": et_id, "lengthInMinutes": length, "title": title, "slug": slug,
            "description": f"{title} in der Praxis {self.owner.last}.",
            "locations": [{"type": "address", "address": self.address, "public": True}],
            "bookingFields": self._booking_fields(), "disableGuests": False, "slotInterval": None,
            "minimumBookingNotice": 120, "beforeEventBuffer": 0, "afterEventBuffer": 5, "recurrence": None,
            "metadata": {}, "price": 0, "currency": "eur", "lockTimeZoneToggleOnBookingPage": True,
            "seatsPerTimeSlot": None, "forwardParamsSuccessRedirect": None, "successRedirectUrl": None,
            "isInstantEvent": False, "seatsShowAvailabilityCount": None, "scheduleId": self.id_base + 7,
            "hidden": False, "bookingRequiresAuthentication": False,
        }
        if t is None:
            owner = self.owner
            body.update({
                "ownerId": self.user_id(0),
                # The spec says string[]; the live shape is unconfirmed (calcom-api.md §6 #6). Objects
                # here make a consumer that trusts the spec fail in tests rather than in production.
                "users": [{"id": self.user_id(0), "name": owner.name, "username": owner.username,
                           "avatarUrl": None, "weekStart": "Monday", "brandColor": None,
                           "darkBrandColor": None, "metadata": {}}],
                "bookingUrl": f"https://cal.com/{owner.username}/{slug}",
            })
        else:
            team = self.teams[t]
            hosts = [self.person(i) for i in range(min(self.counts["members"], 5))]
            body.update({
                "teamId": team["id"], "ownerId": None, "parentEventTypeId": None,
                "hosts": [{"userId": self.user_id(p.index), "name": p.name, "username": p.username,
                           "avatarUrl": None} for p in hosts],
                "assignAllTeamMembers": True,
                "schedulingType": "roundRobin" if length <= 20 else "collective",
                "team": {"id": team["id"], "slug": team["slug"], "bannerUrl": "", "name": team["name"],
                         "logoUrl": "", "weekStart": "Monday", "brandColor": "#292929",
                         "darkBrandColor": "#fafafa", "theme": "light"},
                "bookingUrl": f"https://cal.com/team/{team['slug']}/{slug}",
            })
        return body

    def legacy_event_types(self) -> dict[str, Any]:
        """The pre-2024-06-14 shape a request without the right cal-api-version gets."""
        owner = self.owner
        return {
            "eventTypeGroups": [{
                "teamId": None, "bookerUrl": "https://cal.com",
                "profile": {"slug": owner.username, "name": owner.name, "image": None},
                "eventTypes": [{"id": self.event_type_list[k][0], "title": self.event_type_list[k][1],
                                "slug": ascii_slug(self.event_type_list[k][1]),
                                "length": self.event_type_list[k][2], "hidden": False}
                               for k in self.personal_event_type_indexes()],
            }],
            "profiles": [{"slug": owner.username, "name": owner.name, "image": None}],
        }

    @property
    def address(self) -> str:
        street = STREETS[int(self.hash[14:16], 16) % len(STREETS)]
        return f"{street} {int(self.hash[16:18], 16) % 90 + 1}, 10115 Berlin"

    # --- bookings ------------------------------------------------------------------------------------
    def _booking_row(self, series: str, seq: int, booking_id: int, event_types: list[int], hosts: list[int]) -> BookingRow:
        kind = f"booking:{series}"
        digest = self._h(kind, seq)
        n = int.from_bytes(digest[:16], "big")
        n, day = divmod(n, 90)
        n, slot = divmod(n, 40)  # quarter hours from 08:00 to 18:00 local time
        n, et_pick = divmod(n, 1 << 16)
        n, host_pick = divmod(n, 1 << 16)
        n, roll = divmod(n, 100)
        n, lead_days = divmod(n, 30)
        k = event_types[et_pick % len(event_types)]
        length = self.event_type_list[k][2]
        day_start = datetime.fromtimestamp(self.anchor_ms / 1000, tz=BERLIN).date() + timedelta(days=day - 60)
        local = datetime(day_start.year, day_start.month, day_start.day, 8, 0, tzinfo=BERLIN) + timedelta(minutes=15 * slot)
        start_ms = int(local.timestamp() * 1000)
        end_ms = start_ms + length * 60_000
        created_ms = start_ms - (lead_days + 1) * DAY_MS - (n % 86_400) * 1000
        if created_ms > self.now_ms:
            created_ms = self.now_ms - (n % 86_400) * 1000
        if end_ms < self.now_ms:
            status = "cancelled" if roll < 10 else ("rejected" if roll < 13 else "accepted")
        else:
            status = "cancelled" if roll < 10 else ("pending" if roll < 20 else "accepted")
        return BookingRow(booking_id, seq, series, start_ms, end_ms, created_ms, status, k,
                          hosts[host_pick % len(hosts)])

    @cached_property
    def own_bookings(self) -> list[BookingRow]:
        personal = self.personal_event_type_indexes()
        team0 = self.team_event_type_indexes(0)
        # Mostly personal event types; every 4th-ish booking on the first team's types.
        rows = []
        for i in range(self.counts["bookings"]):
            pool = team0 if (team0 and (self._n("own-pool", i, 4) == 0 or not personal)) else personal
            if not pool:
                break
            rows.append(self._booking_row("own", i, self.id_base + i, pool, [0]))
        return rows

    def team_bookings(self, t: int) -> list[BookingRow]:
        cache = self.__dict__.setdefault("_team_bookings", {})
        if t not in cache:
            pool = self.team_event_type_indexes(t)
            others = list(range(1, self.counts["members"])) or [0]
            own = [row for row in self.own_bookings if self.event_type_list[row.event_type][3] == t]
            extra = [
                self._booking_row(f"team{t}", j, 2_000_000_000 + (self.id_base // 100_000) * 300_000 + t * 100_000 + j,
                                  pool, others)
                for j in range(self.counts["team_bookings"] if pool else 0)
            ]
            cache[t] = own + extra
        return cache[t]

    def booking_json(self, row: BookingRow) -> dict[str, Any]:
        kind = f"booking:{row.series}"
        et_id, et_title, length, _t = self.event_type_list[row.event_type]
        host = self.person(row.host)
        pick = self._n(kind, row.seq, 1 << 30, part=5)
        first = FIRST_NAMES[pick % len(FIRST_NAMES)]
        last = LAST_NAMES[(pick // len(FIRST_NAMES)) % len(LAST_NAMES)]
        domain = MAIL_DOMAINS[(pick // 1000) % len(MAIL_DOMAINS)]
        email = f"{ascii_slug(first)}.{ascii_slug(last)}{pick % 97}@{domain}"
        uid = self._uid(kind, row.seq)
        in_person = length >= 30
        booking: dict[str, Any] = {
            "id": row.id, "uid": uid, "title": f"{et_title} zwischen {host.name} und {first} {last}",
            "description": "", "status": row.status,
            "start": iso_ms(row.start_ms), "end": iso_ms(row.end_ms), "duration": length,
            "eventTypeId": et_id, "eventType": {"id": et_id, "slug": ascii_slug(et_title)},
            "location": self.address if in_person else f"https://app.cal.com/video/{uid}",
            "absentHost": False, "createdAt": iso_ms(row.created_ms),
            "updatedAt": iso_ms(row.created_ms if row.status != "cancelled" else min(row.start_ms, self.now_ms)),
            "metadata": {}, "icsUid": f"{uid}@Cal.com",
            "hosts": [{"id": self.user_id(host.index), "name": host.name, "email": host.email,
                       "displayEmail": host.email, "username": host.username, "timeZone": TIME_ZONE}],
            "attendees": [{"name": f"{first} {last}", "email": email, "displayEmail": email,
                           "timeZone": TIME_ZONE, "language": "de", "absent": False,
                           "phoneNumber": f"+49151{pick % 10_000_000:07d}"}],
            "guests": [],
            "bookingFieldsResponses": {"name": f"{first} {last}", "email": email, "notes": ""},
        }
        if row.status == "cancelled":
            booking["cancellationReason"] = CANCELLATION_REASONS[pick % len(CANCELLATION_REASONS)]
            booking["cancelledByEmail"] = email
        return booking

    def booking_bytes(self, row: BookingRow) -> bytes:
        key = (row.series, row.seq)
        encoded = self._booking_bytes.get(key)
        if encoded is None:
            encoded = self._booking_bytes[key] = dumps(self.booking_json(row))
        return encoded

    def legacy_booking_json(self, row: BookingRow) -> dict[str, Any]:
        """Pre-2024-08-13 booking shape (startTime/endTime, upper-case status)."""
        full = self.booking_json(row)
        return {"id": full["id"], "uid": full["uid"], "title": full["title"], "startTime": full["start"],
                "endTime": full["end"], "status": row.status.upper(), "eventTypeId": full["eventTypeId"],
                "user": {"email": full["hosts"][0]["email"]}, "attendees": full["attendees"]}

    # --- Retell: agents, phone numbers, calls ------------------------------------------------------
    def agent_id(self, i: int) -> str:
        return f"agent_{self._hex('agent', i, 26)}"

    @cached_property
    def agent_index(self) -> dict[str, int]:
        return {self.agent_id(i): i for i in range(self.counts["agents"])}

    def agent_modified_ms(self, i: int) -> int:
        # Increasing with the index, so "descending" is simply the reverse order.
        n = max(1, self.counts["agents"])
        return self.anchor_ms - 90 * DAY_MS + (i * 80 * DAY_MS) // n + self._n("agent-mod", i, 3_600_000)

    def agent_name(self, i: int) -> str:
        base = AGENT_NAMES[i % len(AGENT_NAMES)]
        return base if i < len(AGENT_NAMES) else f"{base} {i // len(AGENT_NAMES) + 1}"

    def agent_json(self, i: int) -> dict[str, Any]:
        agent_id = self.agent_id(i)
        version = 1 + self._n("agent", i, 5)
        agent: dict[str, Any] = {
            "agent_id": agent_id, "version": version, "is_published": True,
            "agent_name": self.agent_name(i),
            "last_modification_timestamp": self.agent_modified_ms(i),
            "voice_id": "11labs-Carola", "voice_model": "eleven_flash_v2_5", "language": "de-DE",
            "response_engine": {"type": "retell-llm", "llm_id": f"llm_{self._hex('llm', i, 26)}", "version": version},
            "webhook_url": None, "max_call_duration_ms": 1_800_000, "interruption_sensitivity": 1,
            "data_storage_setting": "everything", "is_transfer_agent": False,
        }
        overrides = self.agent_overrides.get(agent_id)
        if overrides:
            agent.update(overrides)
        return agent

    def agent_list_item(self, i: int) -> dict[str, Any]:
        agent = self.agent_json(i)
        return {"agent_id": agent["agent_id"], "agent_name": agent["agent_name"], "channel": "voice",
                "is_suspended": False, "tags": {}, "user_modified_timestamp": agent["last_modification_timestamp"],
                "is_transfer_agent": False}

    def phone_number(self, i: int) -> str:
        return f"+4930{(int(self.hash[18:26], 16) + i * 7919) % 10_000_000:07d}"

    def phone_number_json(self, i: int) -> dict[str, Any]:
        number = self.phone_number(i)
        agents = self.counts["agents"]
        binding = [{"agent_id": self.agent_id(i % agents), "weight": 1}] if agents else []
        nickname = PHONE_NICKNAMES[i % len(PHONE_NICKNAMES)]
        return {
            "phone_number": number, "phone_number_pretty": f"+49 30 {number[5:]}",
            "phone_number_type": "retell-twilio",
            "nickname": nickname if i < len(PHONE_NICKNAMES) else f"{nickname} {i}",
            "inbound_agents": binding, "outbound_agents": binding,
            "inbound_webhook_url": None, "allowed_inbound_country_list": ["DE", "AT", "CH"],
            "last_modification_timestamp": self.anchor_ms - 30 * DAY_MS + i * 60_000,
        }

    def call_start_ms(self, i: int) -> int:
        """Strictly increasing in `i`: spread over the 60 days before today."""
        n = max(1, self.counts["calls"])
        span = 60 * DAY_MS
        step = span / n
        return int(self.anchor_ms - span + i * step + self._n("call-start", i, 1000) / 1000 * step * 0.8)

    def call_json(self, i: int) -> dict[str, Any]:
        digest = self._h("call", i)
        roll = digest[0] % 100
        agents = self.counts["agents"]
        agent_i = digest[1] % agents if agents else 0
        agent = self.agent_json(agent_i) if agents else {"agent_id": "agent_deleted", "version": 1, "agent_name": None}
        start = self.call_start_ms(i)
        status = "ended" if roll < 90 else ("not_connected" if roll < 95 else "error")
        duration = int.from_bytes(digest[2:4], "big") % 450_000 + 30_000 if status == "ended" else 0
        call: dict[str, Any] = {
            "call_id": f"call_{digest.hex()[4:36]}", "agent_id": agent["agent_id"],
            "agent_version": agent["version"], "agent_name": agent["agent_name"],
            "call_status": status, "start_timestamp": start, "end_timestamp": start + duration,
            "duration_ms": duration, "metadata": {},
            "retell_llm_dynamic_variables": {"praxis_name": f"Praxis {self.owner.last}"},
            "data_storage_setting": "everything", "opt_in_signed_url": False,
        }
        if status == "ended":
            summary = CALL_SUMMARIES[digest[4] % len(CALL_SUMMARIES)]
            cost = round(duration / 1000 * 0.116, 4)
            call.update({
                "disconnection_reason": ("user_hangup", "agent_hangup", "call_transfer")[digest[5] % 3],
                "transcript": "Agent: Guten Tag, Praxis {0}, wie kann ich helfen?\nUser: {1}".format(
                    self.owner.last, "Ich hätte gern einen Termin."),
                "recording_url": f"https://dxc03zgurdly9.cloudfront.net/{call['call_id']}/recording.wav",
                "call_analysis": {"call_summary": summary, "call_successful": digest[6] % 5 != 0,
                                  "user_sentiment": ("Positive", "Neutral", "Negative")[digest[7] % 3],
                                  "in_voicemail": False, "custom_analysis_data": {}},
                "call_cost": {"combined_cost": cost, "total_duration_seconds": round(duration / 1000, 3),
                              "total_duration_unit_price": 0.116,
                              "product_costs": [{"product": "retell_platform", "unit_price": 0.116, "cost": cost}]},
            })
        else:
            call["disconnection_reason"] = "dial_no_answer" if status == "not_connected" else "error_unknown"
        if digest[8] % 10 == 0:
            call.update({"call_type": "web_call", "access_token": digest.hex()[36:64]})
        else:
            numbers = self.counts["phone_numbers"]
            praxis = self.phone_number(digest[9] % numbers) if numbers else "+4930000000"
            caller = f"+49151{int.from_bytes(digest[10:14], 'big') % 10_000_000:07d}"
            inbound = digest[14] % 5 != 0
            call.update({
                "call_type": "phone_call", "direction": "inbound" if inbound else "outbound",
                "from_number": caller if inbound else praxis, "to_number": praxis if inbound else caller,
                "telephony_identifier": {"twilio_call_sid": f"CA{digest.hex()[:32]}"},
            })
        return call

    def call_bytes(self, i: int) -> bytes:
        encoded = self._call_bytes.get(i)
        if encoded is None:
            encoded = self._call_bytes[i] = dumps(self.call_json(i))
        return encoded

    def agents_changed(self) -> None:
        self._call_bytes.clear()

    def call_range(self, low_ms: int | None, high_ms: int | None) -> range:
        """Indexes of calls with low <= start_timestamp <= high (start is monotonic in the index)."""
        n = self.counts["calls"]
        starts = _LazyStarts(self, n)
        lo = 0 if low_ms is None else bisect.bisect_left(starts, low_ms)
        hi = n if high_ms is None else bisect.bisect_right(starts, high_ms)
        return range(lo, max(lo, hi))

    def identity(self) -> dict[str, Any]:
        return {"org_id": f"org_{self._hex('org', 0, 20)}", "org_name": f"Praxis {self.owner.last}",
                "api_key_name": "integhub"}


class _LazyStarts:
    """A sequence view for bisect without materialising 100,000 start times."""

    def __init__(self, account: Account, n: int) -> None:
        self.account, self.n = account, n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> int:
        return self.account.call_start_ms(i)


class SimulatorState:
    """Everything one simulator holds: accounts, revoked keys, faults and the request log.

    Shared between the server's event loop and the test thread (SimulatorServer helpers), hence
    the lock around every mutation.
    """

    REQUEST_LOG_SIZE = 20_000

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.faults = FaultBook()
        self.stopping = threading.Event()  # set by the server on shutdown: hanging requests end
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.accounts: dict[str, Account] = {}
            self.account_counts: dict[str, dict[str, int]] = {}
            self.revoked: set[str] = set()
            self.requests: deque[dict[str, Any]] = deque(maxlen=self.REQUEST_LOG_SIZE)
            self.request_count = 0
            self.team_owner: dict[int, str] = {}
            self.rate_windows: dict[str, list[float]] = {}  # key hash -> [window start, requests]
            self.faults.clear()

    def account(self, api_key: str) -> Account:
        digest = key_hash(api_key)
        with self.lock:
            account = self.accounts.get(digest)
            if account is None:
                account = Account(api_key, self.account_counts.get(digest))
                self.accounts[digest] = account
                for team in account.teams:
                    self.team_owner.setdefault(team["id"], digest)
            return account

    def configure(self, api_key: str, counts: dict[str, Any]) -> Account:
        """Set an account's sizes; rebuilds it (agent edits and webhooks of that key are dropped)."""
        valid = clamp_counts(counts)
        digest = key_hash(api_key)
        with self.lock:
            self.account_counts[digest] = {**self.account_counts.get(digest, {}), **valid}
            self.accounts.pop(digest, None)
        return self.account(api_key)

    def revoke(self, api_key: str) -> None:
        with self.lock:
            self.revoked.add(key_hash(api_key))

    def is_revoked(self, api_key: str) -> bool:
        return key_hash(api_key) in self.revoked

    def log(self, entry: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            self.request_count += 1
            entry["seq"] = self.request_count
            self.requests.append(entry)
        return entry

    def request_log(self, *, provider: str | None = None, since: int = 0) -> list[dict[str, Any]]:
        with self.lock:
            return [dict(e) for e in self.requests
                    if e["seq"] > since and (provider is None or e["provider"] == provider)]

    def clear_requests(self) -> None:
        with self.lock:
            self.requests.clear()

    def webhooks(self) -> dict[str, list[dict[str, Any]]]:
        """What clients registered: Cal.com POST /v2/webhooks and Retell agents' webhook fields."""
        with self.lock:
            calcom = [{"account": a.id, **hook} for a in self.accounts.values() for hook in a.calcom_webhooks]
            retell = [
                {"account": a.id, "agent_id": agent_id,
                 **{k: v for k, v in fields.items() if k.startswith("webhook_")}}
                for a in self.accounts.values() for agent_id, fields in a.agent_overrides.items()
                if any(k.startswith("webhook_") for k in fields)
            ]
        return {"calcom": calcom, "retell": retell}


def new_webhook_id() -> str:
    return str(uuid.uuid4())
