package guestops.samples;

import java.nio.file.Path;
import java.util.List;
import vim25.FileTransferInformation;
import vim25.GuestProcessInfo;
import vim25.GuestProgramSpec;

/**
 * Runs a program in the guest (StartProgramInGuest) and waits for its exit code (ListProcessesInGuest). With
 * --localoutputfilepath its output (stdout and stderr) goes to a temporary guest file, which is downloaded to that
 * local file and deleted. Exits with the program's exit code.
 */
public final class RunProgram {
    private RunProgram() { }

    public static void main(String[] args) {
        SampleOptions options = new SampleOptions(args,
            "RunProgram: run a guest program and wait for its exit code\n"
            + "  --guestprogrampath PATH        absolute path of the guest program\n"
            + "  --arguments ARGS               its arguments (interpreted by the guest's shell)\n"
            + "  --localoutputfilepath FILE     save the program's output (stdout and stderr) to this local file\n"
            + "  --timeout SECONDS              give up waiting after this long (default 300)\n");
        SampleConnection.run(() -> {
            String output = options.optional("localoutputfilepath", null);
            long timeoutMillis = (long) (Double.parseDouble(options.optional("timeout", "300")) * 1000);
            try (SampleConnection connection = SampleConnection.open(options)) {
                String guestOutput = null;
                GuestProgramSpec spec = new GuestProgramSpec();
                spec.setProgramPath(options.required("guestprogrampath"));
                String arguments = options.optional("arguments", "");
                if (output != null) {
                    guestOutput = connection.port.createTemporaryFileInGuest(connection.fileManager, connection.vm, connection.auth, "guestops-run-", ".out", null);
                    arguments = arguments + " > " + guestOutput + " 2>&1";
                }
                spec.setArguments(arguments);
                try {
                    long pid = connection.port.startProgramInGuest(connection.processManager, connection.vm, connection.auth, spec);
                    System.out.println("Started pid " + pid);
                    long deadline = System.currentTimeMillis() + timeoutMillis;
                    Integer exitCode = null;
                    while (exitCode == null) {
                        List<GuestProcessInfo> processes = connection.port.listProcessesInGuest(connection.processManager, connection.vm, connection.auth, List.of(pid));
                        if (processes.isEmpty()) {
                            throw new IllegalStateException("the guest no longer lists pid " + pid);
                        }
                        exitCode = processes.get(0).getExitCode();
                        if (exitCode == null) {
                            if (System.currentTimeMillis() > deadline) {
                                throw new IllegalStateException("pid " + pid + " still runs after " + timeoutMillis / 1000 + " s");
                            }
                            Thread.sleep(200);
                        }
                    }
                    if (guestOutput != null) {
                        FileTransferInformation info = connection.port.initiateFileTransferFromGuest(connection.fileManager, connection.vm, connection.auth, guestOutput);
                        long bytes = connection.get(info.getUrl(), Path.of(output));
                        System.out.println("Output (" + bytes + " bytes) saved to " + output);
                    }
                    System.out.println("Exit code: " + exitCode);
                    return exitCode;
                } finally {
                    if (guestOutput != null) {
                        connection.port.deleteFileInGuest(connection.fileManager, connection.vm, connection.auth, guestOutput);
                    }
                }
            }
        });
    }
}
