"""Commands: creating, editing and starting a Space (api/bodies/spaces.py)."""
from __future__ import annotations

from datetime import datetime

from msgspec import Struct

from chalicelib.domain.tickets import TicketOffer


class CreateSpace(Struct, frozen=True):
    """A new Space as its host describes it: live now, or scheduled for `scheduled_start`."""

    title: str
    topics: tuple[str, ...] = ()
    scheduled_start: datetime | None = None
    access: str = "public"  # domain/spaces.py ACCESS_MODES
    ticket: TicketOffer | None = None  # with access "ticketed" only
    cohost_ids: tuple[str, ...] = ()
    speaker_ids: tuple[str, ...] = ()
    recording: bool = False
    # Listeners may join incognito (counted, not listed); the host may turn it off.
    allow_incognito: bool = True


class EditSpace(Struct, frozen=True):
    """What a host changes in a Space; None leaves a field as it is."""

    title: str | None = None
    topics: tuple[str, ...] | None = None  # () clears them
    scheduled_start: datetime | None = None
    allow_incognito: bool | None = None


class StartSpace(Struct, frozen=True):
    # True / False: the host turns recording on or off now; None keeps the choice made at creation.
    """Starting a scheduled Space."""

    recording: bool | None = None
