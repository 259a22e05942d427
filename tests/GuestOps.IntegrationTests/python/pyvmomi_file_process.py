#!/usr/bin/python3
"""pyVmomi run of every GuestFileManager and GuestProcessManager operation of issue 4 against a GuestOps server
(started by the C# test PyVmomiFileProcessTests).

As the pyVmomi community samples do: SmartConnect with an unverified SSL context, find the VM by name through a
ContainerView, vim.vm.guest.NamePasswordAuthentication, then content.guestOperationsManager.fileManager /
processManager calls; StartProgramInGuest is followed by the sample's loop (ListProcessesInGuest(pids=[pid]) until
exitCode is not None). Every outcome is recorded as a fact (a value, or the wsdl name of the fault raised) in one
JSON object on stdout, with every raw SOAP response body (base64) for the schema check; the C# test asserts.
Exit code 0 when the run completed, 3 when pyVmomi cannot be imported, 4 on an unexpected error.
"""

import argparse
import datetime
import json
import ssl
import sys
import time
import traceback

from pyvmomi_harness import find_vm, record_responses


def fault_name(call):
    """Runs call; the wsdl name of the fault it raised, or 'ok'."""
    try:
        call()
        return "ok"
    except Exception as exc:  # noqa: BLE001 - reported to the C# test
        return getattr(type(exc), "_wsdlName", None) or type(exc).__name__


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--user", default="root")
    parser.add_argument("--password", required=True)
    parser.add_argument("--guest-user", required=True)
    parser.add_argument("--guest-password", required=True)
    parser.add_argument("--root-password", required=True, help="the guest root account's password")
    parser.add_argument("--vm-name", required=True)
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
        fm = content.guestOperationsManager.fileManager
        pm = content.guestOperationsManager.processManager
        facts["processManager"] = pm._moId
        vm = find_vm(content, vim, args.vm_name)
        creds = vim.vm.guest.NamePasswordAuthentication(username=args.guest_user, password=args.guest_password)
        root = vim.vm.guest.NamePasswordAuthentication(username="root", password=args.root_password)

        def entries(path, auth=creds):
            listing = fm.ListFilesInGuest(vm=vm, auth=auth, filePath=path, maxResults=1000)
            return {f.path: f for f in (listing.files or []) if f.path not in (".", "..")}

        def wait_exit(pid, auth=creds):
            # The pyVmomi sample's loop: until exitCode is set.
            for _ in range(200):
                info = pm.ListProcessesInGuest(vm=vm, auth=auth, pids=[pid])[0]
                if info.exitCode is not None:
                    return info
                time.sleep(0.05)
            raise RuntimeError("program %d did not exit" % pid)

        def spec(path, arguments, **kw):
            return vim.vm.guest.ProcessManager.ProgramSpec(programPath=path, arguments=arguments, **kw)

        # ---- files
        base = fm.CreateTemporaryDirectoryInGuest(vm=vm, auth=creds, prefix="py-", suffix="-dir")
        facts["tempDirectory"] = base
        facts["tempDirectoryMode"] = entries(base.rsplit("/", 1)[0])[base.rsplit("/", 1)[1]].attributes.permissions & 0o7777
        fm.MakeDirectoryInGuest(vm=vm, auth=creds, directoryPath=base + "/x/y", createParentDirectories=True)
        facts["mkdirParents"] = sorted(entries(base + "/x"))
        facts["mkdirExisting"] = fault_name(lambda: fm.MakeDirectoryInGuest(vm=vm, auth=creds, directoryPath=base + "/x", createParentDirectories=False))
        facts["mkdirMissingParent"] = fault_name(lambda: fm.MakeDirectoryInGuest(vm=vm, auth=creds, directoryPath=base + "/m/n", createParentDirectories=False))

        temp = fm.CreateTemporaryFileInGuest(vm=vm, auth=creds, prefix="tmp-", suffix=".txt", directoryPath=base)
        facts["tempFileName"] = temp.rsplit("/", 1)[1]
        temp_attrs = entries(base)[facts["tempFileName"]].attributes
        facts["tempFileMode"] = temp_attrs.permissions & 0o7777
        facts["tempFileOwner"] = temp_attrs.ownerId
        default_temp = fm.CreateTemporaryFileInGuest(vm=vm, auth=creds, prefix="d-", suffix="")
        facts["defaultTempFileDirectory"] = default_temp.rsplit("/", 1)[0]
        facts["tempMissingDirectory"] = fault_name(lambda: fm.CreateTemporaryFileInGuest(vm=vm, auth=creds, prefix="p", suffix="s", directoryPath=base + "/missing"))

        fm.MoveFileInGuest(vm=vm, auth=creds, srcFilePath=temp, dstFilePath=base + "/x/moved.txt", overwrite=False)
        other = fm.CreateTemporaryFileInGuest(vm=vm, auth=creds, prefix="o-", suffix="", directoryPath=base)
        facts["moveNoOverwrite"] = fault_name(lambda: fm.MoveFileInGuest(vm=vm, auth=creds, srcFilePath=other, dstFilePath=base + "/x/moved.txt", overwrite=False))
        facts["moveOverwrite"] = fault_name(lambda: fm.MoveFileInGuest(vm=vm, auth=creds, srcFilePath=other, dstFilePath=base + "/x/moved.txt", overwrite=True))
        facts["moveSourceDirectory"] = fault_name(lambda: fm.MoveFileInGuest(vm=vm, auth=creds, srcFilePath=base + "/x/y", dstFilePath=base + "/q", overwrite=False))
        facts["afterMoves"] = sorted(entries(base + "/x"))

        when = datetime.datetime(2024, 5, 1, 10, 20, 31, tzinfo=datetime.timezone.utc)
        fm.ChangeFileAttributesInGuest(vm=vm, auth=creds, guestFilePath=base + "/x/moved.txt",
                                       fileAttributes=vim.vm.guest.FileManager.PosixFileAttributes(permissions=0o640, modificationTime=when))
        changed = entries(base + "/x")["moved.txt"].attributes
        facts["changedMode"] = changed.permissions & 0o7777
        facts["changedModificationTime"] = changed.modificationTime.astimezone(datetime.timezone.utc).isoformat()
        facts["windowsAttributes"] = fault_name(lambda: fm.ChangeFileAttributesInGuest(
            vm=vm, auth=creds, guestFilePath=base + "/x/moved.txt",
            fileAttributes=vim.vm.guest.FileManager.WindowsFileAttributes(hidden=True)))
        root_file = fm.CreateTemporaryFileInGuest(vm=vm, auth=root, prefix="r-", suffix="", directoryPath="/tmp")
        fm.ChangeFileAttributesInGuest(vm=vm, auth=root, guestFilePath=root_file,
                                       fileAttributes=vim.vm.guest.FileManager.PosixFileAttributes(ownerId=1000, groupId=1000))
        facts["chownAsRoot"] = entries("/tmp", root)[root_file.rsplit("/", 1)[1]].attributes.ownerId

        fm.MoveDirectoryInGuest(vm=vm, auth=creds, srcDirectoryPath=base + "/x", dstDirectoryPath=base + "/z")
        facts["afterMoveDirectory"] = sorted(entries(base))
        fm.MakeDirectoryInGuest(vm=vm, auth=creds, directoryPath=base + "/w", createParentDirectories=False)
        facts["moveDirectoryExists"] = fault_name(lambda: fm.MoveDirectoryInGuest(vm=vm, auth=creds, srcDirectoryPath=base + "/z", dstDirectoryPath=base + "/w"))
        facts["moveDirectoryFile"] = fault_name(lambda: fm.MoveDirectoryInGuest(vm=vm, auth=creds, srcDirectoryPath=base + "/z/moved.txt", dstDirectoryPath=base + "/v"))
        facts["deleteFileDirectory"] = fault_name(lambda: fm.DeleteFileInGuest(vm=vm, auth=creds, filePath=base + "/z"))
        fm.DeleteFileInGuest(vm=vm, auth=creds, filePath=base + "/z/moved.txt")
        facts["deleteFileMissing"] = fault_name(lambda: fm.DeleteFileInGuest(vm=vm, auth=creds, filePath=base + "/z/moved.txt"))
        facts["deleteDirectoryNotEmpty"] = fault_name(lambda: fm.DeleteDirectoryInGuest(vm=vm, auth=creds, directoryPath=base + "/z", recursive=False))
        facts["deleteDirectoryFile"] = fault_name(lambda: fm.DeleteDirectoryInGuest(vm=vm, auth=creds, directoryPath=default_temp, recursive=False))
        fm.DeleteDirectoryInGuest(vm=vm, auth=creds, directoryPath=base + "/z", recursive=True)
        facts["afterDeleteDirectory"] = sorted(entries(base))

        # ---- processes
        pid = pm.StartProgramInGuest(vm=vm, auth=creds, spec=spec("/bin/sh", "-c 'exit 3'"))
        info = wait_exit(pid)
        facts["exit3"] = {"exitCode": info.exitCode, "hasEndTime": info.endTime is not None, "owner": info.owner}

        pid = pm.StartProgramInGuest(vm=vm, auth=creds, spec=spec("/bin/sh", "-c 'id -u > %s/uid_$(id -u)'" % base))
        facts["idExit"] = wait_exit(pid).exitCode
        uid_files = {name: f.size for name, f in entries(base).items() if name.startswith("uid_")}
        facts["uidFiles"] = uid_files

        sleeper = pm.StartProgramInGuest(vm=vm, auth=creds, spec=spec("/bin/sleep", "300"))
        running = pm.ListProcessesInGuest(vm=vm, auth=creds, pids=[sleeper])
        facts["sleepRunning"] = [{"pid": p.pid, "exitCode": p.exitCode, "hasEndTime": p.endTime is not None, "name": p.name} for p in running]
        facts["sleepInAll"] = any(p.pid == sleeper for p in pm.ListProcessesInGuest(vm=vm, auth=creds))
        pm.TerminateProcessInGuest(vm=vm, auth=creds, pid=sleeper)
        ended = wait_exit(sleeper)
        facts["sleepTerminated"] = {"exitCode": ended.exitCode, "hasEndTime": ended.endTime is not None}
        facts["terminateUnknown"] = fault_name(lambda: pm.TerminateProcessInGuest(vm=vm, auth=creds, pid=999999))
        facts["listUnknown"] = len(pm.ListProcessesInGuest(vm=vm, auth=creds, pids=[999999]))
        facts["startRelative"] = fault_name(lambda: pm.StartProgramInGuest(vm=vm, auth=creds, spec=spec("bin/sh", "")))
        facts["startMissing"] = fault_name(lambda: pm.StartProgramInGuest(vm=vm, auth=creds, spec=spec("/no/such/program", "")))

        facts["envHome"] = list(pm.ReadEnvironmentVariableInGuest(vm=vm, auth=creds, names=["HOME"]))
        facts["envAllNames"] = sorted(e.split("=", 1)[0] for e in pm.ReadEnvironmentVariableInGuest(vm=vm, auth=creds))

        fm.DeleteDirectoryInGuest(vm=vm, auth=creds, directoryPath=base, recursive=True)
        facts["baseGone"] = fault_name(lambda: fm.ListFilesInGuest(vm=vm, auth=creds, filePath=base))
        Disconnect(si)
    except Exception as exc:  # noqa: BLE001
        result["errors"].append({"error": repr(exc), "traceback": traceback.format_exc()})
        print(json.dumps(result, default=str))
        return 4

    print(json.dumps(result, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
