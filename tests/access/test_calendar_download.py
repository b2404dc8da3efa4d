"""The calendar feed: its settings page, and the .ics download (the secret URL is the credential:
calendar apps cannot sign in, so every caller with Alice's link gets Alice's feed)."""

from tests.access.matrix import GONE, LOGIN, VERIFY, matrix_test, page, row

# Whoever fetches Carol's feed, the read is audited (actor: Carol, the link's owner).
FEED_READERS = {"anon", "alice", "grace", "bob", "carol", "dave", "hana", "ada"}

ROWS = [
    page("GET", "calendar_feed", LOGIN, 200, VERIFY, 200, 200, 200, VERIFY, 200, 200, 200, GONE),
    # Alice's own feed: whoever holds her link reads her own appointments (not an audited read: the
    # link is her credential, as her session is for her pages).
    row("download", "GET", "calendar_feed_ics", 200, 200, VERIFY, 200, 200, 200, VERIFY, 200, 200, 200, GONE),
    # Dr. Carol's feed lists Alice's appointment: every fetch is audited (actor: Carol, the link's owner).
    row("download", "GET", "calendar_feed_ics", 200, 200, VERIFY, 200, 200, 200, VERIFY, 200, 200, 200, GONE, clinical=FEED_READERS,
        params={"token": lambda w: w.carol_feed.token}, note="doctor's feed"),
]

test_access = matrix_test(ROWS)
