#!/usr/bin/python3
"""A guest agent too old for this host: started by the process VM provider in place of guestops-tools (the C# test
PyVmomiGuestFaultTests sets GuestOps:WorkerPath to it). It connects where guestops-tools would (--connect
unix:PATH), sends the channel Hello of protocol version 0 (the host requires at least 2, src/GuestOps.Channel/PROTOCOL.md),
reads the host's Hello, and stays connected-to-nothing until it is killed, like an outdated VMware Tools that still
runs in the guest. Other arguments (the worker's settings) are ignored."""

import json
import socket
import struct
import sys
import time


def main():
    endpoint = sys.argv[sys.argv.index("--connect") + 1]
    assert endpoint.startswith("unix:"), endpoint
    hello = json.dumps({
        "magic": "guestops-channel", "version": 0, "minVersion": 0, "role": 2, "software": "guestops-tools/0.0.1",
        "capabilities": ["op:validateCredentials", "op:listFiles"], "maxFrameSize": 1048576, "streamWindow": 1048576,
    }).encode("utf-8")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as channel:
        channel.connect(endpoint[len("unix:"):])
        # Frame: type 1 (Hello), flags 0, reserved 0, stream id 0, payload length (big-endian).
        channel.sendall(struct.pack(">BBHII", 1, 0, 0, 0, len(hello)) + hello)
        try:
            channel.recv(65536)  # the host's Hello; the host then drops the connection (version mismatch)
        except OSError:
            pass
    time.sleep(3600)


if __name__ == "__main__":
    main()
