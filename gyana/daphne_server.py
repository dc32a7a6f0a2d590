"""daphne, except that a websocket it must fail is closed with a close frame, not a cut connection.

daphne's `--websocket-max-frame-size` and `--websocket-max-message-size` (1 MiB by default) are
enforced by autobahn from the frame header, before the payload is read, so an oversized frame
never reaches memory. But autobahn "fails by drop" unless told otherwise: it cuts the TCP
connection, and the client sees 1006 (abnormal closure), which it cannot tell from a network
fault. daphne has no option for autobahn's `failByDrop`; this server turns it off on each websocket
it accepts, so autobahn sends 1009 (message too big, with a reason naming the limit), or 1002/1007
for a protocol violation, and discards the rest of the frame unread. A limit enforced in the
consumer instead would come too late: daphne hands it the message only once it is all in memory.

Run it exactly like daphne (same options):
    python -m gyana.daphne_server -b 0.0.0.0 -p 8001 gyana.asgi:application
"""

# daphne.server installs Twisted's asyncio reactor when imported: it must come before anything
# else that imports Twisted (daphne.ws_protocol, autobahn).
from daphne.server import Server  # isort:skip
from daphne.cli import CommandLineInterface  # isort:skip
from daphne.ws_protocol import WebSocketProtocol  # isort:skip


class CloseFrameServer(Server):
    def protocol_connected(self, protocol):
        # Called from the websocket's onConnect, after autobahn copied the factory's options onto
        # it and before any frame is read: the one place daphne lets us set this per socket.
        if isinstance(protocol, WebSocketProtocol):
            protocol.failByDrop = False
        super().protocol_connected(protocol)


class CommandLine(CommandLineInterface):
    server_class = CloseFrameServer


def main() -> None:
    CommandLine.entrypoint()


if __name__ == "__main__":
    main()
