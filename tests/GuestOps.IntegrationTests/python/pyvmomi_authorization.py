#!/usr/bin/python3
"""pyVmomi authorization run against a GuestOps server (started by the C# test PyVmomiAuthorizationTests).

As root: creates a local user through content.accountManager.CreateUser, a role holding only
VirtualMachine.GuestOperations.Query through content.authorizationManager.AddAuthorizationRole, and grants it on the VM
with SetEntityPermissions. As that user: finds the VM, ListFilesInGuest succeeds, StartProgramInGuest raises
vim.fault.NoPermission, and HasPrivilegeOnEntity (for the user's own session) says Query yes, Execute no. As root
again: reads the user's audit events back with content.eventManager.QueryEvents.

Prints one JSON object on stdout (the C# test asserts on it), with every raw SOAP response body pyVmomi received
(base64). Exit code 0 when the run completed, 3 when pyVmomi cannot be imported, 4 on an unexpected error.
"""

import argparse
import json
import ssl
import sys
import traceback

from pyvmomi_harness import record_responses, fault_info, find_vm

QUERY = "VirtualMachine.GuestOperations.Query"
EXECUTE = "VirtualMachine.GuestOperations.Execute"


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--root-password", required=True)
    parser.add_argument("--user", required=True)
    parser.add_argument("--user-password", required=True)
    parser.add_argument("--guest-user", required=True)
    parser.add_argument("--guest-password", required=True)
    parser.add_argument("--vm-name", required=True)
    parser.add_argument("--directory", required=True)
    args = parser.parse_args()

    result = {"python": sys.version.split()[0], "responses": [], "errors": []}
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
        root = SmartConnect(host=args.host, port=args.port, user="root", pwd=args.root_password, sslContext=context)
        content = root.RetrieveContent()
        authorization = content.authorizationManager
        result["roleNames"] = [r.name for r in authorization.roleList]
        result["privilegeCount"] = len(authorization.privilegeList)
        vm = find_vm(content, vim, args.vm_name)
        spec = vim.host.LocalAccountManager.AccountSpecification(id=args.user, password=args.user_password,
                                                                 description="Query only")
        content.accountManager.CreateUser(spec)
        role_id = authorization.AddAuthorizationRole(name="guest-query-only", privIds=[QUERY])
        result["roleId"] = role_id
        permission = vim.AuthorizationManager.Permission(principal=args.user, group=False, roleId=role_id, propagate=True)
        authorization.SetEntityPermissions(entity=vm, permission=[permission])
        result["vmPermissions"] = [{"principal": p.principal, "roleId": p.roleId, "propagate": p.propagate}
                                   for p in authorization.RetrieveEntityPermissions(entity=vm, inherited=False)]

        user = SmartConnect(host=args.host, port=args.port, user=args.user, pwd=args.user_password, sslContext=context)
        user_content = user.RetrieveContent()
        user_vm = find_vm(user_content, vim, args.vm_name, required=False)
        result["userFindsVm"] = user_vm is not None
        creds = vim.vm.guest.NamePasswordAuthentication(username=args.guest_user, password=args.guest_password)
        guest_ops = user_content.guestOperationsManager
        listing = guest_ops.fileManager.ListFilesInGuest(vm=user_vm, auth=creds, filePath=args.directory)
        result["listed"] = [f.path for f in (listing.files or [])]
        try:
            spec = vim.vm.guest.ProcessManager.ProgramSpec(programPath="/bin/true", arguments="")
            guest_ops.processManager.StartProgramInGuest(vm=user_vm, auth=creds, spec=spec)
            result["start"] = {"raised": False}
        except Exception as exc:  # noqa: BLE001 - any outcome is reported to the C# test
            info = fault_info(exc)
            info["raised"] = True
            info["isNoPermission"] = isinstance(exc, vim.fault.NoPermission)
            info["privilegeId"] = getattr(exc, "privilegeId", None)
            obj = getattr(exc, "object", None)
            info["object"] = obj._moId if obj is not None else None
            result["start"] = info
        session_key = user_content.sessionManager.currentSession.key
        result["hasPrivilege"] = list(user_content.authorizationManager.HasPrivilegeOnEntity(
            entity=user_vm, sessionId=session_key, privId=[QUERY, EXECUTE]))
        Disconnect(user)

        by_entity = vim.event.EventFilterSpec.ByEntity(entity=vm, recursion="self")
        by_user = vim.event.EventFilterSpec.ByUsername(systemUser=False, userList=[args.user])
        events = content.eventManager.QueryEvents(filter=vim.event.EventFilterSpec(entity=by_entity, userName=by_user))
        result["events"] = [{
            "type": type(e).__name__,
            "eventTypeId": getattr(e, "eventTypeId", None),
            "userName": e.userName,
            "vm": e.vm.name if e.vm is not None else None,
            "arguments": {a.key: str(a.value) for a in (getattr(e, "arguments", None) or [])},
            "fault": type(e.fault)._wsdlName if getattr(e, "fault", None) is not None else None,
        } for e in events]
        Disconnect(root)
    except Exception as exc:  # noqa: BLE001
        result["errors"].append({"fault": fault_info(exc), "traceback": traceback.format_exc()})
        print(json.dumps(result))
        return 4

    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
