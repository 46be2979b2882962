"""Turns a resource into the rows of the search index tables, one per searchable value."""

import unicodedata
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Connection, bindparam, delete, insert

from medsvc.errors import Invalid
from medsvc.fhir import pending, references
from medsvc.fhir.datetimes import MAX_BOUND, MIN_BOUND, parse_range
from medsvc.fhir.definitions import ResourceDefinition, SearchParam
from medsvc.fhir.fhirpath import Value
from medsvc.fhir.tables import INDEX_TABLES

Row = dict[str, Any]
_NAME_PARTS = ("family", "given", "prefix", "suffix", "text")
_ADDRESS_PARTS = ("line", "city", "district", "state", "postalCode", "country", "text")


def normalize(text: str) -> str:
    """Case- and accent-insensitive form used for string search (search.html#string)."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def _clip(text: str | None, length: int) -> str | None:
    return text[:length] if text is not None else None


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if not isinstance(value, dict):
        return []
    keys = _NAME_PARTS if "family" in value or "given" in value else _ADDRESS_PARTS
    found: list[str] = []
    for key in keys if any(k in value for k in keys) else value:
        item = value.get(key)
        found += [i for i in (item if isinstance(item, list) else [item]) if isinstance(i, str)]
    return found


def string_rows(value: Value) -> list[Row]:
    return [
        {"value_norm": _clip(normalize(s), 512), "value_exact": _clip(s, 2048)}
        for s in _strings(value[0])
    ]


def token_rows(value: Value) -> list[Row]:
    node = value[0]
    pairs: list[tuple[Any, Any]] = []
    if isinstance(node, bool):
        pairs = [(None, "true" if node else "false")]
    elif isinstance(node, str | int | Decimal):
        pairs = [(None, str(node))]
    elif isinstance(node, dict):
        if "coding" in node:
            pairs = [(c.get("system"), c.get("code")) for c in node["coding"]]
        elif "code" in node:
            pairs = [(node.get("system"), node["code"])]
        elif "value" in node:
            pairs = [(node.get("system"), node["value"])]
    return [
        {"system": _clip(s, 512), "code": _clip(str(c), 512)} for s, c in pairs if c is not None
    ]


def date_rows(value: Value) -> list[Row]:
    node = value[0]
    try:
        if isinstance(node, str):
            low, high = parse_range(node)
            return [{"low": low, "high": high}]
        if isinstance(node, dict) and ("start" in node or "end" in node):
            low = parse_range(node["start"])[0] if "start" in node else MIN_BOUND
            high = parse_range(node["end"])[1] if "end" in node else MAX_BOUND
            return [{"low": low, "high": high}]
        if isinstance(node, dict) and "event" in node:  # Timing
            return [dict(zip(("low", "high"), parse_range(e), strict=True)) for e in node["event"]]
    except Invalid:
        return []  # a partial value the model accepted but no range can be given to
    return []


def reference_rows(value: Value, base_url: str) -> list[Row]:
    node = value[0]
    if isinstance(node, str):
        return [{"url": _clip(node, 2048)}]
    if not isinstance(node, dict):
        return []
    rows: list[Row] = []
    reference = node.get("reference")
    if isinstance(reference, str) and not reference.startswith("#"):
        # Refused spellings (in content stored before they were refused) are kept as a url:
        # only what the write check accepts as local is ever indexed as a local target.
        target = references.local_target(reference, base_url)
        if target:
            rows.append({"target_type": target.type, "target_id": target.id})
        else:
            rows.append({"url": _clip(reference, 2048)})
    identifier = node.get("identifier")
    if isinstance(identifier, dict) and identifier.get("value"):
        rows.append(
            {
                "identifier_system": _clip(identifier.get("system"), 512),
                "identifier_value": _clip(identifier["value"], 512),
            }
        )
    return rows


def quantity_rows(value: Value) -> list[Row]:
    node = value[0]
    if not isinstance(node, dict) or not isinstance(node.get("value"), int | Decimal):
        return []
    return [
        {
            "value": float(node["value"]),
            "system": _clip(node.get("system"), 512),
            "code": _clip(node.get("code"), 128),
            "unit": _clip(node.get("unit"), 128),
        }
    ]


def number_rows(value: Value) -> list[Row]:
    try:
        return [{"value": float(Decimal(str(value[0])))}]
    except (InvalidOperation, ValueError):
        return []


def uri_rows(value: Value) -> list[Row]:
    return [{"value": _clip(value[0], 2048)}] if isinstance(value[0], str) else []


def rows_for(param: SearchParam, resource: dict[str, Any], base_url: str) -> list[Row]:
    rows: list[Row] = []
    for value in param.extract(resource):
        if param.type == "reference":
            rows += reference_rows(value, base_url)
        else:
            rows += _ROW_MAKERS[param.type](value)
    return param.blinder.index_rows(rows) if param.blinder is not None else rows


_ROW_MAKERS = {
    "string": string_rows,
    "token": token_rows,
    "date": date_rows,
    "quantity": quantity_rows,
    "number": number_rows,
    "uri": uri_rows,
}


_INSERTS = {kind: insert(model.__table__) for kind, model in INDEX_TABLES.items()}  # type: ignore[attr-defined]
_DELETES = [
    delete(model.__table__).where(model.__table__.c.resource_pk == bindparam("pk"))  # type: ignore[attr-defined]
    for model in INDEX_TABLES.values()
]
_DELETES_OF_PARAM = {
    kind: delete(model.__table__).where(  # type: ignore[attr-defined]
        model.__table__.c.resource_pk == bindparam("pk"),  # type: ignore[attr-defined]
        model.__table__.c.param == bindparam("param"),  # type: ignore[attr-defined]
    )
    for kind, model in INDEX_TABLES.items()
}


def index_rows(
    definition: ResourceDefinition, resource: dict[str, Any], base_url: str
) -> dict[SearchParam, list[Row]]:
    """The resource's index rows, by search parameter."""
    return {
        param: rows
        for param in definition.indexed_by.for_resource(resource)
        if (rows := rows_for(param, resource, base_url))
    }


