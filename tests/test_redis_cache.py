"""The Redis cache (cycle2021.redis_cache): Django's, with one client per connection pool."""

import threading

import pytest
from django.conf import settings

from cycle2021.redis_cache import ReusingRedisCache

NEEDS_REDIS = "needs Redis: set REDIS_URL=redis://127.0.0.1:6379/15 (redis-server)"


@pytest.fixture
def redis_cache():
    if not settings.REDIS_URL:
        pytest.skip(NEEDS_REDIS)
    cache = ReusingRedisCache(settings.REDIS_URL, {"KEY_PREFIX": "test-reusing-client"})
    yield cache
    # Only this test's keys: the database may hold the broker's queues.
    cache.delete_many(["a", "b", *(f"t{n}:{i}" for n in range(8) for i in range(50))])


def test_every_call_shares_one_client_and_works_as_django_s(redis_cache):
    client = redis_cache._cache.get_client()
    assert redis_cache._cache.get_client(write=True) is client
    redis_cache.set("a", {"rows": [1, 2]}, 30)
    assert redis_cache.add("b", 1, 30) is True
    assert redis_cache.add("b", 2, 30) is False
    assert redis_cache.incr("b") == 2
    assert redis_cache.get_many(["a", "b", "missing"]) == {"a": {"rows": [1, 2]}, "b": 2}
    redis_cache.delete("a")
    assert redis_cache.get("a") is None
    assert redis_cache._cache.get_client() is client


def test_threads_share_the_client_and_each_gets_its_own_answers(redis_cache):
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(50):
                redis_cache.set(f"t{n}:{i}", n * 1000 + i, 30)
                assert redis_cache.get(f"t{n}:{i}") == n * 1000 + i
        except BaseException as error:  # reported below, not lost in the thread
            errors.append(error)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(redis_cache._cache._clients) == 1
