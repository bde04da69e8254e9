"""The base of every typed Graph result, and safe parsing of Graph's JSON into it."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, TypeVar

import msgspec
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from comms_portal.graph.errors import InvalidResponse

# A typed Graph result: a pydantic model, or (where thousands are parsed a second, as call
# records are) a msgspec struct.
ModelT = TypeVar("ModelT", bound="GraphModel | msgspec.Struct")


class GraphModel(BaseModel):
    """A Graph resource holding only the fields the portal uses."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore", frozen=True)


class ItemBody(GraphModel):
    """Text with its content type (Graph's itemBody)."""

    # https://learn.microsoft.com/graph/api/resources/itembody
    content: str | None = None
    content_type: str | None = Field(default=None, alias="contentType")


class DateTimeTimeZone(GraphModel):
    """A local date and time with the time zone it is expressed in (dateTimeTimeZone)."""

    # https://learn.microsoft.com/graph/api/resources/datetimetimezone
    date_time: datetime = Field(alias="dateTime")
    time_zone: str | None = Field(default=None, alias="timeZone")


def describe_validation_error(error: ValidationError) -> str:
    """Summarise a pydantic error as 'field: problem' pairs."""
    problems = []
    for item in error.errors()[:5]:
        where = ".".join(str(part) for part in item["loc"]) or "(document)"
        problems.append(f"{where}: {item['msg']}")
    return "; ".join(problems)


def parse_model(
    model: type[ModelT],
    document: object,
    *,
    what: str,
    request_id: str | None = None,
    client_request_id: str | None = None,
) -> ModelT:
    """Validate ``document`` as ``model``, turning any mismatch into InvalidResponse."""
    if not isinstance(document, Mapping):
        raise InvalidResponse(
            f"Graph's {what} is not a JSON object.",
            code="invalidResponse",
            request_id=request_id,
            client_request_id=client_request_id,
        )
    try:
        if issubclass(model, msgspec.Struct):
            # Lax as pydantic is: numbers and times given as text are read as such.
            return msgspec.convert(document, model, strict=False)
        return model.model_validate(document)
    except msgspec.ValidationError as error:
        raise InvalidResponse(
            f"Graph's {what} does not match its documentation: {error}.",
            code="invalidResponse",
            request_id=request_id,
            client_request_id=client_request_id,
        ) from None
    except ValidationError as error:
        raise InvalidResponse(
            f"Graph's {what} does not match its documentation: {describe_validation_error(error)}.",
            code="invalidResponse",
            request_id=request_id,
            client_request_id=client_request_id,
        ) from None


def as_object(value: Any) -> dict[str, Any] | None:
    """Return ``value`` when it is a JSON object, else None."""
    return value if isinstance(value, dict) else None
