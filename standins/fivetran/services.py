"""The services the emulator knows, read straight from connectors/services.yaml.

The emulator stays independent of connectors.catalogue (and of Django): it only needs the id,
name, category, and whether a service is a database or a single-table connector.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

SERVICES_YAML = Path(__file__).resolve().parents[2] / "connectors" / "services.yaml"


@dataclass(frozen=True)
class ServiceInfo:
    id: str
    name: str
    category: str
    is_database: bool
    static_config: dict[str, Any] = field(default_factory=dict)

    @property
    def single_table(self) -> bool:
        return "table" in self.static_config


@lru_cache(maxsize=1)
def load_services(path: Path = SERVICES_YAML) -> dict[str, ServiceInfo]:
    with open(path, encoding="utf-8") as fh:
        raw = yaml.safe_load(fh) or {}
    return {
        service_id: ServiceInfo(
            id=service_id,
            name=str(entry.get("name") or service_id),
            category=str(entry.get("category") or "API"),
            is_database=bool(entry.get("requires_schema_prefix")),
            static_config=dict(entry.get("static_config") or {}),
        )
        for service_id, entry in raw.items()
    }
