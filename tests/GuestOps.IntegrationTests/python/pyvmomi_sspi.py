#!/usr/bin/python3
"""pyVmomi SSPI logon against a GuestOps server (started by the C# test PyVmomiSspiTests).

Produces NTLM tokens in Python with Debian's python3-ntlm-auth (ntlm_auth.ntlm.NtlmContext, NTLMv2), runs vSphere's
challenge loop with content.guestOperationsManager.authManager.AcquireCredentialsInGuest: an SSPIAuthentication with
the NEGOTIATE message, vim.fault.GuestAuthenticationChallenge carrying the guest's CHALLENGE and a sessionID, the
AUTHENTICATE message with that sessionID, and the returned vim.vm.guest.TicketedSessionAuthentication; then
ListFilesInGuest with the ticket, ReleaseCredentialsInGuest, ListFilesInGuest again (vim.fault.InvalidGuestLogin), and
a logon with a wrong password (vim.fault.InvalidGuestLogin).

Prints one JSON object on stdout (the C# test asserts on it), with every raw SOAP response body pyVmomi received
(base64) so the test can validate them against the schemas. Exit code 0 when the run completed, 3 when pyVmomi or
ntlm_auth cannot be imported, 4 on an unexpected error. Never prints the ticket.
"""

import argparse
import base64
import json
import ssl
import sys
import traceback

from pyvmomi_harness import record_responses, fault_info, find_vm


class _Md4:
    """MD4 (RFC 1320) in pure Python, for the NT hash. OpenSSL 3 (Debian 12) moved MD4 to its legacy provider, which
    Python's hashlib does not load by default, so ntlm_auth's hashlib.new('md4') fails; this stands in for it."""

    def __init__(self, data=b""):
        self._data = bytes(data)

    def update(self, data):
        self._data += bytes(data)

    def digest(self):
        import struct

        def rotl(x, n):
            return ((x << n) | (x >> (32 - n))) & 0xFFFFFFFF

        message = self._data + b"\x80" + b"\x00" * ((55 - len(self._data)) % 64) + struct.pack("<Q", len(self._data) * 8)
        h = [0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476]
        for offset in range(0, len(message), 64):
            x = struct.unpack("<16I", message[offset:offset + 64])
            a, b, c, d = h
            for i in range(16):
                k, s = i, (3, 7, 11, 19)[i % 4]
                a, b, c, d = d, rotl((a + ((b & c) | (~b & d)) + x[k]) & 0xFFFFFFFF, s), b, c
            for i in range(16):
                k, s = (i % 4) * 4 + i // 4, (3, 5, 9, 13)[i % 4]
                a, b, c, d = d, rotl((a + ((b & c) | (b & d) | (c & d)) + x[k] + 0x5A827999) & 0xFFFFFFFF, s), b, c
            for i in range(16):
                k, s = (0, 8, 4, 12, 2, 10, 6, 14, 1, 9, 5, 13, 3, 11, 7, 15)[i], (3, 9, 11, 15)[i % 4]
                a, b, c, d = d, rotl((a + (b ^ c ^ d) + x[k] + 0x6ED9EBA1) & 0xFFFFFFFF, s), b, c
            h = [(v + n) & 0xFFFFFFFF for v, n in zip(h, (a, b, c, d))]
        return struct.pack("<4I", *h)


def _allow_md4():
    import hashlib
    try:
        hashlib.new("md4", b"")
        return
    except ValueError:
        pass
    original = hashlib.new

    def new(name, data=b"", **kwargs):
        if name.lower() == "md4":
            return _Md4(data)
        return original(name, data, **kwargs)

    hashlib.new = new


