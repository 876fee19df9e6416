"""Profiles on DynamoDB: a user's display name and avatar, on the user's item (docs/people.md).

Reads of many profiles are one BatchGetItem of at most 100 keys (a page of people), projected to
the profile's attributes; a user nobody stored has an empty profile. The token's `name` /
`picture` claims are written only when they differ from what is stored (one UpdateItem, on
GET /me), never per request.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.adapters.dynamodb.batch_reads import batch_get_items
from chalicelib.adapters.dynamodb.errors import dependency_failure
from chalicelib.adapters.dynamodb.models import UserModel
from chalicelib.domain.users import Profile

if TYPE_CHECKING:  # annotations only: a cold start does not load every command (docs/performance.md)
    from chalicelib.domain.commands.people import EditProfile

PROFILE_FIELDS = ("display_name", "avatar_url", "claimed_name", "claimed_picture")
MAX_KEYS = 100  # BatchGetItem's limit, and the largest page of people


def _profile(user_id: str, raw: dict | None) -> Profile:
    raw = raw or {}
    values = {name: raw[name]["S"] for name in PROFILE_FIELDS if "S" in raw.get(name, {})}
    return Profile(user_id, **values)


def _set_or_remove(values: dict[str, str | None]) -> tuple[str, dict, dict]:
    """An UpdateExpression that sets the given values and removes those that are None."""
    sets = [f"#{n} = :{n}" for n, v in values.items() if v is not None]
    removes = [f"#{n}" for n, v in values.items() if v is None]
    expression = " ".join(
        part for part in (sets and "SET " + ", ".join(sets), removes and "REMOVE " + ", ".join(removes)) if part
    )
    names = {f"#{n}": n for n in values}
    typed = {f":{n}": {"S": v} for n, v in values.items() if v is not None}
    return expression, names, typed


class DynamoProfiles:
    """Mixed into the user repository (adapters/dynamodb/users.py): profiles live on its items."""

    _connection: object

    def profile(self, user_id: str) -> Profile:
        """One GetItem (the profile's attributes only)."""
        try:
            raw = self._connection.client.get_item(  # type: ignore[attr-defined]
                TableName=UserModel.Meta.table_name,
                Key={"user_id": {"S": user_id}},
                ProjectionExpression=", ".join(f"#{n}" for n in PROFILE_FIELDS),
                ExpressionAttributeNames={f"#{n}": n for n in PROFILE_FIELDS},
            ).get("Item")
        except Exception as exc:
            raise dependency_failure(exc) from exc
        return _profile(user_id, raw)

    def profiles(self, user_ids: list[str]) -> dict[str, Profile]:
        """The profiles of up to 100 users in ONE BatchGetItem (asked again only for keys DynamoDB
        left unprocessed); every id asked for is in the answer, empty when never stored."""
        wanted = list(dict.fromkeys(user_ids))
        if len(wanted) > MAX_KEYS:
            raise ValueError(f"at most {MAX_KEYS} profiles at once, not {len(wanted)}")
        if not wanted:
            return {}
        names = {f"#{n}": n for n in ("user_id", *PROFILE_FIELDS)}
        request = {
            UserModel.Meta.table_name: {
                "Keys": [{"user_id": {"S": uid}} for uid in wanted],
                "ProjectionExpression": ", ".join(names),
                "ExpressionAttributeNames": names,
            }
        }
        found = batch_get_items(self._connection.client, request)  # type: ignore[attr-defined]
        stored = {raw["user_id"]["S"]: raw for raw in found.get(UserModel.Meta.table_name, [])}
        return {uid: _profile(uid, stored.get(uid)) for uid in wanted}

    def save_claims(self, user_id: str, name: str | None, picture: str | None) -> None:
        """The token's claims as now seen (None removes a claim the token no longer carries)."""
        self._update(user_id, {"claimed_name": name, "claimed_picture": picture})

    def edit_profile(self, user_id: str, edit: EditProfile) -> Profile:
        """The user's own name and avatar ("" clears one: the claims show again)."""
        values = {
            field: (value or None)
            for field, value in (("display_name", edit.display_name), ("avatar_url", edit.avatar_url))
            if value is not None
        }
        return _profile(user_id, self._update(user_id, values))

    def _update(self, user_id: str, values: dict[str, str | None]) -> dict:
        expression, names, typed = _set_or_remove(values)
        request = {
            "TableName": UserModel.Meta.table_name,
            "Key": {"user_id": {"S": user_id}},
            "UpdateExpression": expression,
            "ExpressionAttributeNames": names,
            "ReturnValues": "ALL_NEW",
        }
        if typed:
            request["ExpressionAttributeValues"] = typed
        try:
            return self._connection.client.update_item(**request).get("Attributes", {})  # type: ignore[attr-defined]
        except Exception as exc:
            raise dependency_failure(exc) from exc
