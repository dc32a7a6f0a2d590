"""FlowClient (static/js/flow-client.js) after each close code, in Chromium with a scripted socket:
the close codes come from the generated vocabulary, so these also catch a stale vocabulary.js."""

import pytest

from integrations.vocabulary import (
    CLOSE_FLOODING,
    CLOSE_LIVE_FEED_LOST,
    CLOSE_MESSAGE_TOO_BIG,
    CLOSE_NOT_FOUND,
    CLOSE_NOT_LOGGED_IN,
)
from tests.support.paths import REPO

JS = REPO / "static" / "js"

# A WebSocket stand-in: every socket the client opens is recorded, and the test closes it with a code.
FAKE_SOCKET = """
window.openedSockets = [];
window.WebSocket = function (url) {
  this.url = url; this.readyState = 0; window.openedSockets.push(this);
};
window.WebSocket.OPEN = 1;
window.WebSocket.prototype.send = function () {};
window.WebSocket.prototype.close = function () {};
window.closeLast = function (code) {
  var socket = window.openedSockets[window.openedSockets.length - 1];
  socket.readyState = 3;
  socket.onclose({ code: code, reason: "" });
};
"""


@pytest.fixture
def client_page(chromium):
    page = chromium.new_page()
    page.set_content("<!doctype html><title>flow client</title>")
    page.add_script_tag(content=FAKE_SOCKET)
    page.add_script_tag(content=(JS / "vocabulary.js").read_text())
    page.add_script_tag(content=(JS / "flow-client.js").read_text())
    page.evaluate(
        """() => {
          window.states = [];
          window.client = new FlowClient({
            url: "/ws/integrations/1/", backoffBaseMs: 10, backoffCapMs: 20,
            onState: function (state, info) { window.states.push([state, info && info.code]); },
          });
          window.client.start();
        }"""
    )
    yield page
    page.close()


@pytest.mark.parametrize("code", [CLOSE_NOT_LOGGED_IN, CLOSE_NOT_FOUND])
def test_a_final_close_code_stops_the_client(client_page, code):
    client_page.evaluate(f"closeLast({code})")
    client_page.wait_for_timeout(300)  # many backoff periods of 10-20 ms
    assert client_page.evaluate("openedSockets.length") == 1
    assert client_page.evaluate("states[states.length - 1]") == ["closed", code]


# A too-big frame is not final (FlowClient resends nothing, so the page keeps its live updates), but
# a page that keeps sending such frames must not loop: it waits as long as a flooding one.
@pytest.mark.parametrize("code", [CLOSE_FLOODING, CLOSE_MESSAGE_TOO_BIG])
def test_flooding_or_a_frame_too_big_backs_off_instead_of_reconnecting_at_once(client_page, code):
    client_page.evaluate(f"closeLast({code})")
    client_page.wait_for_timeout(300)
    assert client_page.evaluate("openedSockets.length") == 1
    assert client_page.evaluate("states[states.length - 1][0]") == "reconnecting"


def test_a_dropped_socket_reconnects_quickly(client_page):
    client_page.evaluate("closeLast(1006)")
    client_page.wait_for_function("openedSockets.length === 2", timeout=2000)


def test_a_lost_live_feed_resumes_with_since_after_the_usual_backoff(client_page):
    client_page.evaluate(
        """() => {
          var socket = openedSockets[0];
          socket.readyState = 1; socket.onopen();
          socket.onmessage({ data: JSON.stringify({ type: "snapshot", id: "s", seq: 7, data: {} }) });
        }"""
    )
    client_page.evaluate(f"closeLast({CLOSE_LIVE_FEED_LOST})")
    client_page.wait_for_function("openedSockets.length === 2", timeout=2000)
    assert client_page.evaluate("openedSockets[1].url").endswith("/ws/integrations/1/?since=7")
