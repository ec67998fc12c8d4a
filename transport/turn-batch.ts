/**
 * TurnBatch: the frames a link sends during one turn of the event loop, encoded into one
 * buffer that goes out at the end of the turn (a microtask) — or at once when it holds
 * MAX_BATCH_FRAMES, so the receiver handles each batch while it is young (cheap for the GC).
 * Used by thread links and node sessions alike; what "goes out" means is theirs (`flush`).
 */
import { BatchWriter, type Codec } from './codec.js';

/** A batch goes out when it holds this many frames, or at the end of the turn. */
export const MAX_BATCH_FRAMES = 1024;

export class TurnBatch extends BatchWriter {
  private flushQueued = false;

  constructor(
    private readonly codec: Codec,
    initialBytes: number,
    private readonly flush: () => void,
  ) {
    super(initialBytes);
  }

  /** Encodes `frame` into the batch (throws like `Codec.append`; nothing is added then). */
  add(frame: unknown): void {
    this.codec.append(this, frame);
    if (this.frames >= MAX_BATCH_FRAMES) this.flush();
    else if (!this.flushQueued) {
      this.flushQueued = true;
      queueMicrotask(this.endOfTurn);
    }
  }

  private readonly endOfTurn = (): void => {
    this.flushQueued = false;
    this.flush();
  };
}
