"""Sign-up test helper: what the browser's altcha.js sends, solved honestly with hashlib."""

from accounts import human_check


def solved() -> dict:
    """Form data passing the human check (a fresh challenge each call: each works once)."""
    return {"altcha": human_check.solve(human_check.new_challenge())}
