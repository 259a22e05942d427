#!/usr/bin/python3
"""pyVmomi acceptance run against a GuestOps server (started by the C# test PyVmomiAcceptanceTests).

Does what the pyVmomi community samples do: SmartConnect with an unverified SSL context, find every VM by name
through a ContainerView, read name / runtime.powerState / guest.guestOperationsReady, FindByInventoryPath,
FindByUuid(None, uuid, True), read content.guestOperationsManager.fileManager, Logout (Disconnect); then checks that
a call after Logout raises vim.fault.NotAuthenticated and that a wrong password raises vim.fault.InvalidLogin.

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


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--user", default="root")
    parser.add_argument("--password", required=True)
    parser.add_argument("--vm-name", action="append", default=[], help="a VM to find by name (repeatable)")
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
        result["soapAction"] = getattr(si._stub, "versionId", None)
        content = si.RetrieveContent()
        result["about"] = {"apiType": content.about.apiType, "apiVersion": content.about.apiVersion,
                           "name": content.about.name}
        session = content.sessionManager.currentSession
        result["currentSessionUser"] = session.userName if session is not None else None

        view = content.viewManager.CreateContainerView(content.rootFolder, [vim.VirtualMachine], True)
        in_view = list(view.view)
        result["viewMoids"] = [vm._moId for vm in in_view]

        def find_by_name(name):
            # pchelper.search_for_obj: walk the view, compare names
            for candidate in in_view:
                if candidate.name == name:
                    return candidate
            return None

        names = args.vm_name or [vm.name for vm in in_view]
        vms = []
        for name in names:
            entry = {"name": name}
            vm = find_by_name(name)
            if vm is None:
                entry["found"] = False
                vms.append(entry)
                continue
            entry["found"] = True
            entry["moid"] = vm._moId
            entry["readName"] = vm.name
            entry["powerState"] = str(vm.runtime.powerState)
            ready = vm.guest.guestOperationsReady
            entry["guestOperationsReady"] = ready
            entry["guestOperationsReadyType"] = type(ready).__name__
            uuid = vm.config.uuid
            entry["uuid"] = uuid
            by_path = content.searchIndex.FindByInventoryPath("ha-datacenter/vm/" + name)
            entry["byInventoryPath"] = by_path._moId if by_path is not None else None
            by_uuid = content.searchIndex.FindByUuid(None, uuid, True)
            entry["byUuid"] = by_uuid._moId if by_uuid is not None else None
            vms.append(entry)
        result["vms"] = vms
        view.Destroy()

        file_manager = content.guestOperationsManager.fileManager
        result["fileManager"] = {"wsdlType": type(file_manager)._wsdlName, "moid": file_manager._moId}

        Disconnect(si)  # RetrieveServiceContent + Logout, as every sample ends
        try:
            si.CurrentTime()
            result["afterLogout"] = {"raised": False}
        except Exception as exc:  # noqa: BLE001 - any outcome is reported to the C# test
            info = fault_info(exc)
            info["raised"] = True
            info["isNotAuthenticated"] = isinstance(exc, vim.fault.NotAuthenticated)
            result["afterLogout"] = info

        try:
            SmartConnect(host=args.host, port=args.port, user=args.user, pwd=args.password + "-wrong",
                         sslContext=context)
            result["wrongPassword"] = {"raised": False}
        except Exception as exc:  # noqa: BLE001
            info = fault_info(exc)
            info["raised"] = True
            info["isInvalidLogin"] = isinstance(exc, vim.fault.InvalidLogin)
            result["wrongPassword"] = info
    except Exception as exc:  # noqa: BLE001
        result["errors"].append({"fault": fault_info(exc), "traceback": traceback.format_exc()})
        print(json.dumps(result))
        return 4

    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
