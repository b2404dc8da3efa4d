"""A privacy-friendly check that a public sign-up form is sent by a person, not a script: no
third party, no cookie, no tracking.

1. **Proof of work (ALTCHA).** Each sign-up page carries a challenge created with the ``altcha``
   library (v1: SHA-256 of ``salt + number`` for a secret number up to ``HUMAN_CHECK_MAX_NUMBER``,
   signed with ``ALTCHA_HMAC_KEY``, expiring after ``HUMAN_CHECK_MINUTES``). ``static/js/altcha.js``
   finds the number in the browser (about a second), so a person does nothing; a script posting
   thousands of sign-ups pays for each one.
2. **The accessible fallback.** Without JavaScript, without Web Crypto (a page not served over HTTPS
   or localhost) or when solving fails, the form shows a short question in words ("What is 4 plus
   3?"), a labelled text field that works by keyboard and screen reader. Its answer is checked
   against a signed token (the answer's HMAC, never the answer), which expires with the challenge.

Either one passes. Each solved challenge and each question token works once (the cache remembers
it until it would have expired anyway), so one solution cannot be replayed for many sign-ups.
"""

import base64
import datetime as dt
import hashlib
import hmac
import json
import secrets

import altcha
from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.utils import timezone

SIGNING_SALT = "haven.human-check"


def _expiry() -> dt.timedelta:
    return dt.timedelta(minutes=settings.HUMAN_CHECK_MINUTES)


def new_challenge() -> dict:
    """A fresh ALTCHA challenge as the widget reads it (algorithm, challenge, maxNumber, salt, signature)."""
    challenge = altcha.create_challenge_v1(
        algorithm="SHA-256", max_number=settings.HUMAN_CHECK_MAX_NUMBER, hmac_key=settings.ALTCHA_HMAC_KEY,
        expires=timezone.now() + _expiry())
    return challenge.to_dict()


def _use_once(kind: str, value: str) -> bool:
    """True the first time ``value`` is presented (the replay guard)."""
    key = f"human-check:{kind}:" + hashlib.sha256(value.encode()).hexdigest()
    return cache.add(key, 1, timeout=int(_expiry().total_seconds()) + 60)


def verify_solution(payload: str) -> bool:
    """A base64 JSON payload {algorithm, challenge, number, salt, signature} from the widget."""
    if not payload or len(payload) > 2000:
        return False
    try:
        ok, _error = altcha.verify_solution_v1(payload, settings.ALTCHA_HMAC_KEY, check_expires=True)
        if not ok:
            return False
        signature = json.loads(base64.b64decode(payload).decode())["signature"]
    except (ValueError, TypeError, KeyError):
        return False
    return _use_once("pow", str(signature))


def _answer_mac(answer: str, nonce: str) -> str:
    return hmac.new(settings.ALTCHA_HMAC_KEY.encode(), f"{nonce}:{answer}".encode(), hashlib.sha256).hexdigest()


def new_question() -> tuple[int, int, str]:
    """Two small numbers to add and the signed token that checks the answer."""
    a, b = secrets.randbelow(9) + 1, secrets.randbelow(9) + 1
    nonce = secrets.token_urlsafe(12)
    token = signing.dumps({"n": nonce, "h": _answer_mac(str(a + b), nonce)}, salt=SIGNING_SALT, compress=True)
    return a, b, token


def verify_answer(token: str, answer: str) -> bool:
    answer = (answer or "").strip()
    if not token or not answer or len(answer) > 10:
        return False
    try:
        data = signing.loads(token, salt=SIGNING_SALT, max_age=_expiry())
        expected = data["h"]
        nonce = data["n"]
    except (signing.BadSignature, KeyError, TypeError):
        return False
    digits = answer.translate(str.maketrans("٠١٢٣٤٥٦٧٨٩०१२३४५६७८९", "01234567890123456789"))
    if not hmac.compare_digest(_answer_mac(digits, nonce), expected):
        return False
    return _use_once("question", nonce)


def solve(challenge: dict) -> str:
    """The payload a browser would send for ``challenge`` (used by tests and the demo; what
    static/js/altcha.js does)."""
    for number in range(challenge["maxNumber"] + 1):
        if hashlib.sha256(f"{challenge['salt']}{number}".encode()).hexdigest() == challenge["challenge"]:
            return base64.b64encode(json.dumps({
                "algorithm": challenge["algorithm"], "challenge": challenge["challenge"], "number": number,
                "salt": challenge["salt"], "signature": challenge["signature"]}).encode()).decode()
    raise ValueError("unsolvable challenge")