def replace_index(
    session: Connection,
    definition: ResourceDefinition,
    resource_pk: int,
    resource: dict[str, Any] | None,
    base_url: str,
    *,
    existing: bool,
    previous: dict[str, Any] | None = None,
) -> None:
    """Replaces the index rows of one resource; None (a delete) leaves it with none.

    With the previous content of an existing resource, only the parameters whose rows
    differ are rewritten: a new version that changes one element (a Slot's status, an
    Appointment's) rewrites one parameter's rows, not every table's.
    """
    new = index_rows(definition, resource, base_url) if resource is not None else {}
    if existing and previous is not None:
        old = index_rows(definition, previous, base_url)
        changed = [p for p in old.keys() | new.keys() if old.get(p) != new.get(p)]
        if changed:
            pending.flush(session)  # rows still held may belong to this resource
        for param in changed:
            if param in old:
                session.execute(
                    _DELETES_OF_PARAM[param.type], {"pk": resource_pk, "param": param.code}
                )
        _insert_rows(session, definition, resource_pk, {p: new[p] for p in changed if p in new})
        return
    if existing:
        pending.flush(session)  # rows still held may belong to this resource
        for statement in _DELETES:
            session.execute(statement, {"pk": resource_pk})
    _insert_rows(session, definition, resource_pk, new)


def _insert_rows(
    session: Connection,
    definition: ResourceDefinition,
    resource_pk: int,
    rows_by_param: dict[SearchParam, list[Row]],
) -> None:
    batches: dict[str, list[Row]] = {}
    for param, rows in rows_by_param.items():
        for row in rows:
            batches.setdefault(param.type, []).append(
                {
                    **row,
                    "resource_pk": resource_pk,
                    "resource_type": definition.type,
                    "param": param.code,
                }
            )
    for param_type, rows in batches.items():
        pending.insert(session, _INSERTS[param_type], rows)
