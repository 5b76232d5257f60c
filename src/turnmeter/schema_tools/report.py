"""The result of ``schema diff``: what changed for our operations, as text, JSON, exit code."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any


class DiffVerdict(enum.IntEnum):
    """What a schema change means for our operations; its value is ``schema diff``'s exit code.

    The codes are the diff's own contract with CI (0 nothing to do, 1 breaking, 3 regenerate),
    so they live with the report; the CLI returns them as they are.
    """

    NO_IMPACT = 0
    BREAKING = 1
    GENERATED_CODE_CHANGES = 3

    @property
    def word(self) -> str:
        """The verdict as one word, as ``--json`` writes it."""
        return self.name.lower().replace("_", "-")


@dataclass(frozen=True, slots=True)
class SchemaChange:
    """One change: graphql-core's kind (or ours), its message, and the operations it touches."""

    kind: str
    message: str
    operations: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form."""
        return {"kind": self.kind, "message": self.message, "operations": list(self.operations)}

    def __str__(self) -> str:
        touched = f"  [{', '.join(self.operations)}]" if self.operations else ""
        return f"{self.kind}: {self.message}{touched}"


@dataclass(frozen=True, slots=True)
class OperationImpact:
    """Whether one operation of ``queries/`` still validates against the new schema."""

    name: str
    file: str
    valid: bool
    problems: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form."""
        return {
            "name": self.name,
            "file": self.file,
            "valid": self.valid,
            "problems": list(self.problems),
        }


#: The change sections, in the order both forms list them: the field (and JSON key), the title.
_SECTIONS = (
    ("breaking", "Breaking for our operations"),
    ("type_changes", "Type changes of selected fields (operations still validate)"),
    ("codegen", "Generated code would change"),
    ("dangerous", "Dangerous changes on what we use"),
    ("additions", "Additions you may want"),
    ("elsewhere", "Other changes in the TURN subgraph, unused by queries/"),
)


@dataclass(frozen=True, slots=True)
class DiffReport:
    """The impact of a schema change on our operations and on the generated client.

    ``breaking``: an operation stops validating, or a field/argument/input/enum it uses is
    removed or changes incompatibly. ``type_changes``: a selected output field changes type but
    the operation still validates. ``codegen``: generated Python that would change.
    ``dangerous``: graphql-core's dangerous changes on what we use. ``additions``: new fields,
    filter keys and enum values in the TURN subgraph. ``elsewhere``: changes in the TURN
    subgraph that no operation touches.
    """

    old: str
    new: str
    operations: tuple[OperationImpact, ...]
    breaking: tuple[SchemaChange, ...] = ()
    type_changes: tuple[SchemaChange, ...] = ()
    codegen: tuple[SchemaChange, ...] = ()
    dangerous: tuple[SchemaChange, ...] = ()
    additions: tuple[SchemaChange, ...] = ()
    elsewhere: tuple[SchemaChange, ...] = ()

    @property
    def exit_code(self) -> DiffVerdict:
        """1 breaking for our operations, 3 generated code changes, 0 no impact."""
        if self.breaking or not all(op.valid for op in self.operations):
            return DiffVerdict.BREAKING
        if self.codegen:
            return DiffVerdict.GENERATED_CODE_CHANGES
        return DiffVerdict.NO_IMPACT

    @property
    def verdict(self) -> str:
        """One word for the exit code."""
        return self.exit_code.word

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form (``schema diff --json``)."""
        return {
            "old": self.old,
            "new": self.new,
            "verdict": self.verdict,
            "exit_code": int(self.exit_code),
            "operations": [op.to_dict() for op in self.operations],
            **{name: [c.to_dict() for c in getattr(self, name)] for name, _ in _SECTIONS},
        }

    def render(self) -> str:
        """The human report."""
        lines = [f"schema diff: {self.old} -> {self.new}", "", "Operations in queries/:"]
        for op in self.operations:
            lines.append(f"  {'ok  ' if op.valid else 'FAIL'}  {op.name}  ({op.file})")
            lines.extend(f"        {problem}" for problem in op.problems)
        for name, title in _SECTIONS:
            changes = getattr(self, name)
            if changes:
                lines += ["", f"{title} ({len(changes)}):"]
                lines.extend(f"  - {change}" for change in changes)
        lines += ["", f"Verdict: {self.verdict} (exit {int(self.exit_code)})"]
        return "\n".join(lines) + "\n"
