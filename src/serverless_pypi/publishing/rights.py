"""Who may upload which project: a grant (all projects, or some globs) checked against the
project of the checked upload form. Stdlib only (no token verification here)."""

from __future__ import annotations

from dataclasses import dataclass

from serverless_pypi.errors import Forbidden
from serverless_pypi.publishing.publishers import matches_any

Permissions = tuple[tuple[str, tuple[str, ...]], ...]


@dataclass(frozen=True, slots=True)
class Grant:
    """``who`` (for messages and logs: a username or a trusted publisher) may upload the
    projects matching ``projects``; None: every project. ``name`` is the bare username or
    publisher, as the audit trail records it."""

    who: str
    projects: tuple[str, ...] | None
    name: str = ""

    def check(self, project: str) -> None:
        if self.projects is not None and not matches_any(project, self.projects):
            raise Forbidden(
                f"{self.who} may not upload to project {project!r} "
                f"(allowed: {', '.join(self.projects) or 'none'})."
            )


def group_globs(groups: tuple[str, ...], permissions: Permissions) -> tuple[str, ...]:
    """The project globs the ``upload_permissions`` give these groups (in configured order)."""
    member = set(groups)
    globs: list[str] = []
    for group, patterns in permissions:
        if group in member:
            globs.extend(p for p in patterns if p not in globs)
    return tuple(globs)
