"""openapi.yaml, field by field, against the types at the edge: each request schema a route reads
into a command (chalicelib/api/bodies/ -> chalicelib/domain/commands/) names exactly the
command's fields, requires exactly the fields without a default, and its parser reads every one
of them; each view (chalicelib/api/views.py) produces exactly its schema's properties, every
required one included."""
from __future__ import annotations

import importlib
import pkgutil
import typing
from datetime import datetime, timezone
from pathlib import Path

import msgspec
import msgspec.structs
import pytest
import yaml

from chalicelib.api.bodies import commerce, moderation, people, recording, room, spaces, stage
from chalicelib.domain import commands
from chalicelib.domain.errors import BadRequest

SPEC = yaml.safe_load((Path(__file__).resolve().parents[2] / "openapi.yaml").read_text())
SCHEMAS = SPEC["components"]["schemas"]

# (request schema, the route's parser, a valid body naming every property of the schema)
REQUESTS = [
    ("JoinRequest", stage.join, {"recording_consent": True, "incognito": True}),
    ("ConsentRequest", stage.accept_invitation, {"recording_consent": True}),
    ("UserIdRequest", stage.invite_speaker, {"user_id": "alice"}),
    ("UserIdRequest", stage.name_cohost, {"user_id": "alice"}),
    ("ReactionRequest", room.reaction, {"emoji": "👏"}),
    ("DeviceRequest", people.device, {"platform": "ios", "token": "apns-token-0123"}),
    ("CaptionRequest", recording.caption, {"text": "hello", "language": "en-US", "start_ms": 10, "end_ms": 900}),
    ("StartSpaceRequest", spaces.start_space, {"recording": True}),
    ("CreateSpaceRequest", spaces.create_space, {
        "title": "Launch", "topics": ["music"], "scheduled_start": "2026-11-25T18:00:00Z", "access": "ticketed",
        "ticket": {"price_cents": 500, "currency": "USD", "capacity": 10}, "cohost_ids": ["carol"],
        "speaker_ids": ["dave"], "recording": True, "allow_incognito": False,
    }),
    ("PatchSpaceRequest", spaces.edit_space, {
        "title": "Renamed", "topics": ["music"], "scheduled_start": "2026-11-25T18:00:00Z", "allow_incognito": False,
    }),
    ("EditProfileRequest", people.edit_profile, {"display_name": "Ann Lee", "avatar_url": "https://cdn.example/a.png"}),
    ("BuyTicketRequest", commerce.buy_ticket, {"payment_method": "pm_card_visa"}),
    ("SubscribeRequest", commerce.subscribe, {"tier": "tier_2", "payment_method": "pm_card_visa"}),
    ("POST /local/sign-in", people.local_sign_in, {"user_id": "alice"}),
    ("ClipRequest", recording.clip, {"start_ms": 1000, "duration_ms": 30000}),
    ("PUT /spaces/{space_id}/clipping", recording.clipping, {"enabled": False}),
    ("RemoveRequest", moderation.reason, {"reason": "spamming the stage"}),
    ("AppealRequest", moderation.appeal, {"text": "I was quoting someone"}),
    ("ReportRequest", moderation.report, {"reason": "spam", "text": "links", "user_id": "bob"}),
    ("PinRequest", room.pin, {"url": "https://example.com/notes?ep=12", "text": "Tonight's show notes"}),
]
IDS = [f"{schema}->{parse.__name__}" for schema, parse, _ in REQUESTS]


def _schema(name: str) -> dict:
    """A component schema by name, or the inline request schema of "METHOD /path"."""
    if " " in name:
        method, path = name.split(" ")
        schema = SPEC["paths"][path][method.lower()]["requestBody"]["content"]["application/json"]["schema"]
    else:
        schema = SCHEMAS[name]
    assert schema.get("type") == "object", name
    return schema


def _command_type(parse) -> type:
    command = typing.get_type_hints(parse)["return"]
    # A command lives in the commands module of its parser's area (api/bodies/stage.py ->
    # domain/commands/stage.py), so a request loads only its area's.
    area = parse.__module__.rsplit(".", 1)[1]
    assert issubclass(command, msgspec.Struct) and command.__module__ == f"{commands.__name__}.{area}", parse
    return command


