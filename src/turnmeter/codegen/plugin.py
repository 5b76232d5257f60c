"""The turnmeter plugin for ariadne-codegen: the generated client becomes the fast typed client.

Registered under ``[tool.ariadne-codegen] plugins``. For every operation in ``queries/``:

* ``operations.py`` holds its text as a constant (``TOP_KEYS_BY_EGRESS_GQL``), and the client's
  method sends that constant;
* every TURN usage operation (a list of ``callsTurnUsageAdaptiveGroups``) also gets a frozen
  typed row class and a decoder, written at generation time into ``usage_rows.py`` by the one
  decoder builder (:mod:`turnmeter.decode.builder`), and its client method hands that decoder to
  the transport and returns the rows (msgspec from bytes, the strict walk otherwise);
* every other operation (``TurnNodeLimits``) keeps ariadne's pydantic result model, validated in
  strict mode (a ``"12"`` is not an integer).

The package's ``__init__`` imports its names on first use, so importing ``usage_rows`` does not
import pydantic. Row class names, docstrings and field order come from
``[tool.ariadne-codegen.turnmeter.rows]``; field names from the one name catalog
(:mod:`turnmeter.query.catalog`).
"""

from __future__ import annotations

import ast
import contextlib
from pathlib import Path
from typing import Any, cast

from ariadne_codegen.client_generators.comments import get_comment
from ariadne_codegen.config import get_client_settings
from ariadne_codegen.plugins.base import Plugin
from ariadne_codegen.utils import str_to_snake_case
from graphql import ExecutableDefinitionNode, GraphQLSchema, OperationDefinitionNode

from turnmeter.decode.builder import RowSpec, decoder_source
from turnmeter.decode.shapes import Shape, operation_shape
from turnmeter.errors import QueryError
from turnmeter.query.catalog import field_for_path

OPERATIONS_MODULE = "operations"
ROWS_MODULE = "usage_rows"
DECODING_MODULE = "row_decoding"

_ROWS_HEADER = '''"""Typed rows and their decoders, one per TURN usage operation in queries/.

Written at generation time by turnmeter's ariadne-codegen plugin (turnmeter.decode.builder);
the decoders are row_decoding.RowDecoder instances: msgspec from bytes, a strict walk otherwise.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import msgspec

from .row_decoding import Leaf, RowDecoder, dataclass_view

__all__ = [{names}]
'''

_LAZY_INIT = """
from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
{imports}

__all__ = [{names}]

# Names are imported on first use: importing one module (usage_rows) does not import pydantic.
_MODULES = {{{modules}}}


def __getattr__(name: str) -> Any:
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module {{__name__!r}} has no attribute {{name!r}}")
    value = getattr(import_module(module, __name__), name)
    globals()[name] = value
    return value
"""


