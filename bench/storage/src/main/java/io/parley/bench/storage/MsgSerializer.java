package io.parley.bench.storage;

import org.apache.pekko.serialization.SerializerWithStringManifest;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Instant;

/** The journal's event format for the pekko-persistence candidate: the message's fields, binary. */
public final class MsgSerializer extends SerializerWithStringManifest {

    @Override public int identifier() { return 7_701; }

    @Override public String manifest(Object o) { return "M"; }

    @Override
    public byte[] toBinary(Object o) {
        Msg m = ((PekkoCandidate.Stored) o).msg();
        try {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream(256);
            DataOutputStream out = new DataOutputStream(bytes);
            out.writeUTF(m.roomId());
            out.writeLong(m.seq());
            out.writeUTF(m.messageId());
            out.writeUTF(m.senderId());
            out.writeUTF(m.senderName());
            out.writeUTF(m.payload());
            out.writeLong(m.createdAt().toEpochMilli());
            return bytes.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public Object fromBinary(byte[] bytes, String manifest) {
        try {
            DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes));
            return new PekkoCandidate.Stored(new Msg(in.readUTF(), in.readLong(), in.readUTF(), in.readUTF(),
                    in.readUTF(), in.readUTF(), Instant.ofEpochMilli(in.readLong()), null));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