@pytest.mark.parametrize("name, parse, example", REQUESTS, ids=IDS)
def test_a_request_schema_names_exactly_the_commands_fields(name, parse, example):
    fields = {f.name: f for f in msgspec.structs.fields(_command_type(parse))}
    schema = _schema(name)

    assert set(schema["properties"]) == set(fields)
    without_default = {
        n for n, f in fields.items() if f.required
    }
    assert set(schema.get("required", [])) == without_default


@pytest.mark.parametrize("name, parse, example", REQUESTS, ids=IDS)
def test_the_parser_reads_every_property_and_refuses_a_body_without_a_required_one(name, parse, example):
    schema = _schema(name)
    assert set(example) == set(schema["properties"]), "the example names every property"

    assert {k: _on_the_wire(v) for k, v in msgspec.structs.asdict(parse(example)).items()} == example
    for prop in schema["properties"]:
        rest = {k: v for k, v in example.items() if k != prop}
        if prop in schema.get("required", []):
            with pytest.raises(BadRequest):
                parse(rest)
        elif rest:  # (an empty PATCH is refused as a whole)
            assert _on_the_wire(getattr(parse(rest), prop)) != example[prop], f"{prop} is read from the body"


def _on_the_wire(value):
    """A command's value as JSON carries it: times as ISO 8601 UTC strings, tuples as lists."""
    from chalicelib.domain.spaces import iso

    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, msgspec.Struct):  # a nested value (a ticket offer): its fields
        return {k: _on_the_wire(v) for k, v in msgspec.structs.asdict(value).items()}
    return list(value) if isinstance(value, tuple) else value


def test_every_command_is_read_by_some_route():
    parsed = {_command_type(parse) for _, parse, _ in REQUESTS}
    areas = [
        importlib.import_module(f"{commands.__name__}.{info.name}")
        for info in pkgutil.iter_modules(commands.__path__)
    ]
    defined = {
        c for area in areas for c in vars(area).values()
        if isinstance(c, type) and issubclass(c, msgspec.Struct) and c.__module__ == area.__name__
    }

    assert defined == parsed


def _space():
    from chalicelib.api.bodies.spaces import create_space as space_request
    from chalicelib.domain.spaces import SpaceRules, new_space
    from chalicelib.domain.tickets import TicketRules

    return new_space(
        space_id="01JD2Z6R9V3M8K4T5N7Q1W2E3R",
        creator_id="host",
        request=space_request({"title": "Views", "access": "ticketed", "ticket": {"price_cents": 500, "capacity": 10},
              "scheduled_start": "2026-11-25T18:00:00Z", "topics": ["music"]}),
        now=datetime(2026, 11, 24, 18, 0, tzinfo=timezone.utc),
        rules=SpaceRules(
            max_cohosts=2, max_on_stage=13, max_scheduled_per_host=10, max_schedule_ahead_days=30,
            max_topics=3, max_title_length=140,
        ),
        ticket_rules=TicketRules(
            min_price_cents=100, max_price_cents=99900, currencies=("USD",), max_capacity=10000, hold_seconds=900,
        ),
    )


def _produces_exactly(view: dict, schema: dict) -> None:
    assert set(view) == set(schema["properties"])
    assert set(schema.get("required", [])) <= set(view)


def test_the_space_view_produces_exactly_the_space_schema():
    from chalicelib.api.views import space_view

    view = space_view(_space())

    _produces_exactly(view, SCHEMAS["Space"])
    _produces_exactly(view["ticket"], SCHEMAS["Space"]["properties"]["ticket"])


def test_the_caption_views_produce_exactly_the_caption_schemas():
    from chalicelib.api.views import caption_page_view, caption_view
    from chalicelib.domain.captions import Caption

    caption = Caption(
        space_id="01JD2Z6R9V3M8K4T5N7Q1W2E3R", seq="00000000010#01JD2Z6R9V3M8K4T5N7Q1W2E3S", user_id="alice",
        text="hello", language="en", start_ms=10, end_ms=900, created_at=datetime(2026, 11, 24, tzinfo=timezone.utc),
    )

    _produces_exactly(caption_view(caption), SCHEMAS["Caption"])
    _produces_exactly(caption_page_view(caption.space_id, [caption], None), SCHEMAS["CaptionPage"])


