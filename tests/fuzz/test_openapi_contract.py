"""The OpenAPI document is a contract clients generate code from: one name, one schema; every
status an operation can answer documented; every input checked by core.schemas.Schema."""

import pytest
from ninja import Schema as NinjaSchema
from ninja.openapi.schema import OpenAPISchema

from config.api import ERROR_STATUSES, api
from core.schemas import Schema


def test_it_gives_each_schema_its_own_name(monkeypatch):
    """Two different schemas under one name (TaskOut was a wellness task and a risk follow-up) make
    one operation's documented body the other's."""
    seen, clashes = {}, set()
    original = OpenAPISchema.add_schema_definitions

    def record(self, definitions):
        for name, definition in definitions.items():
            models = seen.setdefault(name, [])
            if definition not in models:
                models.append(definition)
        original(self, definitions)

    monkeypatch.setattr(OpenAPISchema, "add_schema_definitions", record)
    api.get_openapi_schema()
    for name, definitions in seen.items():
        # the same model read for input and for output may differ only in its required/default keys
        shapes = {tuple(sorted(d.get("properties", {}))) if "properties" in d else repr(d) for d in definitions}
        if len(shapes) > 1:
            clashes.add(name)
    assert not clashes, f"schema names used by different schemas: {sorted(clashes)}"


def test_it_documents_the_error_answers_of_every_operation():
    schema = api.get_openapi_schema()
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            assert set(ERROR_STATUSES) <= set(operation["responses"]), f"{method.upper()} {path}"


def _schemas_in(annotation):
    if isinstance(annotation, type) and issubclass(annotation, NinjaSchema):
        yield annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        yield from _schemas_in(arg)


@pytest.mark.parametrize("router_path_view", [
    pytest.param(view, id=path) for router_prefix, router in api._routers
    for path, view in router.path_operations.items()])
def test_every_input_schema_checks_what_the_database_cannot_store(router_path_view):
    """A body schema that derives from ninja's Schema and not core.schemas.Schema would let NUL
    characters, NaN and year-9999 dates through to the database (a 500)."""
    for operation in router_path_view.operations:
        for model in operation.models:
            for field in model.model_fields.values():
                for schema in _schemas_in(field.annotation):
                    assert issubclass(schema, Schema), (
                        f"{operation.view_func.__module__}.{operation.view_func.__name__}: {schema.__name__} "
                        "must derive from core.schemas.Schema")
