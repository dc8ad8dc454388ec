package dev.zdt.loadgen;

import java.net.URI;
import java.nio.file.Path;
import java.util.Locale;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/** Command-line flags. Each flag takes "--name value" or "--name=value". */
final class Config {
    /**
     * What the demo app answers on "/" (DemoApp.body()): "pod=NAME version=VERSION\n", exactly.
     * The X-Pod and X-Version headers come with it, and must agree with the body.
     */
    static final String DEMO_BODY_REGEX = "pod=(?<pod>\\S+) version=(?<version>\\S+)\\n";

    static final String USAGE = String.join("\n",
            "usage: java -jar loadgen.jar --url http://127.0.0.1:8081/ [flags]",
            "  --url URL              http:// target (path and query are sent as given)",
            "  --host-header NAME     Host header (default: the URL's host[:port])",
            "  --rate N               requests per second, started on schedule whatever the answers (default 200)",
            "  --duration D           how long to send, e.g. 60s, 500ms, 2m (default 60s; with --until-file: 600s, the bound)",
            "  --until-file PATH      stop sending once PATH exists (checked every 100 ms)",
            "  --timeout D            per request, from the start of connect to the last byte (default 5s)",
            "  --max-in-flight N      beyond this many open requests, new ones are recorded as 'overload' (default 2000)",
            "  --keepalive BOOL       reuse connections (default false: a new connection per request)",
            "  --expect-body-regex R  a 2xx whose whole body does not match R is a failure, 'bad_body'; named groups",
            "                         pod and version are recorded. Default: the demo app's answer,",
            "                         " + DEMO_BODY_REGEX + " ; 'none' or '' checks nothing",
            "  --out PATH             per-request CSV: " + LoadGen.CSV_HEADER,
            "  --summary PATH         JSON summary with per-second buckets",
            "java -jar loadgen.jar streams --help: long-lived WebSocket and SSE streams instead of requests");

    String url;
    String connectHost;
    int port;
    String pathAndQuery;
    String hostHeader;
    double rate = 200;
    long durationMs = -1;
    Path untilFile;
    long timeoutMs = 5_000;
    int maxInFlight = 2000;
    boolean keepalive;
    String expectBodyRegex = DEMO_BODY_REGEX; // null: bodies are not checked
    Pattern expectBody = Pattern.compile(DEMO_BODY_REGEX);
    boolean expectBodyHasPod = true;
    boolean expectBodyHasVersion = true;
    Path out;
    Path summary;

    /** Returns null when help was asked for. */
    static Config parse(String[] args) {
        Config c = new Config();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.equals("-h") || a.equals("--help")) {
                return null;
            }
            if (!a.startsWith("--")) {
                throw new IllegalArgumentException("unexpected argument '" + a + "'");
            }
            String name;
            String value;
            int eq = a.indexOf('=');
            if (eq > 0) {
                name = a.substring(2, eq);
                value = a.substring(eq + 1);
            } else {
                name = a.substring(2);
                if (i + 1 >= args.length) {
                    throw new IllegalArgumentException("--" + name + " needs a value");
                }
                value = args[++i];
            }
            switch (name) {
                case "url": c.url = value; break;
                case "host-header": c.hostHeader = value; break;
                case "rate": c.rate = positiveDouble(name, value); break;
                case "duration": c.durationMs = durationMs(name, value); break;
                case "until-file": c.untilFile = Path.of(value); break;
                case "timeout": c.timeoutMs = durationMs(name, value); break;
                case "max-in-flight": c.maxInFlight = (int) positiveDouble(name, value); break;
                case "keepalive": c.keepalive = bool(name, value); break;
                case "expect-body-regex": c.expectBody(value); break;
                case "out": c.out = Path.of(value); break;
                case "summary": c.summary = Path.of(value); break;
                default: throw new IllegalArgumentException("unknown flag --" + name);
            }
        }
        if (c.url == null) {
            throw new IllegalArgumentException("--url is required");
        }
        URI u;
        try {
            u = URI.create(c.url);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--url is not a URL: " + e.getMessage());
        }
        if (!"http".equalsIgnoreCase(u.getScheme()) || u.getHost() == null) {
            throw new IllegalArgumentException("--url must be http://host[:port]/path (no TLS)");
        }
        c.connectHost = u.getHost();
        c.port = u.getPort() > 0 ? u.getPort() : 80;
        String path = u.getRawPath() == null || u.getRawPath().isEmpty() ? "/" : u.getRawPath();
        c.pathAndQuery = u.getRawQuery() == null ? path : path + "?" + u.getRawQuery();
        if (c.hostHeader == null) {
            c.hostHeader = u.getPort() > 0 && u.getPort() != 80 ? u.getHost() + ":" + u.getPort() : u.getHost();
        }
        if (c.durationMs < 0) {
            c.durationMs = c.untilFile != null ? 600_000 : 60_000;
        }
        return c;
    }

    void expectBody(String regex) {
        if (regex.isEmpty() || regex.equals("none")) {
            expectBodyRegex = null;
            expectBody = null;
            expectBodyHasPod = expectBodyHasVersion = false;
            return;
        }
        try {
            expectBody = Pattern.compile(regex);
        } catch (PatternSyntaxException e) {
            throw new IllegalArgumentException("--expect-body-regex is not a regular expression: " + e.getDescription());
        }
        expectBodyRegex = regex;
        // Java 17 has no Pattern.namedGroups(): the group names are looked for in the source.
        expectBodyHasPod = regex.contains("(?<pod>");
        expectBodyHasVersion = regex.contains("(?<version>");
    }

    static long durationMs(String name, String v) {
        String s = v.trim().toLowerCase(Locale.ROOT);
        double factor = 1000;
        if (s.endsWith("ms")) {
            factor = 1;
            s = s.substring(0, s.length() - 2);
        } else if (s.endsWith("s")) {
            s = s.substring(0, s.length() - 1);
        } else if (s.endsWith("m")) {
            factor = 60_000;
            s = s.substring(0, s.length() - 1);
        } else if (s.endsWith("h")) {
            factor = 3_600_000;
            s = s.substring(0, s.length() - 1);
        }
        return Math.round(positiveDouble(name, s) * factor);
    }

    static double positiveDouble(String name, String v) {
        try {
            double d = Double.parseDouble(v.trim());
            if (d > 0 && Double.isFinite(d)) {
                return d;
            }
        } catch (NumberFormatException ignored) {
            // reported below
        }
        throw new IllegalArgumentException("--" + name + " must be a positive number, got '" + v + "'");
    }

    static boolean bool(String name, String v) {
        switch (v.trim().toLowerCase(Locale.ROOT)) {
            case "true": case "yes": case "1": return true;
            case "false": case "no": case "0": return false;
            default: throw new IllegalArgumentException("--" + name + " must be true or false, got '" + v + "'");
        }
    }
}
