package guestops.samples;

/** Creates a temporary file in the guest (CreateTemporaryFileInGuest) and prints its path. */
public final class CreateTemporaryFile {
    private CreateTemporaryFile() { }

    public static void main(String[] args) {
        SampleOptions options = new SampleOptions(args,
            "CreateTemporaryFile: create a temporary file in the guest and print its path\n"
            + "  --prefix PREFIX --suffix SUFFIX  name parts (default guestops-, .tmp)\n"
            + "  --directorypath DIR              guest directory (default: the guest's temporary directory)\n");
        SampleConnection.run(() -> {
            try (SampleConnection connection = SampleConnection.open(options)) {
                String path = connection.port.createTemporaryFileInGuest(connection.fileManager, connection.vm, connection.auth,
                    options.optional("prefix", "guestops-"), options.optional("suffix", ".tmp"), options.optional("directorypath", null));
                System.out.println("Temporary file created: " + path);
                return 0;
            }
        });
    }
}