def _people():
    from chalicelib.domain.people import Joined, Listener, ListenerPage, PlaybackMedia, Standing, StagePeople
    from chalicelib.domain.room_events import RoomWay
    from chalicelib.domain.users import Profile

    space = _space()
    at = datetime(2026, 11, 24, 18, 0, tzinfo=timezone.utc)
    profiles = {"host": Profile("host", "Hosta"), "ann": Profile("ann", claimed_picture="https://cdn.example/a.png")}
    standing = Standing("ann", "listener", True, False, True, False, incognito=False)
    people = StagePeople(space, 1, [("ann", at)], standing, profiles, moderator=True)
    media = PlaybackMedia("https://play", "p1", "tok", at)
    way = RoomWay("local", "/spaces/S1/events/token", url="/spaces/S1/events")
    joined = Joined("S1", "listener", media, 150, way, incognito=False, incognito_refused="incognito_off", recording=False)
    page = ListenerPage("S1", [Listener("ann", at)], profiles, "cursor", 3, 1)
    return people, joined, page, profiles


def test_the_people_views_produce_exactly_their_schemas():
    from chalicelib.api.views import joined_view, listener_page_view, profile_view, room_way_view, stage_people_view
    from chalicelib.domain.room_events import RoomWay

    people, joined, page, profiles = _people()

    view = stage_people_view(people)
    _produces_exactly(view, SCHEMAS["ParticipantsView"])
    _produces_exactly(view["me"], SCHEMAS["ParticipantsView"]["properties"]["me"])
    _produces_exactly(view["hosts"][0], SCHEMAS["Person"])
    request_schema = SCHEMAS["ParticipantsView"]["properties"]["speaker_requests"]["properties"]["requests"]["items"]
    _produces_exactly(view["speaker_requests"]["requests"][0], request_schema)
    joined_schema = {k: v for k, v in SCHEMAS["JoinResponse"].items() if k != "properties"}
    joined_schema["properties"] = {
        k: v for k, v in SCHEMAS["JoinResponse"]["properties"].items() if k != "recording_consent_required"
    }
    _produces_exactly(joined_view(joined), joined_schema)
    local_way = joined_view(joined)["events"]
    assert set(local_way) <= set(SCHEMAS["RoomEventsAccess"]["properties"]) and "region" not in local_way
    _produces_exactly(room_way_view(RoomWay("ivs-chat", "/t", region="us-east-1", url="wss://chat")), SCHEMAS["RoomEventsAccess"])
    listed = listener_page_view(page)
    _produces_exactly(listed, SCHEMAS["ListenerPage"])
    _produces_exactly(listed["listeners"][0], SCHEMAS["ListenerPage"]["properties"]["listeners"]["items"])
    _produces_exactly(profile_view(profiles["ann"]), SCHEMAS["Profile"])
    assert listed["listeners"][0]["avatar_url"] == "https://cdn.example/a.png", "the claim shows until edited"
def _answer(path: str, method: str, status: str = "200") -> dict:
    return SPEC["paths"][path][method]["responses"][status]["content"]["application/json"]["schema"]


def test_the_reminder_and_device_answers_produce_exactly_their_schemas():
    from chalicelib.api.reminders import device_view, reminder_view, removed_device_view
    from chalicelib.domain.reminders import RegisteredDevice, ReminderChange

    _produces_exactly(reminder_view(ReminderChange("S1", True, False, 3)), SCHEMAS["ReminderResult"])
    _produces_exactly(device_view(RegisteredDevice("ios-abc", "ios", "bob")), SCHEMAS["Device"])
    _produces_exactly(removed_device_view("ios-abc"), _answer("/me/devices/{device_id}", "delete"))


def test_the_local_sign_in_answer_produces_exactly_its_schema():
    from chalicelib.adapters.local_auth import IssuedToken
    from chalicelib.api.web import sign_in_view

    issued = IssuedToken(token="t", expires_at=datetime(2026, 11, 24, tzinfo=timezone.utc))
    _produces_exactly(sign_in_view("alice", issued), _answer("/local/sign-in", "post"))


def test_a_page_of_spaces_produces_exactly_its_schema():
    from chalicelib.api.views import spaces_page_view
    from chalicelib.domain.discovery import ListedSpace, SpacesPage
    from chalicelib.domain.spaces import Listing

    space = _space()
    listing = Listing(
        space_id=space.id, state=space.state, title=space.title, creator_id=space.creator_id, topics=space.topics,
        scheduled_start=space.scheduled_start, started_at=None, access=space.access,
    )
    view = spaces_page_view(SpacesPage([ListedSpace(listing, 0)], "c1"))

    _produces_exactly(view, _answer("/spaces", "get"))
    _produces_exactly(view["spaces"][0], SCHEMAS["SpaceSummary"])


