"""Operations that take their input as JSON *or* as a form (multipart or urlencoded).

Native clients (mobile apps, partner systems) find JSON easier than multipart; browsers' forms and
many HTTP tools send multipart. A sign-up accepts both, with the same schema and the same checks:
files in a JSON body are objects ``{"name", "content_type"?, "data"}`` with ``data`` in base64 (as
the specification's case-history documents travel), decoded into the same upload a multipart part
would have been, and then checked by content and size by the services (core.uploads).

``json_or_form(request, FormSchema, JSONSchema, files=...)`` returns the validated payload and the
uploads by field; errors are the API's: 422 naming each field, 413 for a body over the limit, 415
for another content type. ``body_openapi`` documents both media types on the operation.
"""

import base64
import binascii
import json

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils.translation import gettext as _
from ninja.errors import ValidationError as NinjaValidationError
from pydantic import Field
from pydantic import ValidationError as PydanticValidationError

from core.errors import DomainError
from core.schemas import Schema, _reject_constant


class BodyError(DomainError):
    def __init__(self, message, status_code):
        super().__init__(message)
        self.status_code = status_code


class Base64File(Schema):
    """A file inside a JSON body."""

    name: str = Field(..., min_length=1, max_length=200, description="The file name, e.g. licence.pdf")
    content_type: str = Field("", max_length=100, description="Informative: the content decides the type")
    data: str = Field(..., min_length=1, description="The file's bytes in base64 (standard or URL-safe alphabet)")


def _decode(field: str, value) -> SimpleUploadedFile:
    try:
        file = Base64File.model_validate(value)
    except PydanticValidationError as exc:
        raise NinjaValidationError([{**e, "loc": (field, *e["loc"])} for e in exc.errors()]) from exc
    data = file.data.strip()
    if data.startswith("data:") and "," in data:  # a data: URL
        data = data.split(",", 1)[1]
    data = "".join(data.split())  # line-wrapped (MIME) base64
    # Refuse before decoding what cannot fit (base64 is 4 characters per 3 bytes).
    if len(data) > (settings.MAX_UPLOAD_MB * 1024 * 1024 * 4) // 3 + 4:
        raise NinjaValidationError([{"loc": (field,), "type": "file_too_large",
                                     "msg": _("The file is larger than %(mb)s MB.") % {"mb": settings.MAX_UPLOAD_MB}}])
    try:
        content = base64.b64decode(data.replace("-", "+").replace("_", "/") + "=" * (-len(data) % 4), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise NinjaValidationError([{"loc": (field, "data"), "type": "base64",
                                     "msg": _("Send the file's bytes in base64.")}]) from exc
    if not content:
        raise NinjaValidationError([{"loc": (field, "data"), "type": "empty_file", "msg": _("The file is empty.")}])
    return SimpleUploadedFile(file.name, content, content_type=file.content_type or "application/octet-stream")


def _validated(schema, raw: dict):
    try:
        return schema.model_validate(raw)
    except PydanticValidationError as exc:
        raise NinjaValidationError(exc.errors()) from exc


def json_or_form(request, form_schema, json_schema, *, files=(), lists=()):
    """(payload, {file field: upload or None}) from a JSON or a form body."""
    content_type = (request.content_type or "").lower()
    if content_type == "application/json":
        try:
            raw = json.loads(request.body or b"null", parse_constant=_reject_constant)
        except RequestDataTooBig as exc:
            raise BodyError(_("The request is too large: send big files as multipart/form-data."), 413) from exc
        except (ValueError, NinjaValidationError) as exc:
            raise BodyError(_("The body is not valid JSON."), 400) from exc
        if not isinstance(raw, dict):
            raise NinjaValidationError([{"loc": (), "type": "object", "msg": _("Send a JSON object.")}])
        uploads = {name: raw.get(name) for name in files}
        payload = _validated(json_schema, {k: v for k, v in raw.items() if k not in files})
        return payload, {name: _decode(name, value) if value is not None else None for name, value in uploads.items()}
    if content_type in ("multipart/form-data", "application/x-www-form-urlencoded"):
        raw = {key: request.POST.getlist(key) if key in lists else request.POST.get(key) for key in request.POST}
        payload = _validated(form_schema, raw)
        return payload, {name: request.FILES.get(name) for name in files}
    raise BodyError(_("Send the body as application/json or multipart/form-data."), 415)


def body_openapi(form_schema, json_schema, *, files=(), required_files=()) -> dict:
    """``openapi_extra`` documenting both bodies (each schema inline, its definitions alongside)."""

    def inline(schema, extra_props: dict):
        definition = schema.model_json_schema(ref_template="#/components/schemas/{model}")
        definition.pop("$defs", None)
        definition["properties"] = {**definition.get("properties", {}), **extra_props}
        required = [*definition.get("required", []), *required_files]
        if required:
            definition["required"] = required
        return definition

    binary = {name: {"type": "string", "format": "binary"} for name in files}
    as_base64 = {name: {"$ref": "#/components/schemas/Base64File"} for name in files}
    return {"requestBody": {"required": True, "content": {
        "application/json": {"schema": inline(json_schema, as_base64)},
        "multipart/form-data": {"schema": inline(form_schema, binary)},
    }}}


def json_schema_defs(*schemas) -> dict:
    """The component definitions the inline bodies refer to (added by config.api)."""
    defs = {"Base64File": Base64File.model_json_schema(ref_template="#/components/schemas/{model}")}
    for schema in schemas:
        defs.update(schema.model_json_schema(ref_template="#/components/schemas/{model}").get("$defs", {}))
    return defs
