#!/usr/bin/python3
"""pyVmomi against a real KVM guest served by the qemu-ga provider (started by the C# test QemuGuestProviderTests):
the guest is QEMU booting a Debian kernel whose only agent is qemu-ga on a virtio-serial channel.

Steps, as pyVmomi users write them: ValidateCredentialsInGuest with the right and with a wrong password;
ListFilesInGuest of the account's home and of /etc; StartProgramInGuest of /bin/sh then ListProcessesInGuest(pids=[pid])
until exitCode is set; a file the program wrote, listed with its owner (the guest user, not the agent's root);
a 64 MiB upload (InitiateFileTransferToGuest + requests.put, as upload_file_to_vm.py) and download
(InitiateFileTransferFromGuest + requests.get, as download_file_from_vm.py) compared by SHA-256.
Facts go to one JSON object on stdout with every raw SOAP response body (base64) for the schema check; the C# test
asserts. Exit code 0 when the run completed, 3 when pyVmomi or requests cannot be imported, 4 on an unexpected error.
"""

import argparse
import hashlib
import json
import os
import re
import ssl
import sys
import time
import traceback

from pyvmomi_harness import fault_info, find_vm, record_responses


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--user", default="root")
    parser.add_argument("--password", required=True)
    parser.add_argument("--guest-user", required=True)
    parser.add_argument("--guest-password", required=True)
    parser.add_argument("--vm-name", required=True)
    parser.add_argument("--transfer-mib", type=int, default=64)
    parser.add_argument("--steps", default="auth,files,programs,transfer",
                        help="comma-separated: auth, files, programs, transfer")
    args = parser.parse_args()

    result = {"responses": [], "errors": [], "facts": {}}
    facts = result["facts"]

    try:
        import requests
        import urllib3
        from pyVim.connect import SmartConnect, Disconnect
        from pyVmomi import vim, SoapAdapter
    except ImportError as exc:
        result["importError"] = str(exc)
        print(json.dumps(result))
        return 3

    urllib3.disable_warnings()
    record_responses(SoapAdapter, result["responses"])
    context = ssl._create_unverified_context()  # the server's certificate is self-signed
    try:
        si = SmartConnect(host=args.host, port=args.port, user=args.user, pwd=args.password, sslContext=context)
        content = si.RetrieveContent()
        gom = content.guestOperationsManager
        am, fm, pm = gom.authManager, gom.fileManager, gom.processManager
        vm = find_vm(content, vim, args.vm_name)
        creds = vim.vm.guest.NamePasswordAuthentication(username=args.guest_user, password=args.guest_password)
        home = "/home/" + args.guest_user
        steps = set(args.steps.split(","))

        # ---- GuestAuthManager
        if "auth" in steps:
            auth_step(am, vim, vm, creds, args, facts)
        if "files" in steps:
            etc = fm.ListFilesInGuest(vm=vm, auth=creds, filePath="/etc")
            facts["etcNames"] = [f.path for f in etc.files]
            facts["etcRemaining"] = etc.remaining
        if "programs" in steps:
            programs_step(fm, pm, vim, vm, creds, home, facts)
        if "transfer" in steps:
            transfer_step(fm, vim, vm, creds, home, args, facts, requests)
        Disconnect(si)
    except Exception as exc:  # noqa: BLE001
        result["errors"].append({"error": repr(exc), "traceback": traceback.format_exc()})
        print(json.dumps(result, default=str))
        return 4

    print(json.dumps(result, default=str))
    return 0


def auth_step(am, vim, vm, creds, args, facts):
        am.ValidateCredentialsInGuest(vm=vm, auth=creds)
        facts["validated"] = True
        wrong = vim.vm.guest.NamePasswordAuthentication(username=args.guest_user, password=args.guest_password + "-wrong")
        facts["wrongPassword"] = None
        try:
            am.ValidateCredentialsInGuest(vm=vm, auth=wrong)
        except Exception as exc:  # noqa: BLE001 - reported to the C# test
            facts["wrongPassword"] = fault_info(exc)



def programs_step(fm, pm, vim, vm, creds, home, facts):
        # ---- StartProgramInGuest + ListProcessesInGuest until exitCode (the pyVmomi sample's loop)
        spec = vim.vm.guest.ProcessManager.ProgramSpec(
            programPath="/bin/sh", arguments="-c 'id -u > %s/started-by; exit 7'" % home, workingDirectory=home)
        pid = pm.StartProgramInGuest(vm=vm, auth=creds, spec=spec)
        facts["pid"] = pid
        deadline = time.time() + 300
        info = pm.ListProcessesInGuest(vm=vm, auth=creds, pids=[pid])[0]
        while info.exitCode is None and time.time() < deadline:
            time.sleep(0.5)
            info = pm.ListProcessesInGuest(vm=vm, auth=creds, pids=[pid])[0]
        facts["process"] = {"pid": info.pid, "name": info.name, "owner": info.owner, "exitCode": info.exitCode,
                            "hasEndTime": info.endTime is not None}

        listing = fm.ListFilesInGuest(vm=vm, auth=creds, filePath=home)
        facts["homeFiles"] = {f.path: {"size": f.size, "ownerId": f.attributes.ownerId} for f in listing.files}


def transfer_step(fm, vim, vm, creds, home, args, facts, requests):
        # ---- 64 MiB up and down through the one-time /guestFile URLs
        data = os.urandom(args.transfer_mib * 1024 * 1024)
        facts["sentSize"] = len(data)
        facts["sentSha256"] = hashlib.sha256(data).hexdigest()
        path = home + "/big.bin"
        started = time.time()
        url = fm.InitiateFileTransferToGuest(vm, creds, path, vim.vm.guest.FileManager.FileAttributes(), len(data), True)
        url = re.sub(r"^https://\*:", "https://" + args.host + ":", url)
        facts["putStatus"] = requests.put(url, data=data, verify=False).status_code
        facts["uploadSeconds"] = time.time() - started
        del data

        started = time.time()
        fti = fm.InitiateFileTransferFromGuest(vm, creds, path)
        facts["downloadSize"] = fti.size
        facts["downloadOwner"] = fti.attributes.ownerId
        resp = requests.get(re.sub(r"^https://\*:", "https://" + args.host + ":", fti.url), verify=False)
        facts["getStatus"] = resp.status_code
        facts["receivedSize"] = len(resp.content)
        facts["receivedSha256"] = hashlib.sha256(resp.content).hexdigest()
        facts["downloadSeconds"] = time.time() - started

        fm.DeleteFileInGuest(vm=vm, auth=creds, filePath=path)


if __name__ == "__main__":
    sys.exit(main())
