package guestops.samples;

import java.nio.file.Files;
import java.nio.file.Path;

/** Uploads a local file into the guest: InitiateFileTransferToGuest, then an HTTP PUT of the file to the URL. */
public final class UploadGuestFile {
    private UploadGuestFile() { }

    public static void main(String[] args) {
        SampleOptions options = new SampleOptions(args,
            "UploadGuestFile: copy a local file into the guest\n"
            + "  --localfilepath FILE   local file\n"
            + "  --guestfilepath PATH   guest file to write\n"
            + "  --overwrite            replace an existing guest file\n");
        SampleConnection.run(() -> {
            Path local = Path.of(options.required("localfilepath"));
            String guestPath = options.required("guestfilepath");
            try (SampleConnection connection = SampleConnection.open(options)) {
                long size = Files.size(local);
                String url = connection.port.initiateFileTransferToGuest(connection.fileManager, connection.vm, connection.auth,
                    guestPath, SampleConnection.noAttributes(), size, options.flag("overwrite"));
                connection.put(url, local);
                System.out.println("Uploaded " + size + " bytes to " + guestPath);
                return 0;
            }
        });
    }
}
