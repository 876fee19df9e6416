"""Commands: creating, editing and starting a Space (api/bodies/spaces.py)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from chalicelib.domain.tickets import TicketOffer


@dataclass(frozen=True)
class CreateSpace:
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


@dataclass(frozen=True)
class EditSpace:
    """What a host changes in a Space; None leaves a field as it is."""

    title: str | None = None
    topics: tuple[str, ...] | None = None  # () clears them
    scheduled_start: datetime | None = None
    allow_incognito: bool | None = None


@dataclass(frozen=True)
class StartSpace:
    # True / False: the host turns recording on or off now; None keeps the choice made at creation.
    """Starting a scheduled Space."""

    recording: bool | None = None
