package dev.zdt.operator.pod;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.Base64;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

import io.quarkus.runtime.Startup;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import org.jboss.logging.Logger;

import dev.zdt.operator.api.v1alpha1.ZeroDowntimeApp;
import dev.zdt.operator.GateConfig;

/**
 * Per-app gate tokens. The token of an app is an HMAC-SHA256, under a key only the operator
 * holds, of the app's namespace, name and uid: it is rendered into the app's pods (the drain
 * helper's environment, the exec script's, or the httpGet hook's header) and checked on every
 * call before the gate looks at anything else. A caller without the app's token holds nothing,
 * refuses nothing and causes no Event. An app re-created under the same name gets a new uid and
 * so a new token.
 *
 * <p>Rotation: the key directory holds {@code current} and, while a rotation is under way,
 * {@code previous}. Tokens under either are accepted; the reconciler keeps a Deployment's token
 * while it is accepted, so a rotation rolls no app. Once {@code previous} is removed, apps still
 * carrying its tokens are re-rendered (one rollout each), and their old pods' calls are refused:
 * the drain helper then holds them for the whole hold, unverified but never shorter.
 */
@ApplicationScoped
@Startup // a missing or unreadable key stops the operator at start, not each reconcile after it
public class GateKeys {

    static final String CURRENT = "current";
    static final String PREVIOUS = "previous";
    static final int MIN_KEY_BYTES = 32;
    /**
     * Apps whose expected tokens one key generation keeps at most. Every call is checked on the
     * event loop; without the cache it costs one HMAC, two during a rotation, per call.
     */
    static final int CACHED_APPS = 8192;
    private static final String PREFIX = "v1.";
    private static final Logger LOG = Logger.getLogger(GateKeys.class);

    /** Which key a token was made with. */
    public enum Match { CURRENT, PREVIOUS, NONE }

    private final Optional<Path> dir;
    private final boolean required;
    private final Duration reloadInterval;
    private final InstantSource clock;
    private volatile Keys keys;
    private volatile Instant checkedAt;

    @Inject
    public GateKeys(GateConfig config) {
        this(config.auth().keyDir(), config.auth().required(), config.auth().reloadInterval(), InstantSource.system());
    }

    GateKeys(Optional<Path> dir, boolean required, Duration reloadInterval, InstantSource clock) {
        this.dir = dir;
        this.required = required;
        this.reloadInterval = reloadInterval;
        this.clock = clock;
        if (dir.isEmpty()) {
            if (required) {
                throw new IllegalStateException("zdt.gate.auth.key-dir is not set: the drain gate needs a key to "
                        + "authenticate its callers (the chart mounts one from a Secret); set "
                        + "zdt.gate.auth.required=false only for local development");
            }
            LOG.warn("gate calls are NOT authenticated (zdt.gate.auth.required=false): anyone who reaches the gate "
                    + "can hold or refuse the drains of any app");
            keys = null;
        } else {
            keys = read(dir.get(), null);
            LOG.infof("gate tokens: key %s loaded from %s%s", keys.currentId, dir.get(),
                    keys.previous == null ? "" : " (previous key " + keys.previousId + " still accepted)");
        }
        checkedAt = clock.instant();
    }

    /** Whether calls must carry a token (false only when auth is switched off). */
    public boolean enabled() {
        return dir.isPresent();
    }

    /**
     * The token to render into an app's pods: the one they already carry while it is accepted (a
     * rotation then changes no template), else the current key's. Null when auth is off.
     */
    public String tokenFor(ZeroDowntimeApp app, String rendered) {
        Keys k = keys();
        if (k == null) {
            return null;
        }
        if (rendered != null && match(k, rendered, app) != Match.NONE) {
            return rendered;
        }
        return k.expected(app).current;
    }

    /**
     * The current key's token for an app-shaped name the gate holds by (a DrainPolicy's pods are
     * held as {@code policy.<name>} with the policy's uid), for a pod created now. Null when auth is off.
     */
    public String currentToken(String namespace, String name, String uid) {
        Keys k = keys();
        return k == null ? null : token(k.current, namespace, name, uid);
    }

    /** Which accepted key the token was made with for this app; NONE for a missing or forged token. */
    public Match check(String token, ZeroDowntimeApp app) {
        Keys k = keys();
        if (k == null) {
            return Match.CURRENT;
        }
        return token == null ? Match.NONE : match(k, token, app);
    }

    private static Match match(Keys k, String token, ZeroDowntimeApp app) {
        byte[] given = token.getBytes(StandardCharsets.US_ASCII);
        Expected expected = k.expected(app);
        // Constant-time comparison: the answer must not tell a caller how much of a guess was right.
        if (MessageDigest.isEqual(given, expected.currentBytes)) {
            return Match.CURRENT;
        }
        if (expected.previousBytes != null && MessageDigest.isEqual(given, expected.previousBytes)) {
            return Match.PREVIOUS;
        }
        return Match.NONE;
    }

    /** How many apps the keys now in use hold expected tokens for (bounded by {@link #CACHED_APPS}). */
    int cachedApps() {
        Keys k = keys;
        return k == null ? 0 : k.expected.size();
    }

    /** HMACs computed under the keys now in use: a cached app costs none. */
    long hmacs() {
        Keys k = keys;
        return k == null ? 0 : k.hmacs.get();
    }

