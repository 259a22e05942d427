#!/usr/bin/python3
"""pyVmomi guest-operations run against a GuestOps server (started by the C# test PyVmomiGuestTests).

Does what the pyVmomi community samples do with guest operations: SmartConnect with an unverified SSL context, find
each VM by name through a ContainerView, read guest.guestOperationsReady and guest.hostName, build a
vim.vm.guest.NamePasswordAuthentication, call content.guestOperationsManager.authManager.ValidateCredentialsInGuest,
and page through a directory with content.guestOperationsManager.fileManager.ListFilesInGuest the way govc does
(maxResults absent, index += entries received, until remaining is 0); then a matchPattern listing, a single file, a
missing path (vim.fault.FileNotFound), and a wrong guest password (vim.fault.InvalidGuestLogin) for both calls.

Prints one JSON object on stdout (the C# test asserts on it), including every raw SOAP response body pyVmomi
received (base64) so the test can validate them against the schemas. Exit code 0 when the run completed (the
assertions are the C# test's job), 3 when pyVmomi cannot be imported, 4 on an unexpected error.
"""

import argparse
import json
import ssl
import sys
import traceback

from pyvmomi_harness import record_responses, fault_info


def file_info(f):
    attributes = f.attributes
    modified = getattr(attributes, "modificationTime", None)
    return {
        "path": f.path,
        "type": f.type,
        "size": f.size,
        "attributesType": type(attributes)._wsdlName if attributes is not None else None,
        "modificationTime": modified.isoformat() if modified is not None else None,
        "ownerId": getattr(attributes, "ownerId", None),
        "groupId": getattr(attributes, "groupId", None),
        "permissions": getattr(attributes, "permissions", None),
        "symlinkTarget": getattr(attributes, "symlinkTarget", None),
    }


def expect_fault(call, fault_class):
    """Runs call; reports whether it raised fault_class."""
    try:
        call()
        return {"raised": False}
    except Exception as exc:  # noqa: BLE001 - any outcome is reported to the C# test
        info = fault_info(exc)
        info["raised"] = True
        info["isExpected"] = isinstance(exc, fault_class)
        return info


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--user", default="root")
    parser.add_argument("--password", required=True)
    parser.add_argument("--guest-user", required=True)
    parser.add_argument("--guest-password", required=True)
    parser.add_argument("--vm-name", action="append", default=[], help="a VM to run the guest operations on (repeatable)")
    parser.add_argument("--directory", required=True, help="the guest directory to page through")
    parser.add_argument("--match-pattern", required=True, help="a matchPattern for a filtered listing of the directory")
    parser.add_argument("--single-file", required=True, help="a guest file (relative to --directory) to list alone")
    args = parser.parse_args()

    result = {"python": sys.version.split()[0], "executable": sys.executable, "responses": [], "errors": []}

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
        guest_ops = content.guestOperationsManager
        auth_manager = guest_ops.authManager
        file_manager = guest_ops.fileManager
        result["authManager"] = {"wsdlType": type(auth_manager)._wsdlName, "moid": auth_manager._moId}
        result["fileManager"] = {"wsdlType": type(file_manager)._wsdlName, "moid": file_manager._moId}

        view = content.viewManager.CreateContainerView(content.rootFolder, [vim.VirtualMachine], True)
        in_view = list(view.view)
        view.Destroy()

        creds = vim.vm.guest.NamePasswordAuthentication(username=args.guest_user, password=args.guest_password)
        wrong = vim.vm.guest.NamePasswordAuthentication(username=args.guest_user,
                                                        password=args.guest_password + "-wrong")
        vms = []
        for name in args.vm_name:
            entry = {"name": name}
            vms.append(entry)
            vm = next((candidate for candidate in in_view if candidate.name == name), None)
            entry["found"] = vm is not None
            if vm is None:
                continue
            entry["moid"] = vm._moId
            entry["guestOperationsReady"] = vm.guest.guestOperationsReady
            entry["hostName"] = vm.guest.hostName
            entry["toolsRunningStatus"] = vm.guest.toolsRunningStatus

            auth_manager.ValidateCredentialsInGuest(vm=vm, auth=creds)
            entry["validated"] = True

            # govc guest.ls: maxResults absent, index += entries received, until remaining is 0.
            pages = []
            files = []
            index = 0
            for _ in range(100):
                listing = file_manager.ListFilesInGuest(vm=vm, auth=creds, filePath=args.directory, index=index)
                received = list(listing.files or [])
                pages.append({"index": index, "count": len(received), "remaining": listing.remaining})
                files.extend(file_info(f) for f in received)
                index += len(received)
                if listing.remaining == 0 or not received:
                    break
            entry["pages"] = pages
            entry["files"] = files

            filtered = file_manager.ListFilesInGuest(vm=vm, auth=creds, filePath=args.directory,
                                                     matchPattern=args.match_pattern)
            entry["filtered"] = [f.path for f in (filtered.files or [])]
            entry["filteredRemaining"] = filtered.remaining

            single_path = args.directory.rstrip("/") + "/" + args.single_file
            single = file_manager.ListFilesInGuest(vm=vm, auth=creds, filePath=single_path)
            entry["single"] = [file_info(f) for f in (single.files or [])]

            entry["missing"] = expect_fault(
                lambda: file_manager.ListFilesInGuest(vm=vm, auth=creds, filePath=args.directory + "/no-such-file"),
                vim.fault.FileNotFound)
            entry["wrongPasswordValidate"] = expect_fault(
                lambda: auth_manager.ValidateCredentialsInGuest(vm=vm, auth=wrong), vim.fault.InvalidGuestLogin)
            entry["wrongPasswordList"] = expect_fault(
                lambda: file_manager.ListFilesInGuest(vm=vm, auth=wrong, filePath=args.directory),
                vim.fault.InvalidGuestLogin)
            # After the failures, the right password works again.
            auth_manager.ValidateCredentialsInGuest(vm=vm, auth=creds)
            entry["validatedAgain"] = True
        result["vms"] = vms

        Disconnect(si)
    except Exception as exc:  # noqa: BLE001
        result["errors"].append({"fault": fault_info(exc), "traceback": traceback.format_exc()})
        print(json.dumps(result))
        return 4

    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
