"""The access matrix engine: rows, cells, and how each cell is requested.

A matrix module (``tests/access/test_<object>_<surface>.py``) declares ``ROWS``: one ``Row`` per
route (URL name, OpenAPI path + method, or websocket route) with one expected outcome per role in
``world.ROLES`` order. ``cells_of(ROWS)`` turns them into one pytest case per (row, role), so a
failure names the route and the person. ``test_coverage.py`` fails when a route has no row.

Cell values:
  200, 403, 404, 405, 422, 401, ...   the HTTP status
  LOGIN    302 to the sign-in page            VERIFY   302 to the second-factor check
  GONE     302 somewhere else (the page's own redirect after the action)
  ACCEPT   the socket was accepted            4401/4403/4410...  the socket's close code
  xf(value, "part", "branch")  the CORRECT value, expected to fail until that branch is merged
"""

import json
from dataclasses import dataclass, field

import pytest
from django.test import Client
from django.urls import reverse

from tests.access.world import ROLE_PEOPLE, ROLES

LOGIN = "login"
VERIFY = "verify"
GONE = "redirect"
ACCEPT = "accept"


@dataclass(frozen=True)
class XF:
    value: object
    reason: str


def xf(value, part: str, branch: str) -> XF:
    return XF(value, f"issue 9: {part}, fixed in branch sec-{branch}")


@dataclass
class Row:
    surface: str            # page | api | socket | download | export | admin
    method: str
    route: str              # URL name (page/download/export/admin), OpenAPI path (api), ws route (socket)
    cells: tuple
    params: dict = field(default_factory=dict)   # URL kwarg -> callable(world) (default: world.params)
    data: object = None     # body: dict or callable(world) -> dict
    clinical: bool = False  # returns clinical fields: a read by others than the patient is audited
    query: str = ""
    note: str = ""

    def __post_init__(self):
        assert len(self.cells) == len(ROLES), f"{self.key}: {len(self.cells)} cells for {len(ROLES)} roles"

    @property
    def key(self) -> str:
        return f"{self.method} {self.route}" + (f" [{self.note}]" if self.note else "")

    def expected(self, role):
        cell = self.cells[ROLES.index(role)]
        return cell.value if isinstance(cell, XF) else cell


def row(surface, method, route, *cells, **kwargs) -> Row:
    return Row(surface, method, route, tuple(cells), **kwargs)


def page(method, name, *cells, **kwargs) -> Row:
    return row("page", method, name, *cells, **kwargs)


def api(method, path, *cells, **kwargs) -> Row:
    return row("api", method, path, *cells, **kwargs)


def cells_of(rows):
    """pytest params: one per row for its plain cells (all its roles requested in one test, every
    mismatch reported), and one per cell that waits for another branch (a strict xfail, so it fails
    loudly the day that branch lands and the cell can be made plain)."""
    params = []
    for r in rows:
        plain = tuple(role for role, cell in zip(ROLES, r.cells) if not isinstance(cell, XF))
        params.append(pytest.param(r, plain, id=r.key))
        for role, cell in zip(ROLES, r.cells):
            if isinstance(cell, XF):
                params.append(pytest.param(r, (role,), id=f"{r.key} | {role}",
                                           marks=pytest.mark.xfail(strict=True, reason=cell.reason)))
    return params


# --- requesting a cell ----------------------------------------------------------------------------

def _kwargs(world, r: Row, names):
    out = {}
    for name in names:
        out[name] = r.params[name](world) if name in r.params else world.params[name]
    return out


def page_url(world, r: Row) -> str:
    from django.urls import get_resolver

    if r.route.startswith("/"):  # an unnamed pattern, by its path
        return r.route + (f"?{r.query}" if r.query else "")
    if ":" in r.route:  # namespaced (admin): the row gives every URL kwarg
        url = reverse(r.route, kwargs={k: fn(world) for k, fn in r.params.items()} or None)
        return url + (f"?{r.query}" if r.query else "")
    resolver = get_resolver()
    possibilities = resolver.reverse_dict.getlist(r.route)
    names = set()
    for possibility, _pattern, _defaults, _converters in possibilities:
        for _result, params in possibility:
            names.update(params)
    url = reverse(r.route, kwargs=_kwargs(world, r, sorted(names)) or None)
    return url + (f"?{r.query}" if r.query else "")


def api_url(world, r: Row) -> str:
    import re

    names = re.findall(r"{(\w+)}", r.route)
    kwargs = _kwargs(world, r, names)
    path = r.route
    for name, value in kwargs.items():
        path = path.replace("{" + name + "}", str(value))
    return path + (f"?{r.query}" if r.query else "")


def _body(world, r: Row):
    return r.data(world) if callable(r.data) else (r.data or {})


def session_client(world, role) -> Client:
    client = Client()
    if role != "anon":
        client.cookies["sessionid"] = world.sessions[role]
    return client


