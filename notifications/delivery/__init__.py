"""Notifications raised, stored, rung and e-mailed. The worker (integrations.engine) calls these
services from its `notify_people` activity; no web code is imported here."""
