"""Temporal infrastructure: the client (client.py), workers (worker.py) and the embedded dev server
(devserver.py). The set-up workflows and activities themselves live with the integrations app.

Importing this package loads neither Django nor temporalio: devserver.py runs in `manage.py serve`
before Django's apps are ready.
"""
