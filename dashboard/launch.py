"""Starts Streamlit on the dashboard page (`moodwatch dashboard`)."""

import subprocess
import sys
from pathlib import Path

from schemas.settings import DashboardSettings

PAGE = Path(__file__).with_name("app.py")


def streamlit_command(settings: DashboardSettings) -> list[str]:
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(PAGE),
        "--server.port",
        str(settings.port),
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
        # The page's own code does not change while it runs; watching it costs a thread.
        "--server.fileWatcherType",
        "none",
        "--client.toolbarMode",
        "viewer",  # readers get no developer menu
    ]


def run_dashboard(settings: DashboardSettings) -> int:
    return subprocess.call(streamlit_command(settings))
