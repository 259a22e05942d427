#!/usr/bin/python3
"""pyVmomi run of the file-transfer steps of the pyVmomi community samples (upload_file_to_vm.py,
download_file_from_vm.py) against a GuestOps server (started by the C# test PyVmomiTransferTests).

As the samples do: InitiateFileTransferToGuest with a bare vim.vm.guest.FileManager.FileAttributes(), the URL's
'https://*:' replaced by the host with re.sub, then requests.put(url, data=..., verify=False) in a fresh requests
call (no SOAP session cookie); InitiateFileTransferFromGuest, then requests.get(fti.url, verify=False). Facts (sizes,
SHA-256 of what was sent and received, HTTP statuses, attributes, the fault of an overwrite=False on an existing file)
go to one JSON object on stdout with every raw SOAP response body (base64) for the schema check; the C# test asserts.
Exit code 0 when the run completed, 3 when pyVmomi or requests cannot be imported, 4 on an unexpected error.
"""

import argparse
import hashlib
import json
import os
import re
import ssl
import sys
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
        fm = content.guestOperationsManager.fileManager
        vm = find_vm(content, vim, args.vm_name)
        creds = vim.vm.guest.NamePasswordAuthentication(username=args.guest_user, password=args.guest_password)
        base = fm.CreateTemporaryDirectoryInGuest(vm=vm, auth=creds, prefix="pyxfer-", suffix="")

        data = os.urandom(3 * 1024 * 1024 + 17)
        facts["sentSha256"] = hashlib.sha256(data).hexdigest()
        facts["sentSize"] = len(data)
        path = base + "/uploaded.bin"

        # ---- upload_file_to_vm.py
        file_attribute = vim.vm.guest.FileManager.FileAttributes()
        url = fm.InitiateFileTransferToGuest(vm, creds, path, file_attribute, len(data), True)
        facts["uploadUrl"] = url
        url = re.sub(r"^https://\*:", "https://" + args.host + ":", url)
        resp = requests.put(url, data=data, verify=False)
        facts["putStatus"] = resp.status_code
        facts["putAgainStatus"] = requests.put(url, data=data, verify=False).status_code

        facts["overwriteFalse"] = None
        try:
            fm.InitiateFileTransferToGuest(vm, creds, path, file_attribute, 1, False)
        except Exception as exc:  # noqa: BLE001 - reported to the C# test
            facts["overwriteFalse"] = fault_info(exc)

        # ---- download_file_from_vm.py
        fti = fm.InitiateFileTransferFromGuest(vm, creds, path)
        facts["downloadSize"] = fti.size
        facts["downloadAttributesType"] = type(fti.attributes).__name__
        facts["downloadPermissions"] = fti.attributes.permissions
        facts["downloadOwner"] = fti.attributes.ownerId
        facts["downloadUrl"] = fti.url
        get_url = re.sub(r"^https://\*:", "https://" + args.host + ":", fti.url)
        resp = requests.get(get_url, verify=False)
        facts["getStatus"] = resp.status_code
        facts["getContentLength"] = resp.headers.get("Content-Length")
        facts["receivedSha256"] = hashlib.sha256(resp.content).hexdigest()
        facts["getAgainStatus"] = requests.get(get_url, verify=False).status_code

        fm.DeleteDirectoryInGuest(vm=vm, auth=creds, directoryPath=base, recursive=True)
        Disconnect(si)
    except Exception as exc:  # noqa: BLE001
        result["errors"].append({"error": repr(exc), "traceback": traceback.format_exc()})
        print(json.dumps(result, default=str))
        return 4

    print(json.dumps(result, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
