"""The Streamlit dashboard: trends, filters, posts, alerts, forecast, worker health.

Reads PostgreSQL as the read-only role and Redis; depends on `schemas` only.
"""
