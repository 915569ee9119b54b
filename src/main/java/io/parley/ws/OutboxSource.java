package io.parley.ws;

import io.micrometer.core.instrument.Counter;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.stream.Attributes;
import org.apache.pekko.stream.Outlet;
import org.apache.pekko.stream.SourceShape;
import org.apache.pekko.stream.stage.AbstractGraphStageWithMaterializedValue;
import org.apache.pekko.stream.stage.AbstractOutHandler;
import org.apache.pekko.stream.stage.AsyncCallback;
import org.apache.pekko.stream.stage.GraphStageLogic;

/** Emits what an {@link Outbox} holds, one frame per pull; fails with its {@link CloseSignal}. */
final class OutboxSource extends AbstractGraphStageWithMaterializedValue<SourceShape<OutFrame>, Outbox> {
  private final int buffer;
  private final Counter droppedTotal;
  private final Outlet<OutFrame> out = Outlet.create("Outbox.out");
  private final SourceShape<OutFrame> shape = SourceShape.of(out);

  OutboxSource(int buffer, Counter droppedTotal) {
    this.buffer = buffer;
    this.droppedTotal = droppedTotal;
  }

  @Override
  public SourceShape<OutFrame> shape() {
    return shape;
  }

  @Override
  public Pair<GraphStageLogic, Outbox> createLogicAndMaterializedValuePair(Attributes attributes) {
    Logic logic = new Logic();
    return Pair.create(logic, logic.outbox);
  }

  private final class Logic extends GraphStageLogic {
    // invoked before the stage starts, the callback waits for it
    private final AsyncCallback<Object> woken = createAsyncCallback(ignored -> emitNext());
    final Outbox outbox = new Outbox(buffer, droppedTotal, () -> woken.invoke(Boolean.TRUE));

    Logic() {
      super(shape);
      setHandler(out, new AbstractOutHandler() {
        @Override
        public void onPull() {
          emitNext();
        }
      });
    }

    private void emitNext() {
      CloseSignal closing = outbox.closing();
      if (closing != null) {
        failStage(closing);
      } else if (isAvailable(out)) {
        OutFrame next = outbox.poll();
        if (next != null) push(out, next);
      }
    }

    @Override
    public void postStop() {
      outbox.end();
    }
  }
}