def _produces_some_of(view: dict, schema: dict) -> None:
    """A view of a schema whose properties differ by kind: only its properties, all its required."""
    assert set(view) <= set(schema["properties"])
    assert set(schema.get("required", [])) <= set(view)


def test_the_join_media_views_produce_the_media_schema():
    from chalicelib.api.views import media_view
    from chalicelib.domain.people import PlaybackMedia, StageMedia

    at = datetime(2026, 11, 24, 18, 0, tzinfo=timezone.utc)
    endpoints = {"whip": "https://whip", "events": "wss://events"}
    stage = media_view(StageMedia("arn:stage", "p1", "tok", at, True, endpoints))
    playback = media_view(PlaybackMedia("https://play", "p2", "tok2", at))

    _produces_some_of(stage, SCHEMAS["MediaCredentials"])
    _produces_some_of(playback, SCHEMAS["MediaCredentials"])
    assert (stage["kind"], stage["capabilities"], stage["whip"]) == ("stage", ["PUBLISH", "SUBSCRIBE"], "https://whip")
    assert (playback["kind"], playback["stage_arn"], playback["capabilities"]) == ("playback", None, [])
    assert playback["playback_url"] == "https://play?token=tok2"


def test_the_stage_answers_produce_exactly_their_schemas():
    from chalicelib.api.moderation import removed_view
    from chalicelib.api.stage import declined_view, hand_view, invitation_view, left_view
    from chalicelib.domain.people import HandChange, Invitation

    invited = invitation_view(Invitation("S1", "ann", approved_request=True, space=_space()))

    _produces_exactly(hand_view(HandChange("S1", hand_raised=True, changed=False)), SCHEMAS["HandResult"])
    _produces_exactly(invited, SCHEMAS["AddSpeakerResult"])
    _produces_exactly(invited["space"], SCHEMAS["Space"])
    _produces_exactly(left_view("S1"), SCHEMAS["LeaveResult"])
    _produces_exactly(declined_view("S1"), SCHEMAS["DeclineResult"])
    _produces_exactly(removed_view("S1", "ann"), SCHEMAS["RemoveResult"])
    lifted = removed_view("S1", "ann", removed=False)
    _produces_exactly(lifted, _answer("/spaces/{space_id}/removals/{user_id}/lift", "post"))
    assert lifted["removed"] is False


def test_the_moderation_answers_produce_exactly_their_schemas():
    from chalicelib.api.moderation import appeal_page_view, appeal_view, ledger_page_view, report_view
    from chalicelib.domain.appeals import Appeal, AppealPage
    from chalicelib.domain.moderation import MUTE, LedgerPage, entry_for
    from chalicelib.domain.reports import Report

    at = datetime(2026, 11, 24, 18, 0, 0, 250000, tzinfo=timezone.utc)
    entry = entry_for("S1", MUTE, "host", "ann", at, "shouting")
    log = ledger_page_view(LedgerPage([entry], "c1"))
    appeal = Appeal("S1", "ann", "I was quoting", at)

    _produces_exactly(log, SCHEMAS["ModerationLogPage"])
    _produces_exactly(log["entries"][0], SCHEMAS["ModerationEntry"])
    assert log["entries"][0]["at"] == "2026-11-24T18:00:00.250000Z", "the ledger keeps its times' microseconds"
    _produces_exactly(appeal_view(appeal), SCHEMAS["Appeal"])
    _produces_exactly(appeal_page_view(AppealPage([appeal], None)), _answer("/spaces/{space_id}/appeals", "get"))
    _produces_exactly(report_view(Report("S1", "bob", "space", "spam", None, at)), SCHEMAS["Report"])


def test_the_user_answers_produce_exactly_their_schemas():
    from chalicelib.api.users import block_view, follow_view, user_view
    from chalicelib.domain.users import Eligibility, Relation, User, UserSummary

    _produces_exactly(user_view(UserSummary(User("ann", 700, 3), Eligibility(True, False))), SCHEMAS["UserProfile"])
    followed = follow_view(Relation("star", holds=True, changed=False))
    blocked = block_view(Relation("troll", holds=False, changed=True))

    _produces_exactly(followed, SCHEMAS["FollowResult"])
    _produces_exactly(blocked, SCHEMAS["BlockResult"])
    assert (followed["following"], followed["changed"]) == (True, False)
    assert (blocked["blocked"], blocked["changed"]) == (False, True)
