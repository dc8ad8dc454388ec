package dev.zdt.loadgen;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Locale;

/** Incremental parser of one HTTP/1.1 response: enough to know its status, its end, its body and the pod. */
final class Resp {
    private byte[] buf = new byte[1024];
    private int len;
    private int headerEnd = -1; // index just after the blank line
    int status;
    boolean close;              // the server will close the connection after this response
    private long contentLength = -1;
    private boolean chunked;
    private boolean noBody;
    private String podHeader;
    private String versionHeader;

    /** Appends bytes; false when the response grows past what we accept. */
    boolean feed(ByteBuffer src) {
        int n = src.remaining();
        if (len + n > LoadGen.MAX_RESPONSE_BYTES) {
            return false;
        }
        if (len + n > buf.length) {
            buf = Arrays.copyOf(buf, Math.max(buf.length * 2, len + n));
        }
        src.get(buf, len, n);
        int scanFrom = Math.max(0, len - 3);
        len += n;
        if (headerEnd < 0) {
            int i = indexOf(CRLFCRLF, scanFrom);
            if (i >= 0) {
                headerEnd = i + 4;
                return parseHead();
            }
        }
        return true;
    }

    private static final byte[] CRLFCRLF = {'\r', '\n', '\r', '\n'};
    private static final byte[] CRLF = {'\r', '\n'};

    private boolean parseHead() {
        String head = new String(buf, 0, headerEnd, StandardCharsets.ISO_8859_1);
        String[] lines = head.split("\r\n");
        String[] statusLine = lines[0].split(" ", 3);
        if (statusLine.length < 2 || !statusLine[0].startsWith("HTTP/")) {
            return false;
        }
        try {
            status = Integer.parseInt(statusLine[1]);
        } catch (NumberFormatException e) {
            return false;
        }
        close = statusLine[0].equals("HTTP/1.0"); // 1.0 closes unless told otherwise
        for (int i = 1; i < lines.length; i++) {
            int c = lines[i].indexOf(':');
            if (c <= 0) {
                continue;
            }
            String name = lines[i].substring(0, c).trim().toLowerCase(Locale.ROOT);
            String value = lines[i].substring(c + 1).trim();
            switch (name) {
                case "content-length":
                    try {
                        contentLength = Long.parseLong(value);
                    } catch (NumberFormatException e) {
                        return false;
                    }
                    break;
                case "transfer-encoding":
                    chunked = value.toLowerCase(Locale.ROOT).contains("chunked");
                    break;
                case "connection":
                    String v = value.toLowerCase(Locale.ROOT);
                    close = v.contains("close") || (close && !v.contains("keep-alive"));
                    break;
                case "x-pod":
                    podHeader = value;
                    break;
                case "x-version":
                    versionHeader = value;
                    break;
                default:
                    break;
            }
        }
        noBody = status / 100 == 1 || status == 204 || status == 304;
        return true;
    }

    /** Where the response stands, for diagnostics. */
    String phase() {
        return len == 0 ? "awaiting-response" : headerEnd < 0 ? "in-headers" : "in-body";
    }

    boolean complete() {
        if (headerEnd < 0) {
            return false;
        }
        if (noBody) {
            return true;
        }
        if (chunked) {
            return chunkedEnd() >= 0;
        }
        if (contentLength >= 0) {
            return len - headerEnd >= contentLength;
        }
        return false; // body delimited by the server closing the connection
    }

    /** True when an EOF now ends a valid response (no length given: the body ran until close). */
    boolean completeOnEof() {
        close = true;
        return headerEnd >= 0 && (complete() || (!chunked && contentLength < 0));
    }

    private int chunkedEnd() {
        int pos = headerEnd;
        while (true) {
            int eol = indexOf(CRLF, pos);
            if (eol < 0) {
                return -1;
            }
            long size = chunkSize(pos, eol);
            if (size < 0) {
                return -1;
            }
            if (size == 0) {
                // last chunk, then optional trailers, then an empty line
                int end = indexOf(CRLFCRLF, eol);
                return end < 0 ? -1 : end + 4;
            }
            pos = eol + 2 + (int) size + 2;
            if (pos > len) {
                return -1;
            }
        }
    }

    /** The X-Pod header (the demo app sends it), or null. */
    String podHeader() {
        return podHeader == null || podHeader.isEmpty() ? null : clean(podHeader);
    }

    /** The X-Version header (the demo app sends it), or null. */
    String versionHeader() {
        return versionHeader == null || versionHeader.isEmpty() ? null : clean(versionHeader);
    }

    /** The pod that answered: the X-Pod header, else "pod=NAME" in the body (the demo app writes both). */
    String pod() {
        String h = podHeader();
        return h != null ? h : bodyField("pod=");
    }

    /** The version that answered: the X-Version header, else "version=V" in the body. */
    String version() {
        String h = versionHeader();
        return h != null ? h : bodyField("version=");
    }

    /** The value after "name=" in the first 4 KiB of the raw body, up to whitespace; null when absent. */
    private String bodyField(String key) {
        if (headerEnd < 0) {
            return null;
        }
        String body = new String(buf, headerEnd, Math.min(len - headerEnd, 4096), StandardCharsets.ISO_8859_1);
        int i = body.indexOf(key);
        if (i < 0) {
            return null;
        }
        int b = i + key.length();
        int e = b;
        while (e < body.length() && !Character.isWhitespace(body.charAt(e))) {
            e++;
        }
        return e > b ? clean(body.substring(b, e)) : null;
    }

    /**
     * The body of a complete response, de-chunked, decoded as UTF-8 (what the body check matches):
     * a Content-Length body is cut at its length, a body delimited by EOF runs to the last byte.
     */
    String body() {
        if (headerEnd < 0 || noBody) {
            return "";
        }
        if (!chunked) {
            int end = contentLength >= 0 ? (int) Math.min(len, headerEnd + contentLength) : len;
            return new String(buf, headerEnd, end - headerEnd, StandardCharsets.UTF_8);
        }
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream(len - headerEnd);
        int pos = headerEnd;
        while (true) {
            int eol = indexOf(CRLF, pos);
            long size = eol < 0 ? -1 : chunkSize(pos, eol);
            if (size <= 0 || eol + 2 + size > len) {
                return out.toString(StandardCharsets.UTF_8); // the last chunk (or, unexpectedly, a cut one)
            }
            out.write(buf, eol + 2, (int) size);
            pos = eol + 2 + (int) size + 2;
        }
    }

    /** The size on a chunk-size line [pos, eol), extensions ignored; -1 when unreadable. */
    private long chunkSize(int pos, int eol) {
        String sizeText = new String(buf, pos, eol - pos, StandardCharsets.ISO_8859_1);
        int semi = sizeText.indexOf(';');
        try {
            return Long.parseLong((semi >= 0 ? sizeText.substring(0, semi) : sizeText).trim(), 16);
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    // The pod goes into a CSV cell: no separators or line breaks.
    static String clean(String s) {
        return s.replace(',', '_').replace('\n', '_').replace('\r', '_');
    }

    private int indexOf(byte[] pat, int from) {
        outer:
        for (int i = Math.max(0, from); i <= len - pat.length; i++) {
            for (int j = 0; j < pat.length; j++) {
                if (buf[i + j] != pat[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }
}
