"""The emulated account: its user, its groups, and each group's BigQuery destination."""

from __future__ import annotations

from typing import Any

from .clock import api_timestamp
from .responses import ApiError
from .store import META, Store

ACCOUNT_ID = "emulated_account"
ACCOUNT_NAME = "Fivetran emulator"
USER_ID = "emulator_user"
USER_EMAIL = "emulator@example.com"
DATA_SET_LOCATION = "US"
# Fixed, so the user object is the same on every call and across restarts.
ACCOUNT_CREATED_AT = "2024-01-01T00:00:00.000000Z"


def account_info() -> dict[str, Any]:
    return {"account_id": ACCOUNT_ID, "account_name": ACCOUNT_NAME, "user_id": USER_ID}


def users() -> list[dict[str, Any]]:
    """The account's one user, the `connected_by` of every connection, in the List All Users item shape
    (docs/rest-api/users)."""
    return [{
        "id": USER_ID,
        "email": USER_EMAIL,
        "given_name": "Fivetran",
        "family_name": "Emulator",
        "verified": True,
        "invited": False,
        "picture": None,
        "phone": None,
        "role": "Account Administrator",
        "logged_in_at": None,
        "created_at": ACCOUNT_CREATED_AT,
        "active": True,
    }]


def user(user_id: str) -> dict[str, Any]:
    for candidate in users():
        if candidate["id"] == user_id:
            return candidate
    # The real code for an unknown user is unverified; this follows NotFound_Integration.
    raise ApiError(404, "NotFound_User", f"Cannot find entity 'User' with id '{user_id}'")


def group_not_found(group_id: str) -> ApiError:
    # Fivetran's code for an unknown group is not in the reference; this follows NotFound_Integration.
    return ApiError(404, "NotFound_Group", f"Cannot find entity 'Group' with id '{group_id}'")


class Groups:
    """Groups are fixed at start-up; their creation time is remembered so it stays stable across restarts."""

    def __init__(self, store: Store, group_ids: tuple[str, ...], bigquery_project: str):
        self.ids = group_ids
        self.bigquery_project = bigquery_project
        meta = store.get(META, "groups") or {}
        for group_id in group_ids:
            meta.setdefault(group_id, api_timestamp())
        store.put(META, "groups", meta)
        self._created_at = meta

    def require(self, group_id: str) -> None:
        if group_id not in self.ids:
            raise group_not_found(group_id)

    def group(self, group_id: str) -> dict[str, Any]:
        self.require(group_id)
        return {"id": group_id, "name": group_id, "created_at": self._created_at[group_id]}

    def all(self) -> list[dict[str, Any]]:
        return [self.group(group_id) for group_id in self.ids]

    def destination(self, group_id: str) -> dict[str, Any]:
        self.require(group_id)
        # A group id is its destination id (§1.6).
        return {
            "id": group_id,
            "group_id": group_id,
            "service": "big_query",
            "region": "GCP_US_EAST4",
            "time_zone_offset": "0",
            "daylight_saving_time_enabled": False,
            "setup_status": "connected",
            "networking_method": "Directly",
            "config": {"project_id": self.bigquery_project, "data_set_location": DATA_SET_LOCATION},
        }
