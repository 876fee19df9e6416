"""Demo users for the local stack (`make run` calls this after creating the tables).

- alice: 1,200 followers: may host.
- bob: 12 followers: may not host.
- carol: 5,000 followers and 3 Spaces hosted in the last 30 days: may host ticketed Spaces.

Running it twice changes nothing: counts are set, not added, and the seeded Spaces have fixed ids.
"""
from __future__ import annotations

from datetime import timedelta

from pynamodb.exceptions import PutError

from chalicelib.adapters.dynamodb.models import SpaceModel
from chalicelib.adapters.dynamodb.users import DynamoUserRepository
from chalicelib.domain.spaces import iso, utcnow

DEMO_USERS = {"alice": 1200, "bob": 12, "carol": 5000}
CAROL_PAST_SPACES = 3


def seed() -> dict:
    users = DynamoUserRepository()
    for user_id, followers in DEMO_USERS.items():
        users.set_follower_count(user_id, followers)

    now = utcnow()
    for n in range(1, CAROL_PAST_SPACES + 1):
        started = now - timedelta(days=3 * n, hours=1)
        ended = started + timedelta(hours=1)
        item = SpaceModel(
            f"SEEDCAROL{n}",
            state="ended",
            title=f"Carol's office hours #{n}",
            creator_id="carol",
            sort_time=iso(started),
            created_at=started,
            updated_at=ended,
            started_at=started,
            ended_at=ended,
            topics=["business"],
        )
        try:
            item.save(condition=SpaceModel.space_id.does_not_exist())
        except PutError as exc:
            if exc.cause_response_code != "ConditionalCheckFailedException":
                raise
    return {uid: users.get(uid, now) for uid in DEMO_USERS}


if __name__ == "__main__":
    for user in seed().values():
        print(
            f"seeded {user.id}: {user.follower_count} followers, "
            f"{user.spaces_hosted_30d} Spaces hosted in the last 30 days"
        )
