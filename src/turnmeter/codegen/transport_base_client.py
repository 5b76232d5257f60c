"""Base class of the generated client: hands each operation to a turnmeter transport.

ariadne-codegen copies this file into the generated package. It imports nothing from turnmeter,
so the generated package stays self-contained; the transport (aiohttp, auth, retries, error
translation) is injected and only has to satisfy :class:`GraphQLTransport`.
"""

from __future__ import annotations

import enum
from typing import Any, Protocol

from pydantic import BaseModel

from .base_model import UNSET


class GraphQLTransport(Protocol):
    """What the generated client needs: run one operation, return its ``data`` object.

    With ``decoder=`` (the generated usage methods pass their ``row_decoding.RowDecoder``) it
    returns what the decoder builds from the answer instead.
    """

    async def execute(
        self,
        query: str,
        operation_name: str | None,
        variables: dict[str, Any],
        *,
        decoder: Any = None,
    ) -> Any: ...


class TransportBaseClient:
    """Runs generated operations through an injected :class:`GraphQLTransport`."""

    def __init__(self, transport: GraphQLTransport) -> None:
        self.transport = transport

    async def execute(
        self,
        query: str,
        operation_name: str | None = None,
        variables: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> Any:
        # The body is read inside the transport: get_data() below is synchronous. kwargs (the
        # decoder) go through to the transport, which runs it inside its attempt.
        return await self.transport.execute(
            query, operation_name, dump_variables(variables or {}), **kwargs
        )

    def get_data(self, response: dict[str, Any]) -> dict[str, Any]:
        return response


def dump_variables(variables: dict[str, Any]) -> dict[str, Any]:
    """JSON-ready variables: models by alias with unset fields dropped, enums by value."""
    return {name: _dump(value) for name, value in variables.items() if value is not UNSET}


def _dump(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", by_alias=True, exclude_unset=True)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, list | tuple):
        return [_dump(item) for item in value]
    return value
