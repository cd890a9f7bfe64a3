"""Refusals: each names the key path, what is wrong and what is allowed; a stack's problems are collected."""
from __future__ import annotations

NAMESPACE = "bluemind-ha"


class SettingsError(ValueError):
    """An invalid stack: `key`, `problem` and `fix` are the first problem's; `errors` holds every one found."""

    def __init__(self, key: str, problem: str, fix: str):
        self.path = key
        self.key = f"{NAMESPACE}:{key}" if key else NAMESPACE
        self.problem = problem
        self.fix = fix
        self.errors: list[SettingsError] = [self]
        super().__init__(self.line())

    def line(self) -> str:
        return f"{self.key}: {self.problem}.\n  Fix: {self.fix}"

    @classmethod
    def collected(cls, errors: list[SettingsError]) -> SettingsError:
        first = errors[0]
        combined = cls(first.path, first.problem, first.fix)
        combined.errors = list(errors)
        combined.args = ("\n".join(e.line() for e in errors),) if len(errors) == 1 else (
            f"{len(errors)} problems:\n" + "\n".join(e.line() for e in errors),)
        return combined

    def __str__(self) -> str:
        return self.args[0]


def warning_line(warning: tuple[str, str, str]) -> str:
    """A settings warning as `pulumi up` and the plan print it."""
    key, problem, advice = warning
    return f"{NAMESPACE}:{key}: {problem}.\n  Advice: {advice}"


class Skip(Exception):
    """Raised inside a section once a problem was recorded: what depends on the bad value is not checked."""


class Problems:
    """Collects refusals, so that an admin fixes the stack file in one pass (as pcs's validators report)."""

    def __init__(self) -> None:
        self.errors: list[SettingsError] = []
        self._seen: set[str] = set()
        # What is accepted but advised against: (key, problem, advice), each once, in the order found.
        self.warnings: list[tuple[str, str, str]] = []

    def warn(self, key: str, problem: str, advice: str) -> None:
        if (key, problem, advice) not in self.warnings:
            self.warnings.append((key, problem, advice))

    def add(self, key: str, problem: str, fix: str) -> None:
        error = SettingsError(key, problem, fix)
        if error.line() not in self._seen:
            self._seen.add(error.line())
            self.errors.append(error)

    def record(self, error: SettingsError) -> None:
        for e in error.errors:
            self.add(e.path, e.problem, e.fix)

    def run(self, fn, *args, **kwargs):
        """fn's result, or None when it raised a refusal (recorded) or recorded one itself."""
        before = len(self.errors)
        try:
            result = fn(*args, **kwargs)
        except SettingsError as error:
            self.record(error)
            return None
        except Skip:
            return None
        return None if len(self.errors) > before else result

    def raise_if_any(self) -> None:
        if self.errors:
            raise SettingsError.collected(self.errors)
