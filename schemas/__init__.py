"""Contracts shared by every moodwatch component: messages, labels, tables, bundles, settings."""
