package io.parley.bench.storage;

import javax.sql.DataSource;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/** The reads of the history section: newest N, before S, after S; oldest first. */
final class History {
    private static final String COLUMNS =
            "SELECT room_id, seq, message_id, sender_id, sender_name, payload, created_at FROM messages";

    private final DataSource ds;

    History(DataSource ds) {
        this.ds = ds;
    }

    List<Msg> newest(String room, int limit) throws SQLException {
        return reversed(query(COLUMNS + " WHERE room_id = ? ORDER BY seq DESC LIMIT ?", room, null, limit));
    }

    List<Msg> before(String room, long seq, int limit) throws SQLException {
        return reversed(query(COLUMNS + " WHERE room_id = ? AND seq < ? ORDER BY seq DESC LIMIT ?", room, seq, limit));
    }

    List<Msg> after(String room, long seq, int limit) throws SQLException {
        return query(COLUMNS + " WHERE room_id = ? AND seq > ? ORDER BY seq LIMIT ?", room, seq, limit);
    }

    private List<Msg> query(String sql, String room, Long seq, int limit) throws SQLException {
        try (Connection c = ds.getConnection(); PreparedStatement ps = c.prepareStatement(sql)) {
            int i = 1;
            ps.setString(i++, room);
            if (seq != null) {
                ps.setLong(i++, seq);
            }
            ps.setInt(i, limit);
            List<Msg> out = new ArrayList<>(limit);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(new Msg(rs.getString(1), rs.getLong(2), rs.getString(3), rs.getString(4),
                            rs.getString(5), rs.getString(6), rs.getTimestamp(7).toInstant(), null));
                }
            }
            return out;
        }
    }

    private static List<Msg> reversed(List<Msg> l) {
        Collections.reverse(l);
        return l;
    }
}
