package dev.zdt.operator.ingress;

import java.io.IOException;
import java.io.InputStream;
import java.util.Locale;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;

/**
 * Reads a front end's JSON answer with bounds, as a stream of tokens: a verifier takes the few
 * fields it needs and skips the rest ({@link JsonParser#skipChildren}), so no tree of the answer is
 * ever built. An answer of 8 MiB of {@code [{},{},...]} costs its capped bytes and a parser's
 * buffers, not millions of nodes. Every cap passed is an {@link OverCap} with a reason in our
 * words; the replica's answer is then unknown, never "gone".
 */
final class FrontEndJson {

    /** Traefik's and Envoy's answers nest about 6 levels; 32 leaves room for versions to come. */
    static final int MAX_DEPTH = 32;
    /**
     * Longest string read (names, URLs, addresses): a Kubernetes-made name is at most ~400
     * characters; skipped strings are not read at all, so this never limits them.
     */
    static final int MAX_STRING = 4096;

    /** An answer that passed one of the caps: unknown, with what was passed in our words. */
    static final class OverCap extends IOException {
        OverCap(String reason) {
            super(reason, null);
        }
    }

    private final JsonFactory factory;

    FrontEndJson(int maxBytes) {
        this.factory = JsonFactory.builder()
                // Names are not kept in a shared table: a hostile answer's names are garbage, not retained.
                .disable(JsonFactory.Feature.CANONICALIZE_FIELD_NAMES)
                .streamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(MAX_DEPTH)
                        .maxStringLength(MAX_STRING).maxNameLength(MAX_STRING).maxDocumentLength(maxBytes).build())
                .build();
    }

    JsonParser parser(InputStream in) throws IOException {
        return factory.createParser(in);
    }

    /** What a parser's constraint said, in our words: the parser's own message is never repeated. */
    static OverCap overCap(StreamConstraintsException e) {
        String m = String.valueOf(e.getMessage()).toLowerCase(Locale.ROOT);
        if (m.contains("nesting depth")) {
            return new OverCap("sent an answer nested deeper than " + MAX_DEPTH + " levels");
        }
        if (m.contains("string value length") || m.contains("name length")) {
            return new OverCap("sent a name or address longer than " + MAX_STRING + " characters");
        }
        if (m.contains("number value length")) {
            return new OverCap("sent a number too long to read");
        }
        return new OverCap("sent an answer over the operator's parse limits");
    }

    /** The value of the current token as a string if it is a scalar (what JsonNode.asText gave), else def. */
    static String text(JsonParser p, String def) throws IOException {
        JsonToken t = p.currentToken();
        if (t == JsonToken.VALUE_STRING || t == JsonToken.VALUE_NUMBER_INT || t == JsonToken.VALUE_NUMBER_FLOAT
                || t == JsonToken.VALUE_TRUE || t == JsonToken.VALUE_FALSE) {
            return p.getText();
        }
        p.skipChildren();
        return def;
    }

    /** The current token as JsonNode.asBoolean(false) read it: true, "true", or a non-zero integer. */
    static boolean truthy(JsonParser p) throws IOException {
        JsonToken t = p.currentToken();
        if (t == JsonToken.VALUE_TRUE) {
            return true;
        }
        if (t == JsonToken.VALUE_STRING) {
            return "true".equals(p.getText().trim());
        }
        if (t == JsonToken.VALUE_NUMBER_INT) {
            return p.getNumberType() == JsonParser.NumberType.INT ? p.getIntValue() != 0 : p.getText().length() > 0
                    && !"0".equals(p.getText());
        }
        p.skipChildren();
        return false;
    }
}
