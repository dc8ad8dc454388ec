"""jfr_threads.summarize: counts by thread group and the operator's own top frame, inside the window only."""
import unittest

from e2e.tenancy import jfr_threads


def sample(t, thread, *frames):
    return {"values": {"startTime": "2026-12-01T%s.000Z" % t, "sampledThread": {"javaName": thread},
                       "stackTrace": {"frames": [{"method": {"type": {"name": c}, "name": m}} for c, m in frames]}}}


class Summarize(unittest.TestCase):
    def test_groups_threads_and_finds_the_operators_frame(self):
        events = [
            sample("13:38:41", "vert.x-eventloop-thread-1", ("io/netty/X", "read")),
            sample("13:38:42", "vert.x-eventloop-thread-0", ("io/netty/X", "read"), ("dev/zdt/operator/gate/GateResource", "pod")),
            sample("13:38:43", "zdt-drain-gate", ("java/util/HashMap", "put"), ("dev/zdt/operator/gate/AppHolds", "pass")),
            sample("13:40:00", "zdt-drain-gate", ("dev/zdt/operator/gate/AppHolds", "pass")),  # outside the window
        ]
        s = jfr_threads.summarize(events, "13:38:40", "13:39:30")
        self.assertEqual(s["samples"], 3)
        self.assertEqual(s["byThread"]["vert.x-eventloop-thread"], {"samples": 2, "share": 0.667})
        self.assertEqual(s["byThread"]["zdt-drain-gate"]["samples"], 1)
        self.assertEqual(s["topOperatorFrames"], {"GateResource.pod": 1, "AppHolds.pass": 1})


if __name__ == "__main__":
    unittest.main()
