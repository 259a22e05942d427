#!/usr/bin/python3
"""pyVmomi run of the guest-operation faults a server must send over SOAP (started by the C# test
PyVmomiGuestFaultTests against its own servers): InvalidPowerState (a VM configured powered off), an interactive
session (auth.interactiveSession=true) refused by a headless guest, FileLocked (guest root deleting a directory the
system holds busy: a mount point such as /proc), TooManyGuestLogons (SSPI logons begun and never
finished, one AcquireCredentialsInGuest first leg after another) and GuestComponentsOutOfDate (a VM whose guest agent
is too old). Each fault is recorded as pyVmomi deserialized it: its wsdl name and its fields, as one JSON object on
stdout with every raw SOAP response body (base64) for the schema check; the C# test asserts. Exit code 0 when the run
completed, 3 when pyVmomi cannot be imported, 4 on an unexpected error.
"""

import argparse
import base64
import json
import ssl
import sys
import traceback

from pyvmomi_harness import find_vm, record_responses


def fault_of(call):
    """Runs call; the fault it raised as {wsdlName, fields...}, or {"wsdlName": "ok"}."""
    try:
        call()
        return {"wsdlName": "ok"}
    except Exception as exc:  # noqa: BLE001 - reported to the C# test
        info = {"wsdlName": getattr(type(exc), "_wsdlName", None) or type(exc).__name__, "msg": getattr(exc, "msg", None) or str(exc)}
        for name in ("requestedState", "existingState", "file", "pid", "sessionID"):
            value = getattr(exc, name, None)
            if value is not None:
                info[name] = value if isinstance(value, (int, str)) else str(value)
        return info


def ntlm_negotiate(domain):
    """The first leg of an SSPI logon: an NTLM NEGOTIATE message as Debian's python3-ntlm-auth makes it (the client
    pyvmomi_sspi.py uses; the NEGOTIATE needs no password hash)."""
    from ntlm_auth.ntlm import NtlmContext
    return NtlmContext("demo", "unused", domain=domain, ntlm_compatibility=3).step()


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--user", default="root")
    parser.add_argument("--password", required=True)
    parser.add_argument("--guest-password", required=True)
    parser.add_argument("--vm-name", required=True, help="a powered-on VM with a guest agent")
    parser.add_argument("--off-vm-name", help="a VM configured poweredOff")
    parser.add_argument("--locked-path", help="a directory the guest holds busy (a mount point), deleted as guest root")
    parser.add_argument("--logons", type=int, default=0, help="SSPI first legs to begin on --vm-name (0: none)")
    parser.add_argument("--old-agent-vm-name", help="a VM whose guest agent is too old")
    args = parser.parse_args()

    result = {"responses": [], "errors": [], "facts": {}}
    facts = result["facts"]
    try:
        from pyVim.connect import SmartConnect, Disconnect
        from pyVmomi import vim, SoapAdapter
    except ImportError as exc:
        result["importError"] = str(exc)
        print(json.dumps(result))
        return 3

    record_responses(SoapAdapter, result["responses"])
    context = ssl._create_unverified_context()  # the server's certificate is self-signed
    try:
        si = SmartConnect(host=args.host, port=args.port, user=args.user, pwd=args.password, sslContext=context)
        content = si.RetrieveContent()
        gom = content.guestOperationsManager
        creds = vim.vm.guest.NamePasswordAuthentication(username="demo", password=args.guest_password)
        spec = vim.vm.guest.ProcessManager.ProgramSpec(programPath="/bin/true", arguments="")
        vm = find_vm(content, vim, args.vm_name)
        facts["ready"] = {"guestOperationsReady": vm.guest.guestOperationsReady,
                          "interactiveGuestOperationsReady": vm.guest.interactiveGuestOperationsReady}
        facts["validated"] = fault_of(lambda: gom.authManager.ValidateCredentialsInGuest(vm=vm, auth=creds))

        # interactiveSession=true: a headless guest has no desktop session to run in.
        interactive = vim.vm.guest.NamePasswordAuthentication(username="demo", password=args.guest_password, interactiveSession=True)
        facts["interactiveStart"] = fault_of(lambda: gom.processManager.StartProgramInGuest(vm=vm, auth=interactive, spec=spec))
        facts["interactiveList"] = fault_of(lambda: gom.fileManager.ListFilesInGuest(vm=vm, auth=interactive, filePath="/tmp"))

        if args.locked_path:
            root = vim.vm.guest.NamePasswordAuthentication(username="root", password=args.guest_password)
            facts["locked"] = fault_of(lambda: gom.fileManager.DeleteDirectoryInGuest(vm=vm, auth=root, directoryPath=args.locked_path, recursive=False))

        if args.off_vm_name:
            off = find_vm(content, vim, args.off_vm_name)
            facts["off"] = {"powerState": str(off.runtime.powerState), "guestOperationsReady": off.guest.guestOperationsReady}
            facts["offList"] = fault_of(lambda: gom.fileManager.ListFilesInGuest(vm=off, auth=creds, filePath="/tmp"))
            facts["offStart"] = fault_of(lambda: gom.processManager.StartProgramInGuest(vm=off, auth=creds, spec=spec))
            facts["offValidate"] = fault_of(lambda: gom.authManager.ValidateCredentialsInGuest(vm=off, auth=creds))

        if args.logons:
            sspi = vim.vm.guest.SSPIAuthentication(sspiToken=base64.b64encode(ntlm_negotiate(args.vm_name.upper())).decode("ascii"))
            outcomes = []
            for _ in range(args.logons):
                outcome = fault_of(lambda: gom.authManager.AcquireCredentialsInGuest(vm=vm, requestedAuth=sspi))
                outcomes.append(outcome["wsdlName"])
                if outcome["wsdlName"] != "GuestAuthenticationChallenge":
                    facts["logonRefused"] = outcome
                    break
            facts["challenges"] = outcomes.count("GuestAuthenticationChallenge")
            facts["logonOutcomes"] = sorted(set(outcomes))
            # Password calls are no logon sessions: they still work.
            facts["validatedAfterLogons"] = fault_of(lambda: gom.authManager.ValidateCredentialsInGuest(vm=vm, auth=creds))

        if args.old_agent_vm_name:
            old = find_vm(content, vim, args.old_agent_vm_name)
            facts["old"] = {"guestOperationsReady": old.guest.guestOperationsReady}
            facts["oldValidate"] = fault_of(lambda: gom.authManager.ValidateCredentialsInGuest(vm=old, auth=creds))
            facts["oldList"] = fault_of(lambda: gom.fileManager.ListFilesInGuest(vm=old, auth=creds, filePath="/tmp"))

        Disconnect(si)
    except Exception:  # noqa: BLE001 - reported to the C# test
        result["errors"].append(traceback.format_exc())
        print(json.dumps(result))
        return 4

    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
