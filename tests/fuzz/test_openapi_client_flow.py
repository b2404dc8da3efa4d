"""A mobile app's whole first session, driven by /api/v1/openapi.json alone: every request is built
from the schema's operation (an operation that is gone or renamed fails here), every request body is
checked against the schema's request body before it is sent, and every answer against the documented
status codes, content type and response schema (schemathesis' checks). So what a client generated
from the OpenAPI would send and expect is what the code takes and answers.

The flow: sign up (JSON, base64 photo), sign in with the e-mail, read me, list doctors, read free
slots, book one, read the appointment back (with its extras), open the appointment's chat, send a
message, read the messages, give emotion-snapshot consent, read the notifications, get a socket
ticket.
"""

import base64
import datetime as dt

import jsonschema_rs
import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from conftest import png_upload
from telehealth.tests.helpers import open_all_week
from tests.fuzz.test_api_schemathesis import wsgi_in_test_transaction  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


class Api:
    """Calls operations by (method, path template) as the OpenAPI names them."""

    def __init__(self):
        self.schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application())
        self.document = self.schema.raw_schema
        self.token = None

    def _check_body(self, method, path, body):
        content = self.document["paths"][path][method.lower()]["requestBody"]["content"]["application/json"]
        resolver = {**content["schema"], "components": self.document["components"]}
        jsonschema_rs.validate(resolver, body)  # what a generated client would send is what the schema says

    def __call__(self, method, path, *, body=None, status=200, **path_parameters):
        operation = self.schema[path][method]
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        kwargs = {"path_parameters": path_parameters or None, "headers": headers}
        if body is not None:
            self._check_body(method, path, body)
            kwargs.update(body=body, media_type="application/json")
        case = operation.Case(**kwargs)
        response = case.call()
        case.validate_response(response, checks=CHECKS)
        assert response.status_code == status, (method, path, response.status_code, response.text[:500])
        return response.json() if response.content else None


def test_a_mobile_app_runs_a_whole_patient_flow_from_the_schema(carol, wsgi_in_test_transaction):  # noqa: F811
    open_all_week(carol)
    api = Api()
    photo = png_upload()
    api("POST", "/api/v1/auth/patient-signup", status=202, body={
        "name": "Mo Bile", "date_of_birth": "1990-01-02", "gender": "other", "phone": "+12025550188",
        "email": "mo@example.com", "password": "Lantern-river-93", "timezone": "UTC",
        "photo": {"name": "me.png", "content_type": "image/png", "data": base64.b64encode(photo.read()).decode()}})
    tokens = api("POST", "/api/v1/auth/login", body={"email": "mo@example.com", "password": "Lantern-river-93"})
    api.token = tokens["access"]
    me = api("GET", "/api/v1/users/me")
    assert me["has_photo"] and me["role"] == "patient"
    patient = api("GET", "/api/v1/patients")["items"][0]

    doctors = api("GET", "/api/v1/doctors")["items"]
    doctor = next(d for d in doctors if d["id"] == str(carol.doctor_profile.pk))
    slots = api("GET", "/api/v1/doctors/{doctor_id}/slots", doctor_id=doctor["id"])
    slot = next(s for s in slots if s["mode"] == "remote" and
                dt.datetime.fromisoformat(s["start"]) > dt.datetime.now(dt.UTC) + dt.timedelta(days=1))
    booked = api("POST", "/api/v1/appointments", status=201, body={
        "patient_id": patient["id"], "doctor_id": doctor["id"], "start": slot["start"], "type": "remote",
        "reason": "Trouble sleeping"})
    appointment = api("GET", "/api/v1/appointments/{appointment_id}", appointment_id=booked["id"])
    assert appointment["reason"] == "Trouble sleeping" and appointment["extras"] == {"call": None, "call_request": None}
    assert booked["id"] in {a["id"] for a in api("GET", "/api/v1/appointments")["items"]}

    chat = api("POST", "/api/v1/chats", body={"appointment_id": booked["id"]})
    api("POST", "/api/v1/messages", status=201, body={"chat_id": chat["id"], "client_id": "app-1", "body": "Hello"})
    messages = api("GET", "/api/v1/chats/{chat_id}/messages", chat_id=chat["id"])
    assert [m["body"] for m in messages["messages"]] == ["Hello"]

    consent = api("PUT", "/api/v1/auth/face-capture/consent", body={"capture": True})
    assert consent["capture"] is True
    api("GET", "/api/v1/notifications")
    assert api("POST", "/api/v1/ws-ticket")["ticket"]
