"""Starts Streamlit on the dashboard page (`moodwatch dashboard`)."""

import os
import socket
import sys
from pathlib import Path

from schemas.exit_codes import ExitCode, UserError
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


def check_port_free(port: int) -> None:
    """Streamlit reports a taken port only after its start-up banner; say it first, clearly."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("0.0.0.0", port))  # noqa: S104 - Streamlit listens on every address
        except OSError:
            raise UserError(
                f"port {port} is already in use (another dashboard?)",
                hint="stop it (`make stop`) or set MOODWATCH_DASHBOARD_PORT",
                exit_code=ExitCode.PORT_IN_USE,
            ) from None


def run_dashboard(settings: DashboardSettings) -> int:
    """Replace this process with Streamlit, so that a signal to our pid reaches the server
    itself; a wrapper that forwarded nothing left an orphan holding the port."""
    check_port_free(settings.port)
    command = streamlit_command(settings)
    os.execv(command[0], command)
    return 0  # not reached: execv only returns by raising