def logon(auth_manager, vim, vm, context, result, first_session=None):
    """Runs the challenge loop; returns the ticket authentication. Records the legs in result. With first_session, the
    first leg passes that sessionID (as clients that fill every numeric field pass 0 for "none")."""
    token = context.step()
    session = None
    for call in range(1, 10):
        spec = vim.vm.guest.SSPIAuthentication(sspiToken=base64.b64encode(token).decode("ascii"))
        try:
            if session is None and first_session is None:
                answer = auth_manager.AcquireCredentialsInGuest(vm=vm, requestedAuth=spec)
            elif session is None:
                answer = auth_manager.AcquireCredentialsInGuest(vm=vm, requestedAuth=spec, sessionID=first_session)
            else:
                answer = auth_manager.AcquireCredentialsInGuest(vm=vm, requestedAuth=spec, sessionID=session)
        except vim.fault.GuestAuthenticationChallenge as challenge:
            result["challenges"].append({
                "serverChallengeType": type(challenge.serverChallenge)._wsdlName,
                "sessionID": challenge.sessionID,
            })
            session = challenge.sessionID
            token = context.step(base64.b64decode(challenge.serverChallenge.sspiToken))
            continue
        result["calls"] = call
        result["returnedType"] = type(answer)._wsdlName
        return answer
    raise RuntimeError("the exchange did not end")


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--user", default="root")
    parser.add_argument("--password", required=True)
    parser.add_argument("--guest-user", required=True)
    parser.add_argument("--guest-password", required=True)
    parser.add_argument("--guest-domain", required=True, help="the guest's NTLM domain (its NetBIOS name)")
    parser.add_argument("--vm-name", required=True)
    parser.add_argument("--directory", required=True)
    parser.add_argument("--first-session-id", type=int, help="a sessionID to pass on the first leg (e.g. 0)")
    args = parser.parse_args()

    result = {"python": sys.version.split()[0], "responses": [], "errors": [], "challenges": []}
    try:
        from pyVim.connect import SmartConnect, Disconnect
        from pyVmomi import vim, SoapAdapter
        from ntlm_auth.ntlm import NtlmContext
    except ImportError as exc:
        result["importError"] = str(exc)
        print(json.dumps(result))
        return 3

    record_responses(SoapAdapter, result["responses"])
    result["firstLegRequest"] = None
    original_serialize = SoapAdapter.SoapStubAdapter.SerializeRequest

    def recording_serialize(self, mo, info, args_):
        request = original_serialize(self, mo, info, args_)
        if info.wsdlName == "AcquireCredentialsInGuest" and result["firstLegRequest"] is None:
            result["firstLegRequest"] = request.decode("utf-8") if isinstance(request, bytes) else request
        return request

    SoapAdapter.SoapStubAdapter.SerializeRequest = recording_serialize
    _allow_md4()
    context = ssl._create_unverified_context()  # the server's certificate is self-signed
    try:
        si = SmartConnect(host=args.host, port=args.port, user=args.user, pwd=args.password, sslContext=context)
        content = si.RetrieveContent()
        auth_manager = content.guestOperationsManager.authManager
        file_manager = content.guestOperationsManager.fileManager
        vm = find_vm(content, vim, args.vm_name)

        ntlm = NtlmContext(args.guest_user, args.guest_password, domain=args.guest_domain, workstation="PYVMOMI",
                           ntlm_compatibility=3)
        ticket = logon(auth_manager, vim, vm, ntlm, result, args.first_session_id)
        result["ticketLength"] = len(base64.b64decode(ticket.ticket))

        auth_manager.ValidateCredentialsInGuest(vm=vm, auth=ticket)
        result["validated"] = True
        listing = file_manager.ListFilesInGuest(vm=vm, auth=ticket, filePath=args.directory)
        result["files"] = [f.path for f in (listing.files or [])]
        result["owners"] = sorted({getattr(f.attributes, "ownerId", None) for f in (listing.files or [])
                                   if f.path not in (".", "..")})

        auth_manager.ReleaseCredentialsInGuest(vm=vm, auth=ticket)
        result["released"] = True
        try:
            file_manager.ListFilesInGuest(vm=vm, auth=ticket, filePath=args.directory)
            result["afterRelease"] = {"raised": False}
        except Exception as exc:  # noqa: BLE001 - reported to the C# test
            info = fault_info(exc)
            info["raised"] = True
            info["isExpected"] = isinstance(exc, vim.fault.InvalidGuestLogin)
            result["afterRelease"] = info

        wrong = NtlmContext(args.guest_user, args.guest_password + "-wrong", domain=args.guest_domain,
                            workstation="PYVMOMI", ntlm_compatibility=3)
        try:
            logon(auth_manager, vim, vm, wrong, {"challenges": []})
            result["wrongPassword"] = {"raised": False}
        except Exception as exc:  # noqa: BLE001
            info = fault_info(exc)
            info["raised"] = True
            info["isExpected"] = isinstance(exc, vim.fault.InvalidGuestLogin)
            result["wrongPassword"] = info

        Disconnect(si)
    except Exception as exc:  # noqa: BLE001
        result["errors"].append({"fault": fault_info(exc), "traceback": traceback.format_exc()})
        print(traceback.format_exc(), file=sys.stderr)
        print(json.dumps(result))
        return 4

    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
