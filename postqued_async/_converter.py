"""The one cattrs converter that maps the wire format to the SDK's models.

On the wire names are camelCase and instants are ISO-8601 strings; in Python
names are snake_case and instants are aware datetimes. Fields the server adds
later are ignored and enum values it adds later are kept (see ``_enums``).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from postqued_async._enums import OpenEnum

__all__ = ["converter", "format_instant", "parse_instant", "to_camel"]

_WORD = re.compile(r"_([a-z0-9])")


def to_camel(name: str) -> str:
    """``duration_ms`` -> ``durationMs``."""
    return _WORD.sub(lambda match: match.group(1).upper(), name)


def parse_instant(value: str) -> datetime:
    """Parse an ISO-8601 instant; a server value without offset is UTC."""
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def format_instant(value: datetime) -> str:
    """Format an aware datetime as UTC with a ``Z``, as the API writes them.

    Raises:
        ValueError: the datetime is naive, so the instant it means is unknown.
    """
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{value.isoformat()} has no time zone")
    text = value.astimezone(UTC).isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")


def _make_converter() -> cattrs.Converter:
    # Detailed validation costs about a tenth of a small call's CPU; a payload
    # that does not fit is reported by ``_models.structure`` instead.
    conv = cattrs.Converter(omit_if_default=False, detailed_validation=False)

    conv.register_structure_hook(datetime, lambda value, _: parse_instant(value))
    conv.register_unstructure_hook(datetime, format_instant)

    def structure_open_enum(value: Any, cls: type[OpenEnum]) -> OpenEnum:
        return cls(value)

    conv.register_structure_hook_func(
        lambda cls: isinstance(cls, type) and issubclass(cls, OpenEnum),
        structure_open_enum,
    )

    def structure_factory(cls: type[Any]) -> Any:
        renames = {
            field.name: override(rename=to_camel(field.name))
            for field in attrs.fields(cls)
        }
        return make_dict_structure_fn(cls, conv, **renames)  # type: ignore[arg-type]

    def unstructure_factory(cls: type[Any]) -> Any:
        renames = {
            field.name: override(rename=to_camel(field.name), omit_if_default=True)
            for field in attrs.fields(cls)
        }
        return make_dict_unstructure_fn(cls, conv, **renames)  # type: ignore[arg-type]

    conv.register_structure_hook_factory(attrs.has, structure_factory)
    conv.register_unstructure_hook_factory(attrs.has, unstructure_factory)
    return conv


converter = _make_converter()