def outcome_of(response):
    if response.status_code == 302:
        location = response["Location"]
        if "/accounts/login/" in location or "/admin/login/" in location:
            return LOGIN
        if "/account/2fa/verify/" in location or "/account/2fa/setup/" in location:
            return VERIFY
        return GONE
    return response.status_code


def request_page(world, r: Row, role):
    client = session_client(world, role)
    url = page_url(world, r)
    method = getattr(client, r.method.lower())
    response = method(url, _body(world, r)) if r.method in ("POST",) else method(url)
    return outcome_of(response), response


def request_api(world, r: Row, role):
    # Verified people send their JWT; a session that owes its second factor has no token to send
    # (API login asks for the code) and tries its session cookie instead.
    client = session_client(world, role) if role in ("anon", "alice_2fa_owed", "carol_2fa_owed") else Client()
    headers = {}
    if role in world.tokens:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {world.tokens[role]}"
    url = api_url(world, r)
    method = getattr(client, r.method.lower())
    if r.method in ("POST", "PUT", "PATCH"):
        response = method(url, json.dumps(_body(world, r)), content_type="application/json", **headers)
    else:
        response = method(url, **headers)
    return response.status_code, response


def request_socket(world, r: Row, role):
    from asgiref.sync import async_to_sync
    from channels.testing import WebsocketCommunicator

    from config.asgi import application

    path = "/" + r.route
    for name, fn in r.params.items():
        path = path.replace(f"<uuid:{name}>", str(fn(world))).replace(f"<str:{name}>", str(fn(world)))
    for name, value in world.params.items():
        path = path.replace(f"<uuid:{name}>", str(value)).replace(f"<str:{name}>", str(value))
    headers = [(b"origin", b"http://testserver")]
    if role != "anon":
        headers.append((b"cookie", f"sessionid={world.sessions[role]}".encode()))

    async def attempt():
        comm = WebsocketCommunicator(application, path, headers=headers)
        connected, code = await comm.connect(timeout=3)
        if not connected:
            return code
        try:
            output = await comm.receive_output(timeout=1)
        except Exception:  # nothing sent yet: accepted and open
            output = {}
        if output.get("type") == "websocket.close":
            return output.get("code", 1000)
        await comm.disconnect()
        return ACCEPT

    return async_to_sync(attempt)(), None


def request_cell(world, r: Row, role):
    if r.surface == "api" or r.route.startswith("/api/"):
        return request_api(world, r, role)
    if r.surface == "socket":
        return request_socket(world, r, role)
    return request_page(world, r, role)


def _request_rolled_back(world, r: Row, role):
    from django.db import transaction

    if r.surface == "socket":  # a consumer's thread may close the connection: no savepoint to hold
        return request_cell(world, r, role)
    with transaction.atomic():
        result = request_cell(world, r, role)
        transaction.set_rollback(True)
    return result


def check_cell(world, r: Row, role) -> str | None:
    """Request one cell (in a savepoint of its own, rolled back); a mismatch as a message."""
    outcome, response = _request_rolled_back(world, r, role)
    expected = r.expected(role)
    if outcome == expected:
        return None
    detail = ""
    if response is not None and hasattr(response, "content"):
        detail = " " + response.content[:200].decode(errors="replace").replace("\n", " ")
    return f"{r.key} as {role}: got {outcome!r}, the matrix says {expected!r}{detail}"


def people_of(role):
    return ROLE_PEOPLE.get(role)


def run_cells(world, r: Row, roles):
    problems = [p for p in (run_cell(world, r, role) for role in roles) if p]
    assert not problems, "\n".join(problems)


def run_cell(world, r: Row, role):
    """Check one cell; with ACCESS_MATRIX_RECORD=<file> set, append the actual outcome there instead
    (to draft the cells of a new row, then review each one before pasting it)."""
    import os

    record = os.environ.get("ACCESS_MATRIX_RECORD")
    if record:
        outcome, _ = _request_rolled_back(world, r, role)
        with open(record, "a") as out:
            out.write(json.dumps({"key": r.key, "surface": r.surface, "role": role, "outcome": outcome}) + "\n")
        return None
    return check_cell(world, r, role)


DRAFT = (None,) * len(ROLES)  # a row being drafted (ACCESS_MATRIX_RECORD fills it); never committed


def matrix_test(rows, *, transactional=False):
    """The test function of a matrix module: ``test_access = matrix_test(ROWS)``. Sockets need
    ``transactional=True``: consumers reach the database from worker threads, which close
    connections, so the world is committed (built per row) instead of shared in a transaction."""
    if transactional:
        @pytest.mark.parametrize(("r", "roles"), cells_of(rows))
        def test_access(committed_world, r, roles):
            run_cells(committed_world, r, roles)
    else:
        @pytest.mark.parametrize(("r", "roles"), cells_of(rows))
        def test_access(world, db, r, roles):
            run_cells(world, r, roles)

    return test_access
