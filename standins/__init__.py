"""Local stand-ins for the services the product talks to: not part of the product.

`standins.fivetran` emulates Fivetran's REST API (and writes what it syncs into BigQuery);
`standins.bigquery` serves BigQuery's REST API locally. They need the `standins` extra
(starlette, uvicorn, bqemulator, duckdb); a production install leaves it out, and no product
package imports them (an import-linter contract in pyproject.toml says so).
"""
