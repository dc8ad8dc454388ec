"""The HAProxy sampler (python3 -m unittest discover -s e2e): its reading of `show servers state`,
over the answer recorded from a real HAProxy 2.6 that the Java verifier's tests read too, and one
sample asked of a local socket that answers as the runtime API does."""
import os
import socket
import threading
import unittest

from e2e.rollout import haproxy_sampler as sampler

HERE = os.path.dirname(os.path.abspath(__file__))
RECORDED = os.path.join(HERE, "..", "..", "src", "test", "resources", "haproxy", "show-servers-state.txt")


class RoutedTest(unittest.TestCase):
    def test_only_servers_that_take_new_requests_are_listed(self):
        with open(RECORDED) as f:
            text = f.read()
        # shop/up and other/o1: UP; down (checks failed), maint, drain, weight 0 and the unresolved DNS slots are not.
        self.assertEqual(sampler.routed(text), ["http://127.0.0.11:18901", "http://127.0.0.11:18901"])

    def test_other_text_is_refused(self):
        for text in ("Permission denied\n", "1\n3 app 1 s1 10.0.0.1 2 0 1\n", "1\n# be_id be_name\n"):
            with self.assertRaises(ValueError):
                sampler.routed(text)


class SampleTest(unittest.TestCase):
    def test_one_command_per_connection_for_the_backend(self):
        with open(RECORDED, "rb") as f:
            answer = f.read()
        srv = socket.create_server(("127.0.0.1", 0))
        asked = []

        def serve():
            conn, _ = srv.accept()
            with conn:
                asked.append(conn.recv(100).decode())
                conn.sendall(answer)

        t = threading.Thread(target=serve)
        t.start()
        client = sampler.Client("127.0.0.1:%d" % srv.getsockname()[1], "shop", 2.0)
        self.assertEqual(client.servers(), ["http://127.0.0.11:18901", "http://127.0.0.11:18901"])
        t.join()
        srv.close()
        self.assertEqual(asked, ["show servers state shop\n"])


if __name__ == "__main__":
    unittest.main()
