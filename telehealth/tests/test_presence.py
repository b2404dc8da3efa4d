"""telehealth.presence: concurrent changes from many threads (as from several ASGI processes) are
all kept, embedded (process lock over the cache) and on Redis (WATCH/MULTI)."""

import threading

from telehealth import chat as chats
from telehealth import presence


def test_concurrent_joins_are_all_kept_and_leaves_empty_the_room(backend):
    chat_id = f"presence-test-{backend}-{threading.get_ident()}"
    users = [f"user-{n}" for n in range(16)]
    start = threading.Barrier(len(users))

    def join(user):
        start.wait()
        chats.presence_join(chat_id, f"channel-{user}", user)

    threads = [threading.Thread(target=join, args=(user,)) for user in users]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert chats.presence_online(chat_id) == sorted(users)

    for user in users:
        chats.presence_leave(chat_id, f"channel-{user}")
    assert chats.presence_online(chat_id) == []
    assert presence.read(f"chat:presence:{chat_id}") == {}


def test_redis_presence_uses_one_client_per_process(backend):
    if backend != "redis":
        assert presence._redis_client() is None
        return
    assert presence._redis_client() is presence._redis_client()


def test_entries_of_a_crashed_process_go_stale(backend, monkeypatch):
    """A socket whose server died never leaves: once its entry has not been refreshed for
    PRESENCE_STALE_S it no longer counts as online (so the person is notified again); a socket
    that keeps its heartbeat stays online."""
    import time as real_time

    chat_id = f"presence-stale-{backend}"
    clock = {"now": real_time.time()}
    monkeypatch.setattr(chats.time, "time", lambda: clock["now"])
    chats.presence_join(chat_id, "crashed-socket", "alice")
    chats.presence_join(chat_id, "live-socket", "carol")
    assert chats.presence_online(chat_id) == ["alice", "carol"]

    for _ in range(4):  # carol's socket beats, alice's process is gone
        clock["now"] += chats.PRESENCE_HEARTBEAT_S
        chats.presence_join(chat_id, "live-socket", "carol")
    assert chats.presence_online(chat_id) == ["carol"]
    chats.presence_leave(chat_id, "live-socket")
    assert chats.presence_online(chat_id) == []
