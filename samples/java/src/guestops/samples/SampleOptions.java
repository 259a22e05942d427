package guestops.samples;

import java.util.HashMap;
import java.util.Map;

/** Command-line options of the samples: {@code --name value} pairs, or {@code --flag} alone for booleans. */
final class SampleOptions {
    static final String COMMON_USAGE =
        "  --url https://HOST[:PORT]/sdk   vSphere endpoint\n"
        + "  --username USER --password PASSWORD   vSphere login\n"
        + "  --vmname NAME                    the VM\n"
        + "  --guestusername USER --guestpassword PASSWORD   guest account\n"
        + "  --insecure                       accept any server certificate (self-signed test servers)\n";

    private final Map<String, String> values = new HashMap<>();
    private final String usage;

    SampleOptions(String[] args, String usage) {
        this.usage = usage + COMMON_USAGE;
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            if (arg.equals("--help") || arg.equals("-h")) {
                System.out.print(this.usage);
                System.exit(0);
            }
            if (!arg.startsWith("--")) {
                fail("unexpected argument " + arg);
            }
            String name = arg.substring(2).toLowerCase();
            boolean hasValue = i + 1 < args.length && !args[i + 1].startsWith("--");
            values.put(name, hasValue ? args[++i] : "true");
        }
    }

    String required(String name) {
        String value = values.get(name);
        if (value == null || value.isEmpty()) {
            fail("--" + name + " is required");
        }
        return value;
    }

    String optional(String name, String fallback) {
        return values.getOrDefault(name, fallback);
    }

    boolean flag(String name) {
        return Boolean.parseBoolean(values.getOrDefault(name, "false"));
    }

    private void fail(String message) {
        System.err.println("error: " + message);
        System.err.print(usage);
        System.exit(2);
    }
}
