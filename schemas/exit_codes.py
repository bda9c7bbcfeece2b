"""The exit codes of every `moodwatch` command, and the error type that carries one.

A `UserError` is a mistake a person can fix (a setting, a file, a service that is down): the
CLI prints its message in one or two lines, without a traceback, and exits with its code.
"""

from enum import IntEnum


class ExitCode(IntEnum):
    """Documented in the README; tests assert them, so never renumber one."""

    OK = 0
    BAD_INPUT = 1  # a row of an input file, or a training source, is invalid
    BAD_SETTINGS = 2  # a command-line option or a MOODWATCH_* variable is invalid
    DLQ_CAP = 3  # the dead-letter cap was reached
    DB_DOWN_AT_STOP = 4  # stopped while PostgreSQL stayed down; the open batch is uncommitted
    DLQ_UNAVAILABLE = 5  # dead letters could not be delivered
    STALLED = 6  # the consumer stalled; a restart rejoins
    SERVICE_UNREACHABLE = 7  # Kafka, PostgreSQL or Redis did not answer
    NO_BUNDLE = 8  # the model bundle is missing or unreadable
    PORT_IN_USE = 9  # a port the command must listen on is taken


class UserError(Exception):
    """A failure explained by its message alone; `hint` says what to do about it."""

    exit_code: ExitCode = ExitCode.BAD_INPUT

    def __init__(self, message: str, hint: str = "", exit_code: ExitCode | None = None) -> None:
        super().__init__(message)
        self.hint = hint
        if exit_code is not None:
            self.exit_code = exit_code

    def lines(self) -> list[str]:
        """What the CLI prints: the problem, then what to do (when there is a hint)."""
        return [f"Error: {self}"] + ([f"  {self.hint}"] if self.hint else [])


# One line each, for `--help` and the README's table.
MEANINGS: dict[ExitCode, str] = {
    ExitCode.OK: "done (a long-running command: stopped cleanly by SIGTERM/SIGINT)",
    ExitCode.BAD_INPUT: "a row of an input file, or a training source, is invalid",
    ExitCode.BAD_SETTINGS: "a MOODWATCH_* variable or an option is invalid",
    ExitCode.DLQ_CAP: "the dead-letter cap was reached (MOODWATCH_WORKER_DLQ_MAX_RATIO)",
    ExitCode.DB_DOWN_AT_STOP: "stopped while PostgreSQL stayed down; the open batch is uncommitted",
    ExitCode.DLQ_UNAVAILABLE: "dead letters could not be delivered",
    ExitCode.STALLED: "the consumer stalled; a restart rejoins",
    ExitCode.SERVICE_UNREACHABLE: "Kafka or PostgreSQL did not answer at start",
    ExitCode.NO_BUNDLE: "the model bundle is missing or unreadable",
    ExitCode.PORT_IN_USE: "a port the command must listen on is taken",
}


def exit_codes_help(*codes: ExitCode) -> str:
    """`--help` text: the given codes and what each means."""
    return "Exit codes:\n" + "\n".join(f"{int(code)}  {MEANINGS[code]}" for code in codes)
