"""The emulated account: its user, its groups, and each group's BigQuery destination."""

from __future__ import annotations

from typing import Any

from .clock import api_timestamp
from .responses import ApiError
from .store import META, Store

ACCOUNT_ID = "emulated_account"
ACCOUNT_NAME = "Fivetran emulator"
USER_ID = "emulator_user"
DATA_SET_LOCATION = "US"


def account_info() -> dict[str, Any]:
    return {"account_id": ACCOUNT_ID, "account_name": ACCOUNT_NAME, "user_id": USER_ID}


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
