"""The connection faults of test_faults_proxy.py, met by a `renew` instead of an `issue`: a run's orders
send through the cheap path (engine/transport.py, straight to the urllib3 pool), which must ride them out
and name them exactly as the requests path does (a reset poll sent again, a reset finalize never sent
twice, a CA that never answers timed out after request_timeout)."""

from __future__ import annotations

from faultproxy import Rule
from test_faults_proxy import FINALIZE, ORDER, Served, ca, proxy  # noqa: F401 - the same fixtures
from test_faults_proxy import served as served  # noqa: F401 - the same fixture

from zerossl_tui.service.service import CertificateService


def test_connection_reset_on_a_poll_is_sent_again_in_a_renew(served: Served) -> None:
    served.proxy.add(Rule("POST", ORDER, action="reset"))
    done = served.home.run("renew", "--force", timeout=60)
    assert done.returncode == 0, done.stderr
    assert served.files()[:2] != served.before[:2]
    outcomes = [e.outcome for e in served.proxy.seen("POST", ORDER)]
    assert outcomes[0] == "reset" and 200 in outcomes[1:]  # (a 400 between them: Pebble's 5% bad nonces)
    retries = [e["message"] for e in served.log()[0]["events"] if e["kind"] == "retry"]
    assert len(retries) == 1 and f"connection to localhost:{served.proxy.port} was" in retries[0]


def test_connection_reset_on_finalize_fails_a_renew_cleanly(served: Served) -> None:
    rule = served.proxy.add(Rule("POST", FINALIZE, action="reset", times=None))
    line = served.fails_cleanly("renew", "--force")
    assert f"connection to localhost:{served.proxy.port} was closed before the CA answered" in line
    assert rule.fired == 1, "a request with a payload is never sent twice"


def test_answer_that_never_comes_times_out_a_renew_after_request_timeout(served: Served) -> None:
    CertificateService().update_table("renewal", {"order_timeout": 1800})
    served.snapshot()
    served.proxy.add(Rule("POST", ORDER, action="hang", times=None, hang_for=600))
    line = served.fails_cleanly("renew", "--force", within=20)
    assert "did not answer in time" in line and "request_timeout" in line
