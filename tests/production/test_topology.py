"""The shipped production topology, driven from outside (issue 19, "Proof in the suite")."""

from __future__ import annotations

from tests.live import LiveSession, csrf_token_of, raw_request


def test_healthz_answers_through_nginx_and_on_every_node(topology):
    assert raw_request(topology.base_url, "/healthz").status == 200
    for name in topology.web_ports:
        assert raw_request(topology.node_url(name), "/healthz").status == 200
