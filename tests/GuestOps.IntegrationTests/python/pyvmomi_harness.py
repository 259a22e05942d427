"""What every pyVmomi test script shares: recording the SOAP bodies pyVmomi receives (the C# test validates them
against the schemas), finding a VM the way the community samples do, and describing the faults pyVmomi raises."""

import base64


def record_responses(soap_adapter, bodies):
    """Appends every SOAP response body, exactly as received and base64-encoded, to bodies (the deserializer gets it
    before anything else does)."""
    original_deserialize = soap_adapter.SoapResponseDeserializer.Deserialize

    def recording_deserialize(self, response, resultType, nsMap=None):
        data = response.read() if hasattr(response, "read") else response
        if isinstance(data, str):
            data = data.encode("utf-8")
        bodies.append(base64.b64encode(data).decode("ascii"))
        return original_deserialize(self, data, resultType, nsMap)

    soap_adapter.SoapResponseDeserializer.Deserialize = recording_deserialize


def fault_info(exc):
    """What a caller needs to know about an exception raised by pyVmomi."""
    return {
        "class": type(exc).__name__,
        "wsdlName": getattr(type(exc), "_wsdlName", None),
        "msg": getattr(exc, "msg", None) or str(exc),
    }


def find_vm(content, vim, name, required=True):
    """The VM named name, found as the pyVmomi community samples find it: a ContainerView of every VirtualMachine under
    the root folder, destroyed after use. None when there is none, or LookupError when required."""
    view = content.viewManager.CreateContainerView(content.rootFolder, [vim.VirtualMachine], True)
    try:
        vm = next((candidate for candidate in view.view if candidate.name == name), None)
    finally:
        view.Destroy()
    if vm is None and required:
        raise LookupError("no VM named " + name)
    return vm