class TurnmeterPlugin(Plugin):
    """Operation constants, typed rows and generation-time decoders for ``queries/``."""

    def __init__(self, schema: GraphQLSchema, config_dict: dict[str, Any]) -> None:
        super().__init__(schema=schema, config_dict=config_dict)
        self.settings = get_client_settings(config_dict)
        section = config_dict.get("tool", {}).get("ariadne-codegen", {})
        self.row_config: dict[str, dict[str, Any]] = section.get("turnmeter", {}).get("rows", {})
        self._texts: dict[str, str] = {}
        self._shapes: dict[str, Shape] = {}

    # --- ariadne-codegen hooks -------------------------------------------------------------------

    def generate_operation_str(
        self, operation_str: str, operation_definition: ExecutableDefinitionNode
    ) -> str:
        name = _name(operation_definition)
        self._texts[name] = operation_str
        if isinstance(operation_definition, OperationDefinitionNode):
            # Not a list of TURN groups (the limits): it keeps its pydantic model.
            with contextlib.suppress(QueryError):
                self._shapes[name] = operation_shape(self.schema, operation_definition)
        return operation_str

    def generate_client_method(
        self,
        method_def: ast.FunctionDef | ast.AsyncFunctionDef,
        operation_definition: OperationDefinitionNode,
    ) -> ast.FunctionDef | ast.AsyncFunctionDef:
        name = _name(operation_definition)
        body = [s for s in method_def.body if not _assigns(s, "query")]
        call = next(c for s in body for c in ast.walk(s) if _is_execute(c))
        for keyword in cast(ast.Call, call).keywords:
            if keyword.arg == "query":
                keyword.value = ast.Name(id=_constant(name, "GQL"))
        if name in self._shapes:
            cast(ast.Call, call).keywords.insert(
                3, ast.keyword(arg="decoder", value=ast.Name(id=_constant(name, "DECODER")))
            )
            variables = next(s for s in body if isinstance(s, ast.AnnAssign))
            body = [variables, ast.Return(value=ast.Await(value=cast(ast.Call, call)))]
            method_def.returns = ast.Subscript(
                value=ast.Name(id="list"), slice=ast.Name(id=self._row(name).name)
            )
        else:
            ret = cast(ast.Return, body[-1])
            validate = cast(ast.Call, ret.value)
            validate.keywords.append(ast.keyword(arg="strict", value=ast.Constant(value=True)))
        method_def.body = body
        return ast.fix_missing_locations(method_def)

    def generate_arguments(
        self, arguments: ast.arguments, variable_definitions: Any
    ) -> ast.arguments:
        # Input objects may also come as JSON-ready dicts (what the facade composes): the base
        # client dumps models and passes dicts through.
        for argument in arguments.args:
            annotation = argument.annotation
            if isinstance(annotation, ast.Name) and annotation.id.endswith("_InputObject"):
                argument.annotation = ast.BinOp(
                    left=annotation,
                    op=ast.BitOr(),
                    right=ast.parse("dict[str, Any]", mode="eval").body,
                )
        return arguments

    def generate_client_module(self, module: ast.Module) -> ast.Module:
        constants = [_constant(name, "GQL") for name in sorted(self._texts)]
        rows = sorted(self._row(name).name for name in self._shapes)
        decoders = [_constant(name, "DECODER") for name in sorted(self._shapes)]
        imports: list[ast.stmt] = [
            ast.ImportFrom(
                module=OPERATIONS_MODULE, names=[ast.alias(name=c) for c in constants], level=1
            ),
            ast.ImportFrom(
                module=ROWS_MODULE,
                names=[ast.alias(name=n) for n in sorted(rows + decoders)],
                level=1,
            ),
        ]
        module.body[1:1] = imports
        # The gql() helper wrapped the inline texts; nothing uses it now.
        module.body = [
            s for s in module.body if not (isinstance(s, ast.FunctionDef) and s.name == "gql")
        ]
        return ast.fix_missing_locations(module)

    def generate_init_module(self, module: ast.Module) -> ast.Module:
        self._write(OPERATIONS_MODULE, self._operations_code())
        self._write(ROWS_MODULE, self._rows_code())
        return module

    def generate_init_code(self, generated_code: str) -> str:
        tree = ast.parse(generated_code)
        imports = [s for s in tree.body if isinstance(s, ast.ImportFrom)]
        modules = {
            alias.asname or alias.name: f".{statement.module}"
            for statement in imports
            for alias in statement.names
        }
        extra = dict.fromkeys(self._rows_names(), f".{ROWS_MODULE}")
        extra |= dict.fromkeys(self._operation_names(), f".{OPERATIONS_MODULE}")
        modules |= extra
        lines = [ast.unparse(s) for s in imports]
        lines += [f"from .{module[1:]} import {name}" for name, module in extra.items()]
        header = generated_code[: generated_code.index("\n\n") + 1]
        return header + _LAZY_INIT.format(
            imports="\n".join(f"    {line}" for line in lines),
            names=", ".join(repr(n) for n in sorted(modules)),
            modules=", ".join(f"{n!r}: {m!r}" for n, m in sorted(modules.items())),
        )

    # --- the extra modules ---------------------------------------------------------------------

    def _row(self, operation: str) -> RowSpec:
        config = self.row_config.get(operation, {})
        shape = self._shapes[operation]
        paths = [".".join(leaf.path) for leaf in shape.leaves]
        by_name = {field_for_path(path).name: path for path in paths}
        order = config.get("fields", list(by_name))
        return RowSpec(
            name=config.get("name", f"{operation}Row"),
            doc=config.get("doc", f"One group of {operation}."),
            fields=tuple((field, by_name[field]) for field in order),
        )

    def _rows_names(self) -> list[str]:
        rows = [self._row(name).name for name in self._shapes]
        return sorted(rows + [_constant(name, "DECODER") for name in self._shapes])

    def _operation_names(self) -> list[str]:
        return sorted(_constant(name, "GQL") for name in self._texts)

    def _operations_code(self) -> str:
        lines = ['"""Every operation of queries/ as sent: one constant per operation."""', ""]
        lines.append(f"__all__ = [{', '.join(repr(n) for n in self._operation_names())}]")
        for name in sorted(self._texts):
            lines += ["", f"{_constant(name, 'GQL')} = {_text_literal(self._texts[name])}"]
        return "\n".join(lines) + "\n"

    def _rows_code(self) -> str:
        parts = [_ROWS_HEADER.format(names=", ".join(repr(n) for n in self._rows_names()))]
        for name in sorted(self._shapes):
            parts.append(
                decoder_source(
                    self._shapes[name], name, _constant(name, "DECODER"), self._row(name)
                )
            )
        return "\n\n".join(parts)

    def _write(self, module: str, code: str) -> None:
        # The same header ariadne writes, with the folder's name as the source: stable wherever
        # the queries are read from (turnmeter generate passes an absolute path).
        source = Path(self.settings.queries_path).name
        comment = get_comment(strategy=self.settings.include_comments, source=source)
        package = Path(self.settings.target_package_path) / self.settings.target_package_name
        (package / f"{module}.py").write_text(f"{comment}\n\n{code}", encoding="utf-8")


def _name(definition: ExecutableDefinitionNode) -> str:
    assert definition.name is not None  # ariadne refuses operations without a name
    return definition.name.value


def _constant(operation: str, suffix: str) -> str:
    return f"{str_to_snake_case(operation).upper()}_{suffix}"


def _assigns(statement: ast.stmt, target: str) -> bool:
    return isinstance(statement, ast.Assign) and any(
        isinstance(t, ast.Name) and t.id == target for t in statement.targets
    )


def _is_execute(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "execute"
    )


def _text_literal(text: str) -> str:
    # One string per line, as ariadne's contrib ExtractOperationsPlugin writes them.
    lines = text.splitlines(keepends=True)
    body = "\n".join(f"    {line!r}" for line in lines)
    return f"(\n{body}\n)"
