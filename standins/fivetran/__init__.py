"""A local stand-in for the subset of Fivetran's REST API this product uses.

`create_app()` (app.py) builds the ASGI app; `python -m standins.fivetran` serves it with uvicorn.
Shapes follow docs/reference/fivetran-api.md §2 and §6 and the fixtures next to it.
"""
