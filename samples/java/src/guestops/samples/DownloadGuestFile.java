package guestops.samples;

import java.nio.file.Path;
import vim25.FileTransferInformation;

/** Downloads a guest file: InitiateFileTransferFromGuest, then an HTTP GET of the URL it returns. */
public final class DownloadGuestFile {
    private DownloadGuestFile() { }

    public static void main(String[] args) {
        SampleOptions options = new SampleOptions(args,
            "DownloadGuestFile: copy a guest file to a local file\n"
            + "  --guestfilepath PATH   guest file\n"
            + "  --localfilepath FILE   local file to write\n");
        SampleConnection.run(() -> {
            String guestPath = options.required("guestfilepath");
            Path local = Path.of(options.required("localfilepath"));
            try (SampleConnection connection = SampleConnection.open(options)) {
                FileTransferInformation info = connection.port.initiateFileTransferFromGuest(connection.fileManager, connection.vm, connection.auth, guestPath);
                long bytes = connection.get(info.getUrl(), local);
                if (bytes != info.getSize()) {
                    throw new IllegalStateException("received " + bytes + " bytes, the guest announced " + info.getSize());
                }
                System.out.println("Downloaded " + bytes + " bytes to " + local);
                return 0;
            }
        });
    }
}