AT = datetime(2026, 11, 24, 18, 0, tzinfo=timezone.utc)


def test_the_recording_answers_produce_exactly_their_schemas():
    from chalicelib.api import recording as views
    from chalicelib.domain.clips import Clip, ClipPage, ClippingChange, ServedClip
    from chalicelib.domain.replays import Replay, ReplayDeletion, Withdrawal

    clip = Clip("S1-01JD2Z6R9V3M8K4T5N7Q1W2E3S", "S1", "ann", 0, 30000, AT, cut_from=2)
    withdrawal = Withdrawal("S1", "bob", AT.replace(microsecond=123456))
    replay = Replay("S1", "https://r", AT, 61500, AT, None, "none", True, withdrawals=[withdrawal])

    _produces_exactly(views.withdrawal_view(withdrawal), SCHEMAS["ConsentWithdrawn"])
    _produces_exactly(views.served_clip_view(ServedClip(clip, "https://c", AT)), SCHEMAS["Clip"])
    _produces_exactly(views.clip_view(clip) | {"url": "", "expires_at": ""}, SCHEMAS["Clip"])
    assert "url" not in views.clip_view(clip), "a clip shows its link only when it is served"
    page = views.clip_page_view(ClipPage("S1", [clip], None))
    _produces_exactly(page, SCHEMAS["ClipPage"])
    _produces_exactly(page["clips"][0] | {"url": "", "expires_at": ""}, SCHEMAS["Clip"])
    _produces_exactly(views.clipping_view(ClippingChange("S1", False, True)), _answer("/spaces/{space_id}/clipping", "put"))
    shown = views.replay_view(replay)
    _produces_exactly(shown, SCHEMAS["Replay"])
    _produces_exactly(shown["withdrawals"][0], SCHEMAS["Replay"]["properties"]["withdrawals"]["items"])
    assert (shown["duration_seconds"], shown["withdrawals"][0]["withdrawn_at"]) == (62, "2026-11-24T18:00:00Z")
    assert "withdrawals" not in views.replay_view(Replay("S1", "https://r", AT, None, AT, None, "none", True))
    _produces_exactly(views.replay_deletion_view(ReplayDeletion("S1", 4)), SCHEMAS["ReplayDeleted"])


def test_the_room_event_answers_produce_exactly_their_schemas():
    from chalicelib.api.events import chat_access_view, events_page_view, reaction_view
    from chalicelib.domain.room_events import ChatAccess, Reaction
    from chalicelib.ports import RoomEvent

    access = ChatAccess("S1", "ivs-chat", "arn:room", "listener", "t", AT, AT, ("SEND_MESSAGE",), "eu-west-1", "wss://x")
    page = events_page_view("S1", [RoomEvent(7, "reaction", {"emoji": "🔥"}, AT)], "c1")

    _produces_exactly(chat_access_view(access), SCHEMAS["ChatCredentials"])
    assert "url" not in chat_access_view(msgspec.structs.replace(access, url=None)), "only a stage with an endpoint of its own"
    _produces_exactly(page, SCHEMAS["RoomEventsPage"])
    _produces_exactly(page["events"][0], SCHEMAS["RoomEvent"])
    _produces_exactly(reaction_view(Reaction("S1", "🔥")), SCHEMAS["ReactionResult"])


def test_the_payment_webhook_answer_produces_exactly_its_schema():
    from chalicelib.api.tickets import webhook_view

    _produces_exactly(webhook_view(False), _answer("/webhooks/payments", "post"))


def test_the_pin_answers_produce_exactly_their_schemas():
    from chalicelib.api.pinned import pin_change_view
    from chalicelib.domain.pinned import PinChange, PinnedPost

    at = datetime(2026, 11, 24, 18, 0, 0, 123456, tzinfo=timezone.utc)
    pinned = pin_change_view(PinChange("S1", PinnedPost("https://example.com/notes", "Show notes", "host", at)))
    _produces_exactly(pinned, _answer("/spaces/{space_id}/pinned", "put"))
    _produces_exactly(pinned["pinned"], SCHEMAS["PinnedPost"])
    assert pinned["pinned"]["pinned_at"] == "2026-11-24T18:00:00.123456Z"
    _produces_exactly(pin_change_view(PinChange("S1", None, False)), _answer("/spaces/{space_id}/pinned", "delete"))
