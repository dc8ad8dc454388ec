package dev.zdt.operator.pod;

import dev.zdt.operator.Constants;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.Optional;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.zdt.operator.api.v1alpha1.ZeroDowntimeApp;
import dev.zdt.operator.testing.Apps;

/** Per-app tokens: who is accepted, across a key rotation, and what a forger can do. */
class GateKeysTest {

    private static final String KEY_A = "a".repeat(40);
    private static final String KEY_B = "b".repeat(40);

    @TempDir
    Path dir;

    private Instant now = Instant.parse("2026-12-01T10:00:00Z");
    private final InstantSource clock = () -> now;

    private GateKeys keys() {
        return new GateKeys(Optional.of(dir), true, Duration.ofSeconds(10), clock);
    }

    private static ZeroDowntimeApp app(String ns, String name, String uid) {
        ZeroDowntimeApp app = Apps.parse(Apps.yaml(name, ""));
        app.getMetadata().setNamespace(ns);
        app.getMetadata().setUid(uid);
        return app;
    }

    private void write(String file, String content) throws Exception {
        Files.writeString(dir.resolve(file), content);
    }

    /** Rotate: the old key A becomes previous, B current. */
    private void rotate() throws Exception {
        write("previous", KEY_A);
        write("current", KEY_B);
    }

    @Test
    void anAppsTokenOpensOnlyThatApp() throws Exception {
        write("current", KEY_A + "\n");
        GateKeys keys = keys();
        ZeroDowntimeApp shop = app("team-a", "shop", "uid-1");
        String token = keys.tokenFor(shop, null);

        assertThat(token).startsWith("v1.");
        assertThat(keys.check(token, shop)).isEqualTo(GateKeys.Match.CURRENT);
        assertThat(keys.check(token, app("team-b", "shop", "uid-1"))).as("same name, other namespace")
                .isEqualTo(GateKeys.Match.NONE);
        assertThat(keys.check(token, app("team-a", "cart", "uid-1"))).isEqualTo(GateKeys.Match.NONE);
        assertThat(keys.check(token, app("team-a", "shop", "uid-2"))).as("the app deleted and created again")
                .isEqualTo(GateKeys.Match.NONE);
        assertThat(keys.check(null, shop)).isEqualTo(GateKeys.Match.NONE);
        assertThat(keys.check("", shop)).isEqualTo(GateKeys.Match.NONE);
        assertThat(keys.check(token.substring(0, token.length() - 1) + "x", shop)).isEqualTo(GateKeys.Match.NONE);
        assertThat(keys.check(GateKeys.token(KEY_B.getBytes(), shop), shop)).as("made with a key we do not hold")
                .isEqualTo(GateKeys.Match.NONE);
    }

    @Test
    void aRotationKeepsThePodsTokensValidUntilThePreviousKeyIsRemoved() throws Exception {
        write("current", KEY_A);
        GateKeys keys = keys();
        ZeroDowntimeApp shop = app("team-a", "shop", "uid-1");
        String old = keys.tokenFor(shop, null);

        rotate();
        assertThat(keys.check(old, shop)).as("not re-read before the interval").isEqualTo(GateKeys.Match.CURRENT);
        now = now.plusSeconds(10);
        assertThat(keys.check(old, shop)).isEqualTo(GateKeys.Match.PREVIOUS);
        assertThat(keys.tokenFor(shop, old)).as("the rendered token stays: no rollout").isEqualTo(old);
        String fresh = keys.tokenFor(shop, null);
        assertThat(fresh).isNotEqualTo(old);
        assertThat(keys.check(fresh, shop)).isEqualTo(GateKeys.Match.CURRENT);

        // The rotation ends: tokens of the old key are refused, and re-rendered.
        Files.delete(dir.resolve("previous"));
        now = now.plusSeconds(10);
        assertThat(keys.check(old, shop)).isEqualTo(GateKeys.Match.NONE);
        assertThat(keys.tokenFor(shop, old)).isEqualTo(fresh);
    }

