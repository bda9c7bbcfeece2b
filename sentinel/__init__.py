"""The sentinel: decides every minute whether an emotion spikes, explains and delivers alerts.

Reads the hourly rollup and the posts (the sentinel role), keeps one row per alert episode in
the `alerts` table, and posts each new episode to the configured webhooks.
"""
