#!/usr/bin/python3
"""pyVmomi run against a GuestOps cluster of front ends and host agents (started by the C# test ClusterRolesTests).

--phase main: logs in at front end A, lists every VM and HostSystem through ContainerViews (name,
guest.guestOperationsReady, runtime.host's name), runs ValidateCredentialsInGuest, ListFilesInGuest and StartProgramInGuest on each VM named by
--vm; then uses A's session cookie at front end B (RetrieveContent, CurrentTime); then puts --size-mib random bytes
into the first --vm through a URL from A and gets them back through a URL from B, comparing SHA-256.
--phase transfer: only the file's round trip (--port-b defaults to A).
--phase probe: logs in at A and, for every --vm, reads guest.guestOperationsReady and times one ValidateCredentials
(its fault, if any). Facts go to one JSON object on stdout with every raw SOAP response body (base64) for the schema
check; the C# test asserts. Exit code 0 when the run completed, 3 when pyVmomi or requests cannot be imported.
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

from pyvmomi_harness import fault_info, record_responses


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--phase", choices=["main", "probe", "transfer"], required=True)
    parser.add_argument("--port-a", type=int, required=True)
    parser.add_argument("--port-b", type=int)
    parser.add_argument("--password", required=True)
    parser.add_argument("--guest-user", required=True)
    parser.add_argument("--guest-password", required=True)
    parser.add_argument("--vm", action="append", required=True)
    parser.add_argument("--size-mib", type=int, default=4)
    args = parser.parse_args()

    result = {"responses": [], "errors": [], "facts": {}}
    facts = result["facts"]
    try:
        import requests
        import urllib3
        from pyVim.connect import SmartConnect
        from pyVmomi import vim, SoapAdapter
    except ImportError as exc:
        result["importError"] = str(exc)
        print(json.dumps(result))
        return 3

    urllib3.disable_warnings()
    record_responses(SoapAdapter, result["responses"])
    context = ssl._create_unverified_context()  # the servers' certificates are self-signed
    host = "127.0.0.1"
    try:
        si = SmartConnect(host=host, port=args.port_a, user="root", pwd=args.password, sslContext=context)
        content = si.RetrieveContent()
        facts["apiType"] = content.about.apiType
        creds = vim.vm.guest.NamePasswordAuthentication(username=args.guest_user, password=args.guest_password)
        gom = content.guestOperationsManager
        vms = by_name(content, vim)
        facts["vms"] = {name: describe(vm) for name, vm in vms.items()}
        host_view = content.viewManager.CreateContainerView(content.rootFolder, [vim.HostSystem], True)
        try:
            facts["hosts"] = sorted(h.name for h in host_view.view)
        finally:
            host_view.Destroy()

        if args.phase == "probe":
            facts["probe"] = {}
            for name in args.vm:
                started = time.monotonic()
                entry = {"guestOperationsReady": vms[name].guest.guestOperationsReady}
                try:
                    gom.authManager.ValidateCredentialsInGuest(vm=vms[name], auth=creds)
                    entry["fault"] = None
                except Exception as exc:  # noqa: BLE001 - reported to the C# test
                    entry["fault"] = fault_info(exc)
                entry["seconds"] = time.monotonic() - started
                facts["probe"][name] = entry
            print(json.dumps(result))
            return 0

        facts["guest"] = {}
        for name in args.vm if args.phase == "main" else []:
            vm = vms[name]
            entry = {}
            gom.authManager.ValidateCredentialsInGuest(vm=vm, auth=creds)
            entry["validated"] = True
            listing = gom.fileManager.ListFilesInGuest(vm=vm, auth=creds, filePath="/")
            entry["listed"] = sorted(f.path for f in listing.files or [])
            spec = vim.vm.guest.ProcessManager.ProgramSpec(programPath="/bin/true", arguments="")
            entry["pid"] = gom.processManager.StartProgramInGuest(vm=vm, auth=creds, spec=spec)
            facts["guest"][name] = entry

        # A's session cookie at front end B: no Login there.
        stub_b = SoapAdapter.SoapStubAdapter(host=host, port=args.port_b or args.port_a, version=si._stub.version, sslContext=context)
        stub_b.cookie = si._stub.cookie
        si_b = vim.ServiceInstance("ServiceInstance", stub_b)
        content_b = si_b.RetrieveContent()
        facts["sessionAtB"] = content_b.sessionManager.currentSession.userName
        facts["currentTimeAtB"] = str(si_b.CurrentTime())

        # A file in through a URL from A, back through a URL from B.
        vm_a = vms[args.vm[0]]
        vm_b = by_name(content_b, vim)[args.vm[0]]
        data = os.urandom(args.size_mib * 1024 * 1024)
        facts["sentSha256"] = hashlib.sha256(data).hexdigest()
        facts["sentSize"] = len(data)
        path = "/tmp/cluster-transfer.bin"
        url = gom.fileManager.InitiateFileTransferToGuest(vm_a, creds, path, vim.vm.guest.FileManager.FileAttributes(), len(data), True)
        facts["uploadUrl"] = url
        started = time.monotonic()
        put = requests.put(re.sub(r"^(https?)://\*:", r"\1://" + host + ":", url), data=data, verify=False)
        facts["putSeconds"] = time.monotonic() - started
        facts["putStatus"] = put.status_code
        info = content_b.guestOperationsManager.fileManager.InitiateFileTransferFromGuest(vm_b, creds, path)
        facts["downloadUrl"] = info.url
        started = time.monotonic()
        got = requests.get(re.sub(r"^(https?)://\*:", r"\1://" + host + ":", info.url), verify=False)
        facts["getSeconds"] = time.monotonic() - started
        facts["getStatus"] = got.status_code
        facts["receivedSha256"] = hashlib.sha256(got.content).hexdigest()
        facts["receivedSize"] = len(got.content)
    except Exception as exc:  # noqa: BLE001 - reported to the C# test
        result["errors"].append({"fault": fault_info(exc), "trace": traceback.format_exc()})
    print(json.dumps(result))
    return 0


def by_name(content, vim):
    """Every VM by name, through a ContainerView of the root folder as the community samples list them."""
    view = content.viewManager.CreateContainerView(content.rootFolder, [vim.VirtualMachine], True)
    try:
        return {vm.name: vm for vm in view.view}
    finally:
        view.Destroy()


def describe(vm):
    host = vm.runtime.host
    return {
        "id": vm._moId,
        "guestOperationsReady": vm.guest.guestOperationsReady,
        "host": host.name if host is not None else None,
    }


if __name__ == "__main__":
    sys.exit(main())