    @Test
    void aCheckedAppCostsNoFurtherHmacUntilTheKeysChangeAndTheCacheStaysBounded() throws Exception {
        write("current", KEY_A);
        GateKeys keys = keys();
        ZeroDowntimeApp shop = app("team-a", "shop", "uid-1");
        assertThat(keys.hmacs()).as("nothing computed before an app is asked for").isZero();
        String token = keys.tokenFor(shop, null);
        assertThat(keys.hmacs()).isEqualTo(1);
        for (int i = 0; i < 100; i++) {
            assertThat(keys.check(token, shop)).isEqualTo(GateKeys.Match.CURRENT);
            assertThat(keys.check("v1.forged", shop)).isEqualTo(GateKeys.Match.NONE);
        }
        assertThat(keys.hmacs()).as("repeated calls of one app reuse its expected token").isEqualTo(1);

        // A rotation makes new keys: two HMACs for the app (current and previous), once.
        rotate();
        now = now.plusSeconds(10);
        assertThat(keys.hmacs()).as("not re-read before the next call").isEqualTo(1);
        assertThat(keys.check(token, shop)).isEqualTo(GateKeys.Match.PREVIOUS);
        assertThat(keys.check(token, shop)).isEqualTo(GateKeys.Match.PREVIOUS);
        assertThat(keys.hmacs()).isEqualTo(2);
        assertThat(keys.check(GateKeys.token(KEY_B.getBytes(), shop), shop)).isEqualTo(GateKeys.Match.CURRENT);

        for (int i = 0; i < GateKeys.CACHED_APPS + 10; i++) {
            keys.check(token, app("team-a", "app-" + i, "uid-" + i));
        }
        assertThat(keys.cachedApps()).isBetween(1, GateKeys.CACHED_APPS);
        assertThat(keys.check(token, shop)).as("an app dropped from the cache is computed again, same answer")
                .isEqualTo(GateKeys.Match.PREVIOUS);
    }

    @Test
    void aShortOrMissingKeyIsRefusedAtStartAndABadNewFileKeepsTheOldKey() throws Exception {
        assertThatThrownBy(this::keys).hasMessageContaining("cannot read the gate key");
        write("current", "short");
        assertThatThrownBy(this::keys).hasMessageContaining("holds 5 bytes; a gate key needs at least 32");
        assertThatThrownBy(() -> new GateKeys(Optional.empty(), true, Duration.ofSeconds(10), clock))
                .hasMessageContaining("zdt.gate.auth.key-dir is not set");

        write("current", KEY_A);
        GateKeys keys = keys();
        ZeroDowntimeApp shop = app("team-a", "shop", "uid-1");
        String token = keys.tokenFor(shop, null);
        write("current", "oops");
        now = now.plusSeconds(60);
        assertThat(keys.check(token, shop)).as("a broken update does not lock every pod out")
                .isEqualTo(GateKeys.Match.CURRENT);
    }

    @Test
    void withAuthOffNothingIsRenderedAndEveryCallPasses() {
        GateKeys off = new GateKeys(Optional.empty(), false, Duration.ofSeconds(10), clock);
        ZeroDowntimeApp shop = app("team-a", "shop", "uid-1");
        assertThat(off.enabled()).isFalse();
        assertThat(off.tokenFor(shop, "v1.whatever")).isNull();
        assertThat(off.check(null, shop)).isEqualTo(GateKeys.Match.CURRENT);
    }

    @Test
    void aPolicysPodsCarryTheTokenTheGateChecksForThePolicysView() throws Exception {
        write("current", KEY_A);
        GateKeys keys = keys();
        // What the webhook rendered into a policy's pods before pod identity (still accepted in the
        // legacy window), and the policy's view the gate checks a call against: its namespace,
        // policy.<name> and the policy's uid.
        String rendered = keys.currentToken("shop", dev.zdt.operator.Constants.policyAppName("web"), "policy-uid-1");
        assertThat(keys.check(rendered, app("shop", dev.zdt.operator.Constants.policyAppName("web"), "policy-uid-1")))
                .isEqualTo(GateKeys.Match.CURRENT);
        assertThat(keys.check(rendered, app("shop", "web", "policy-uid-1"))).as("not the app of the same name")
                .isEqualTo(GateKeys.Match.NONE);
    }
}