    public static String token(byte[] key, ZeroDowntimeApp app) {
        return token(key, app.getMetadata().getNamespace(), app.getMetadata().getName(), app.getMetadata().getUid());
    }

    public static String token(byte[] key, String namespace, String name, String uid) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            byte[] sum = mac.doFinal(("zdt-gate-v1\n" + namespace + "\n" + name + "\n" + uid)
                    .getBytes(StandardCharsets.UTF_8));
            return PREFIX + Base64.getUrlEncoder().withoutPadding().encodeToString(sum);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is part of every JDK", e);
        }
    }

    /** The keys, re-read when the interval has passed and the files changed; a bad new file keeps the old keys. */
    private Keys keys() {
        Keys k = keys;
        if (k == null) {
            return null;
        }
        Instant now = clock.instant();
        if (Duration.between(checkedAt, now).compareTo(reloadInterval) >= 0) {
            checkedAt = now;
            try {
                Keys fresh = read(dir.get(), k);
                if (fresh != k) {
                    LOG.infof("gate tokens: key %s now current%s", fresh.currentId,
                            fresh.previous == null ? ", no previous key accepted" : ", previous key " + fresh.previousId
                                    + " still accepted");
                    keys = fresh;
                    k = fresh;
                }
            } catch (IllegalStateException e) {
                LOG.errorf("gate tokens: %s; keeping key %s", e.getMessage(), k.currentId);
            }
        }
        return k;
    }

    /** The key files; {@code old} back when neither changed. */
    static Keys read(Path dir, Keys old) {
        Path current = dir.resolve(CURRENT);
        Path previous = dir.resolve(PREVIOUS);
        try {
            byte[] cur = Files.readAllBytes(current);
            byte[] prev = null;
            try {
                prev = Files.readAllBytes(previous);
            } catch (NoSuchFileException e) {
                // No rotation under way.
            }
            cur = trim(cur);
            prev = prev == null ? null : trim(prev);
            if (cur.length < MIN_KEY_BYTES) {
                throw new IllegalStateException(current + " holds " + cur.length + " bytes; a gate key needs at least "
                        + MIN_KEY_BYTES);
            }
            if (prev != null && prev.length < MIN_KEY_BYTES) {
                throw new IllegalStateException(previous + " holds " + prev.length
                        + " bytes; a gate key needs at least " + MIN_KEY_BYTES);
            }
            if (old != null && MessageDigest.isEqual(cur, old.current)
                    && (prev == null ? old.previous == null : old.previous != null && MessageDigest.isEqual(prev, old.previous))) {
                return old;
            }
            return new Keys(cur, prev);
        } catch (IOException e) {
            throw new IllegalStateException("cannot read the gate key " + current + ": " + e.getClass().getSimpleName());
        }
    }

    /** Secrets written by hand often end in a newline; it is not part of the key. */
    private static byte[] trim(byte[] b) {
        int end = b.length;
        while (end > 0 && (b[end - 1] == '\n' || b[end - 1] == '\r' || b[end - 1] == ' ')) {
            end--;
        }
        return end == b.length ? b : java.util.Arrays.copyOf(b, end);
    }

    /** An app's tokens under the current and the previous key (null without one). */
    record Expected(String current, byte[] currentBytes, byte[] previousBytes) {

        static Expected of(String current, String previous) {
            return new Expected(current, current.getBytes(StandardCharsets.US_ASCII),
                    previous == null ? null : previous.getBytes(StandardCharsets.US_ASCII));
        }
    }

    /**
     * The accepted keys, and short ids for logs (a hash prefix, never the key). A reload makes a new
     * Keys, so the expected tokens cached here never outlive the keys they were made with.
     */
    static final class Keys {
        final byte[] current;
        final byte[] previous;
        final String currentId;
        final String previousId;
        /** Per namespace, name and uid: the tokens these keys expect. */
        private final Map<String, Expected> expected = new ConcurrentHashMap<>();
        private final AtomicLong hmacs = new AtomicLong();

        Keys(byte[] current, byte[] previous) {
            this.current = current;
            this.previous = previous;
            this.currentId = id(current);
            this.previousId = previous == null ? null : id(previous);
        }

        Expected expected(ZeroDowntimeApp app) {
            String namespace = app.getMetadata().getNamespace();
            String name = app.getMetadata().getName();
            String uid = app.getMetadata().getUid();
            String key = namespace + "\n" + name + "\n" + uid;
            Expected e = expected.get(key);
            if (e == null) {
                hmacs.addAndGet(previous == null ? 1 : 2);
                e = Expected.of(token(current, namespace, name, uid),
                        previous == null ? null : token(previous, namespace, name, uid));
                if (expected.size() >= CACHED_APPS) {
                    expected.clear(); // bounded: apps deleted long ago must not pile up
                }
                expected.put(key, e);
            }
            return e;
        }

        private static String id(byte[] key) {
            try {
                byte[] d = MessageDigest.getInstance("SHA-256").digest(key);
                return Base64.getUrlEncoder().withoutPadding().encodeToString(d).substring(0, 8);
            } catch (GeneralSecurityException e) {
                throw new IllegalStateException(e);
            }
        }
    }
}
