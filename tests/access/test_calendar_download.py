"""The calendar feed: its settings page, and the .ics download (the secret URL is the credential:
calendar apps cannot sign in, so every caller with Alice's link gets Alice's feed)."""

from tests.access.matrix import LOGIN, VERIFY, matrix_test, page, row

ROWS = [
    page("GET", "calendar_feed", LOGIN, 200, VERIFY, 200, 200, 200, VERIFY, 200, 200, 200),
    row("download", "GET", "calendar_feed_ics", 200, 200, VERIFY, 200, 200, 200, VERIFY, 200, 200, 200, clinical=True),
]

test_access = matrix_test(ROWS)
