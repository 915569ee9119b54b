package io.parley.testing;

import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The tests' PostgreSQL is a real server, reachable as root too, with a database per caller. */
class TestPostgresTest {

    @Test
    void aRealPostgresServerAnswers() throws SQLException {
        try (Connection c = DriverManager.getConnection(TestPostgres.newDatabase());
             Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT version()")) {
            assertThat(rs.next()).isTrue();
            assertThat(rs.getString(1)).startsWith("PostgreSQL ");
        }
    }

    @Test
    void enforcesConstraintsAndTheDialectTheRoomLogUses() throws SQLException {
        try (Connection c = DriverManager.getConnection(TestPostgres.newDatabase()); Statement st = c.createStatement()) {
            st.execute("CREATE TABLE messages (room_id VARCHAR(64) NOT NULL, seq BIGINT NOT NULL, PRIMARY KEY (room_id, seq))");
            assertThat(st.executeUpdate("INSERT INTO messages VALUES ('r', 1) ON CONFLICT DO NOTHING")).isEqualTo(1);
            assertThat(st.executeUpdate("INSERT INTO messages VALUES ('r', 1) ON CONFLICT DO NOTHING")).isZero();
            assertThatThrownBy(() -> st.executeUpdate("INSERT INTO messages VALUES ('r', 1)"))
                    .isInstanceOf(SQLException.class)
                    .satisfies(e -> assertThat(((SQLException) e).getSQLState()).isEqualTo("23505"));
        }
    }

    @Test
    void eachCallerGetsItsOwnEmptyDatabase() throws SQLException {
        String first = TestPostgres.newDatabase();
        String second = TestPostgres.newDatabase();
        assertThat(first).isNotEqualTo(second);
        try (Connection c = DriverManager.getConnection(first); Statement st = c.createStatement()) {
            st.execute("CREATE TABLE only_here (id INT)");
        }
        try (Connection c = DriverManager.getConnection(second);
             Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT count(*) FROM information_schema.tables WHERE table_name = 'only_here'")) {
            rs.next();
            assertThat(rs.getInt(1)).isZero();
        }
    }
}
