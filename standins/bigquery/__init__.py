"""The local BigQuery stand-in (bqemulator, launched offline, with its gaps fixed): see server.py."""
