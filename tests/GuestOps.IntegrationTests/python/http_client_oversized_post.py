#!/usr/bin/python3
"""POSTs an oversized body to a GuestOps server's /sdk with Python's http.client over TLS, as pyVmomi's transport does:
the whole body is sent (with a Content-Length) before the answer is read. Started by the C# test HostileSoapTests.

Prints one JSON object on stdout: the status line and body of the answer, or the error http.client raised (e.g.
ssl.SSLEOFError or BrokenPipeError when the server closes the connection without reading the body). Exit code 0 when
an answer was read, 4 otherwise.
"""

import argparse
import http.client
import io
import json
import ssl
import sys
import traceback


class Filler(io.RawIOBase):
    """size bytes of a SOAP envelope that never ends (a huge password), produced in blocks so that the client's own
    memory stays small; http.client reads a file body in blocks and sends each before reading the next."""

    def __init__(self, size):
        self._prefix = (b'<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope '
                        b'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>'
                        b'<Login xmlns="urn:vim25"><_this type="SessionManager">SessionManager</_this>'
                        b'<userName>root</userName><password>')
        self._left = size
        self._offset = 0
        self.sent = 0

    def readable(self):
        return True

    def readinto(self, buffer):
        n = min(len(buffer), self._left)
        if n <= 0:
            return 0
        buffer[:n] = b"a" * n
        if self._offset < len(self._prefix):
            head = self._prefix[self._offset:self._offset + n]
            buffer[:len(head)] = head
            self._offset += len(head)
        self._left -= n
        self.sent += n
        return n


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--size", type=int, required=True, help="bytes of the body")
    args = parser.parse_args()

    result = {"responses": [], "errors": []}
    context = ssl._create_unverified_context()  # the server's certificate is self-signed
    body = Filler(args.size)
    connection = http.client.HTTPSConnection(args.host, args.port, context=context, timeout=120)
    try:
        connection.request("POST", "/sdk", body=io.BufferedReader(body, 64 * 1024), headers={
            "Content-Type": "text/xml; charset=utf-8",
            "SOAPAction": '"urn:vim25/8.0.3.0"',
            "Content-Length": str(args.size),
        })
        result["sent"] = body.sent
        response = connection.getresponse()
        result["status"] = response.status
        result["reason"] = response.reason
        result["connection"] = response.getheader("Connection")
        result["body"] = response.read().decode("utf-8", "replace")
    except Exception as exc:  # noqa: BLE001 - reported to the C# test
        result["errors"].append({"error": type(exc).__name__, "message": str(exc), "sent": body.sent,
                                 "traceback": traceback.format_exc()})
        print(json.dumps(result))
        return 4
    finally:
        connection.close()

    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
