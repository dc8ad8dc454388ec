"""The scale driver's list-then-watch against a fake API server (no cluster): every object is handed
over once from the list and then from the watch, and an await ends when every wanted app is done,
or reports that the timeout came first."""
import queue
import threading
import unittest

from e2e.scale import driver


def app(name, ready):
    return {"metadata": {"namespace": "ns", "name": name, "generation": 1},
            "status": {"observedGeneration": 1, "conditions": [{"type": "Ready", "status": str(ready)}]}}


class FakeKube:
    """Lists the given items at resourceVersion 7; the watch yields what the test puts in events."""

    def __init__(self, items):
        self.items = items
        self.events = queue.Queue()
        self.watched_from = None

    def call(self, method, path, body=None, ctype=None):
        return {"metadata": {"resourceVersion": "7"}, "items": self.items}

    def watch(self, path, rv, stop):
        self.watched_from = rv
        while not stop.is_set():
            try:
                yield self.events.get(timeout=0.05)
            except queue.Empty:
                pass


class ListAndWatchTest(unittest.TestCase):

    def test_listed_items_then_watched_changes_reach_the_handler_in_order(self):
        kube = FakeKube([app("a", True)])
        got = []
        done = threading.Event()
        stop = threading.Event()

        def handle(typ, obj):
            got.append((typ, obj["metadata"]["name"]))
            if len(got) == 2:
                done.set()

        th = driver.list_and_watch(kube, driver.APPS, handle, stop)
        kube.events.put(("MODIFIED", app("b", False)))
        self.assertTrue(done.wait(5))
        stop.set()
        th.join(5)
        self.assertFalse(th.is_alive())
        self.assertEqual([("ADDED", "a"), ("MODIFIED", "b")], got)
        self.assertEqual("7", kube.watched_from)


class AwaitAppsTest(unittest.TestCase):

    def test_ends_once_every_wanted_app_is_done_each_told_once(self):
        kube = FakeKube([app("a", True), app("b", False), app("other", True)])
        told = []
        threading.Timer(0.1, lambda: kube.events.put(("MODIFIED", app("b", True)))).start()
        threading.Timer(0.2, lambda: kube.events.put(("MODIFIED", app("a", True)))).start()
        self.assertTrue(driver.await_apps(kube, driver.ready_for_generation, {"ns/a", "ns/b"},
                                          lambda key, t: told.append(key), 10))
        self.assertEqual(["ns/a", "ns/b"], told)

    def test_reports_the_timeout_when_an_app_never_gets_there(self):
        kube = FakeKube([app("a", True), app("b", False)])
        told = []
        self.assertFalse(driver.await_apps(kube, driver.ready_for_generation, {"ns/a", "ns/b"},
                                           lambda key, t: told.append(key), 0.3))
        self.assertEqual(["ns/a"], told)

    def test_a_deleted_app_does_not_count_as_done(self):
        kube = FakeKube([])
        kube.events.put(("DELETED", app("a", True)))
        self.assertFalse(driver.await_apps(kube, driver.ready_for_generation, {"ns/a"}, lambda k, t: None, 0.3))


if __name__ == "__main__":
    unittest.main()
