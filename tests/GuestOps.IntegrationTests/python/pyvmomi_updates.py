#!/usr/bin/python3
"""pyVmomi run of PropertyCollector updates (started by the C# test PyVmomiUpdatesTests): a filter on a ContainerView of
every VirtualMachine, WaitForUpdatesEx from version "" (every VM enters), a wait with nothing changing (None after
maxWaitSeconds), then the change the C# test makes once this script writes --signal-file (it kills the VM's worker
sandbox until the update comes): the next WaitForUpdatesEx returns that VM's guest.guestOperationsReady modify. Then
a version never given out (InvalidCollectorVersion), DestroyPropertyFilter, destroying it again (the filter is gone:
ManagedObjectNotFound) and a wait without filters (None). Facts go to stdout as one JSON object with every raw SOAP
response body (base64) for the schema check; the C# test asserts. Exit code 0 when the run completed, 3 when pyVmomi
cannot be imported, 4 on an unexpected error.
"""

import argparse
import json
import ssl
import sys
import time
import traceback

from pyvmomi_harness import fault_info, record_responses

PATHS = ["name", "runtime.powerState", "guest.guestOperationsReady", "guest.toolsRunningStatus"]


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--user", default="root")
    parser.add_argument("--password", required=True)
    parser.add_argument("--vm-name", required=True, help="the VM whose worker the C# test kills")
    parser.add_argument("--signal-file", required=True, help="written when the C# test may make its change")
    parser.add_argument("--change-timeout", type=float, default=60)
    args = parser.parse_args()

    result = {"responses": [], "errors": [], "facts": {}}
    facts = result["facts"]
    try:
        from pyVim.connect import SmartConnect, Disconnect
        from pyVmomi import vim, vmodl, SoapAdapter
    except ImportError as exc:
        result["importError"] = str(exc)
        print(json.dumps(result))
        return 3

    record_responses(SoapAdapter, result["responses"])
    context = ssl._create_unverified_context()  # the server's certificate is self-signed
    try:
        si = SmartConnect(host=args.host, port=args.port, user=args.user, pwd=args.password, sslContext=context)
        content = si.RetrieveContent()
        pc = content.propertyCollector
        view = content.viewManager.CreateContainerView(content.rootFolder, [vim.VirtualMachine], True)
        spec = vmodl.query.PropertyCollector.FilterSpec(
            objectSet=[vmodl.query.PropertyCollector.ObjectSpec(
                obj=view, skip=True,
                selectSet=[vmodl.query.PropertyCollector.TraversalSpec(name="traverseEntities", path="view", skip=False, type=vim.view.ContainerView)])],
            propSet=[vmodl.query.PropertyCollector.PropertySpec(type=vim.VirtualMachine, pathSet=PATHS)])
        pc_filter = pc.CreateFilter(spec, partialUpdates=True)
        facts["filters"] = [str(f) for f in pc.filter]

        options = vmodl.query.PropertyCollector.WaitOptions(maxWaitSeconds=10)
        first = pc.WaitForUpdatesEx("", options)
        entered = {}
        for update in first.filterSet:
            for obj in update.objectSet:
                entered[obj.obj._moId] = {
                    "kind": str(obj.kind), "props": {c.name: str(c.val) if c.val is not None else None for c in obj.changeSet}}
        facts["enter"] = entered
        version = first.version
        facts["firstVersion"] = version
        target = next(moid for moid, seen in entered.items() if seen["props"].get("name") == args.vm_name)
        facts["target"] = target

        started = time.monotonic()
        facts["idleWait"] = None if pc.WaitForUpdatesEx(version, vmodl.query.PropertyCollector.WaitOptions(maxWaitSeconds=1)) is None else "an update"
        facts["idleWaitSeconds"] = time.monotonic() - started
        facts["checkForUpdates"] = None if pc.CheckForUpdates(version) is None else "an update"

        with open(args.signal_file, "w", encoding="utf-8") as signal:
            signal.write("waiting\n")
        signaled = time.monotonic()
        modifies = []
        deadline = signaled + args.change_timeout
        while time.monotonic() < deadline and not any(m["props"].get("guest.guestOperationsReady") == "False" for m in modifies):
            update = pc.WaitForUpdatesEx(version, vmodl.query.PropertyCollector.WaitOptions(maxWaitSeconds=5))
            if update is None:
                continue
            version = update.version
            for filter_update in update.filterSet:
                for obj in filter_update.objectSet:
                    modifies.append({"obj": obj.obj._moId, "kind": str(obj.kind), "filter": str(filter_update.filter),
                                     "props": {c.name: str(c.val) if c.val is not None else None for c in obj.changeSet},
                                     "ops": sorted({str(c.op) for c in obj.changeSet})})
        facts["modifies"] = modifies
        facts["secondsFromSignal"] = time.monotonic() - signaled

        try:
            pc.WaitForUpdatesEx("no-such-version", vmodl.query.PropertyCollector.WaitOptions(maxWaitSeconds=0))
            facts["unknownVersion"] = "no fault"
        except Exception as exc:  # noqa: BLE001 - reported to the C# test
            facts["unknownVersion"] = fault_info(exc)

        pc_filter.Destroy()
        try:
            pc_filter.Destroy()
            facts["destroyedAgain"] = "no fault"
        except Exception as exc:  # noqa: BLE001 - reported to the C# test
            facts["destroyedAgain"] = fault_info(exc)
        facts["filtersAfterDestroy"] = [str(f) for f in (pc.filter or [])]
        facts["waitWithoutFilters"] = None if pc.WaitForUpdatesEx(version, vmodl.query.PropertyCollector.WaitOptions(maxWaitSeconds=1)) is None else "an update"
        view.Destroy()
        Disconnect(si)
    except Exception:  # noqa: BLE001 - reported to the C# test
        result["errors"].append(traceback.format_exc())
        print(traceback.format_exc(), file=sys.stderr)
        print(json.dumps(result))
        return 4

    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
