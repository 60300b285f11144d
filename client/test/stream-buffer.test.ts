import { afterEach, describe, expect, test, vi } from 'vitest';
import { type StreamBatch, StreamBuffer, type StreamOutput } from '../src/sync/stream-buffer';

type D = { id: string; seq: number };
const batch = (...seqs: number[]): StreamBatch<D> => ({
  documents: seqs.map((seq) => ({ id: `d${seq}`, seq })),
  checkpoint: { seq: seqs[seqs.length - 1] as number },
});
const seqsOf = (out: StreamOutput<D>[]) => out.map((o) => (o === 'RESYNC' ? 'RESYNC' : o.documents.map((d) => d.seq)));

/** A buffer whose connection has pulled up to `position` and whose RxDB is idle. */
function setup(position = 10) {
  const out: StreamOutput<D>[] = [];
  const buffer = new StreamBuffer<D>((item) => out.push(item));
  buffer.activity(false, false);
  buffer.pullStarted();
  buffer.pullAnswered(position, false);
  return { buffer, out };
}

/** RxDB takes what was handed and processes it (down goes active, then idle). */
function process(buffer: StreamBuffer<D>) {
  buffer.activity(true, false);
  buffer.activity(false, false);
}

describe('StreamBuffer', () => {
  test('a batch that continues while RxDB is idle is handed on at once', () => {
    const { buffer, out } = setup();
    buffer.batch(batch(11, 12));
    expect(seqsOf(out)).toEqual([[11, 12]]);
  });

  test('a burst while RxDB stores is buffered in order and handed as one batch when it is idle, without a pull', () => {
    const { buffer, out } = setup();
    buffer.batch(batch(11));
    buffer.activity(true, false); // storing 11
    buffer.batch(batch(12));
    buffer.batch(batch(13, 14));
    expect(seqsOf(out)).toEqual([[11]]);
    buffer.activity(false, false);
    expect(seqsOf(out)).toEqual([[11], [12, 13, 14]]);
    const last = out[1] as StreamBatch<D>;
    expect(last.checkpoint).toEqual({ seq: 14 });
    expect(buffer.counts.resyncs).toBe(0);
  });

  test('while blocked (a message sent ahead of its local write) batches and the pull for a gap wait; the last unblock hands them on', () => {
    const { buffer, out } = setup();
    const first = buffer.block();
    const second = buffer.block();
    buffer.batch(batch(11));
    buffer.batch(batch(12));
    expect(out).toEqual([]);
    first();
    first(); // twice is once
    expect(out).toEqual([]);
    second();
    expect(seqsOf(out)).toEqual([[11, 12]]);
    process(buffer);

    const third = buffer.block();
    buffer.batch(batch(12)); // at or below the position: a gap
    expect(out).toHaveLength(1);
    third();
    expect(seqsOf(out)).toEqual([[11, 12], 'RESYNC']);
  });

  test('nothing is handed while RxDB pushes, and nothing twice', () => {
    const { buffer, out } = setup();
    buffer.activity(false, true);
    buffer.batch(batch(11));
    buffer.batch(batch(12));
    expect(out).toEqual([]);
    buffer.activity(false, false);
    expect(seqsOf(out)).toEqual([[11, 12]]);
    buffer.activity(false, false);
    process(buffer);
    expect(seqsOf(out)).toEqual([[11, 12]]);
  });

  test('a handed batch must be processed before the next is handed', () => {
    const { buffer, out } = setup();
    buffer.batch(batch(11));
    // RxDB has not started on it yet (still idle): the next one waits.
    buffer.batch(batch(12));
    expect(seqsOf(out)).toEqual([[11]]);
    process(buffer);
    expect(seqsOf(out)).toEqual([[11], [12]]);
  });

  test('a batch at or below the known position is a gap: a pull, and what was buffered is dropped', () => {
    const { buffer, out } = setup();
    buffer.activity(true, false);
    buffer.batch(batch(11));
    buffer.batch(batch(11, 12)); // does not continue from 11
    buffer.activity(false, false);
    expect(out).toEqual(['RESYNC']);
  });

  test('{ resync: true } asks for a pull, and batches wait until that pull has started (it brings them)', () => {
    const { buffer, out } = setup();
    buffer.resync();
    expect(out).toEqual(['RESYNC']);
    buffer.batch(batch(11));
    buffer.activity(false, false);
    expect(out).toEqual(['RESYNC']);
    buffer.pullStarted();
    buffer.pullAnswered(11, false);
    buffer.batch(batch(12));
    expect(seqsOf(out)).toEqual(['RESYNC', [12]]);
  });

  test('a resync waits until a handed batch is processed (RxDB would drop it in the same drain)', () => {
    const { buffer, out } = setup();
    buffer.batch(batch(11));
    buffer.resync();
    expect(seqsOf(out)).toEqual([[11]]);
    process(buffer);
    expect(seqsOf(out)).toEqual([[11], 'RESYNC']);
  });

  test('a resync waits while RxDB pushes', () => {
    const { buffer, out } = setup();
    buffer.activity(false, true);
    buffer.resync();
    expect(out).toEqual([]);
    buffer.activity(false, false);
    expect(out).toEqual(['RESYNC']);
  });

  test('before any pull answer on a connection the position is unknown: every batch is a gap', () => {
    const out: StreamOutput<D>[] = [];
    const buffer = new StreamBuffer<D>((item) => out.push(item));
    buffer.activity(false, false);
    buffer.batch(batch(1));
    expect(out).toEqual(['RESYNC']);
  });

  test('after a reconnect batches are gaps until a pull is answered on the new connection', () => {
    const { buffer, out } = setup();
    buffer.reconnected();
    expect(out).toEqual(['RESYNC']);
    buffer.pullStarted();
    buffer.batch(batch(11)); // during the pull: waits for the answer
    buffer.pullAnswered(11, false);
    expect(out).toEqual(['RESYNC']);
    buffer.batch(batch(12));
    expect(seqsOf(out)).toEqual(['RESYNC', [12]]);
  });

  test('a lost pull answer leaves the position unknown until the next answer', () => {
    const { buffer, out } = setup();
    buffer.pullStarted();
    buffer.pullFailed(true);
    buffer.batch(batch(20));
    expect(out).toEqual(['RESYNC']);
    buffer.pullStarted();
    buffer.pullAnswered(20, false);
    buffer.batch(batch(21));
    expect(seqsOf(out)).toEqual(['RESYNC', [21]]);
  });

  test('a refused pull left the cursor where it was: batches during it continue', () => {
    const { buffer, out } = setup();
    buffer.activity(true, false);
    buffer.pullStarted();
    buffer.batch(batch(11));
    buffer.pullFailed(false);
    buffer.activity(false, false);
    expect(seqsOf(out)).toEqual([[11]]);
  });

  test('a batch during a pull that the answer covers is dropped, not applied after it', () => {
    const { buffer, out } = setup();
    buffer.activity(true, false);
    buffer.pullStarted();
    buffer.batch(batch(11, 12));
    buffer.pullAnswered(15, false);
    buffer.activity(false, false);
    expect(out).toEqual([]);
    expect(buffer.counts.dropped).toBe(1);
  });

  test('a batch during a pull beyond a short answer is a gap: pull again', () => {
    const { buffer, out } = setup();
    buffer.activity(true, false);
    buffer.pullStarted();
    buffer.batch(batch(11));
    buffer.pullAnswered(10, false);
    buffer.activity(false, false);
    expect(out).toEqual(['RESYNC']);
  });

  test('a batch during a pull beyond a full page is left to the next page', () => {
    const { buffer, out } = setup();
    buffer.activity(true, false);
    buffer.pullStarted();
    buffer.batch(batch(300));
    buffer.pullAnswered(250, true);
    buffer.pullStarted();
    buffer.pullAnswered(300, false);
    buffer.activity(false, false);
    expect(out).toEqual([]);
    buffer.batch(batch(301));
    expect(seqsOf(out)).toEqual([[301]]);
  });

  test('a pull that starts while a handed batch is unprocessed is followed by another pull', () => {
    const { buffer, out } = setup();
    buffer.batch(batch(11));
    buffer.pullStarted();
    buffer.pullAnswered(11, false);
    process(buffer);
    expect(seqsOf(out)).toEqual([[11], 'RESYNC']);
  });

  test('a retried pull does not stand for a resync asked for while it waited', () => {
    const { buffer, out } = setup();
    buffer.activity(true, false);
    buffer.pullStarted();
    buffer.pullFailed(false); // RxDB waits, then retries
    buffer.resync(); // queued in RxDB behind the retry
    buffer.pullStarted(false);
    buffer.pullAnswered(10, false);
    buffer.activity(false, false);
    buffer.batch(batch(11));
    expect(out).toEqual(['RESYNC']); // held: RxDB pulls again first
    buffer.pullStarted();
    buffer.pullAnswered(11, false);
    buffer.batch(batch(12));
    expect(seqsOf(out)).toEqual(['RESYNC', [12]]);
  });

  test('a resync RxDB has not taken in when a pull starts still brings a pull; nothing is handed before it', () => {
    const out: StreamOutput<D>[] = [];
    let accepted = 0;
    const buffer = new StreamBuffer<D>(
      (item) => out.push(item),
      () => accepted,
    );
    buffer.activity(false, false);
    buffer.pullStarted();
    buffer.pullAnswered(10, false);
    buffer.resync(); // held in RxDB's pipeline (it pushes)
    buffer.pullStarted(); // an earlier pull request of RxDB's
    buffer.pullAnswered(10, false);
    buffer.batch(batch(11));
    expect(out).toEqual(['RESYNC']);
    accepted = 1; // queued after that pull: RxDB pulls again
    buffer.pullStarted();
    buffer.pullAnswered(11, false);
    buffer.batch(batch(12));
    expect(seqsOf(out)).toEqual(['RESYNC', [12]]);
  });

  test('before RxDB listens, nothing is given to it (it would be lost) and its first pull covers what arrived', () => {
    const out: StreamOutput<D>[] = [];
    let listening = false;
    let accepted = 0;
    const buffer = new StreamBuffer<D>(
      (item) => out.push(item),
      () => accepted,
      () => listening,
    );
    buffer.activity(false, false); // RxDB reports idle while its downstream still starts
    buffer.reconnected(); // the socket connected first
    buffer.resync();
    expect(out).toEqual([]);
    expect(buffer.settled).toBe(true);
    listening = true; // RxDB queued its first pull and subscribed
    buffer.pullStarted();
    buffer.pullAnswered(10, false);
    buffer.batch(batch(11));
    expect(seqsOf(out)).toEqual([[11]]);
    accepted = 1;
    process(buffer);
    buffer.batch(batch(12));
    expect(seqsOf(out)).toEqual([[11], [12]]);
  });

  test('closed: nothing more is handed', () => {
    const { buffer, out } = setup();
    buffer.close();
    buffer.batch(batch(11));
    buffer.resync();
    expect(out).toEqual([]);
  });

  describe('hold', () => {
    afterEach(() => {
      vi.useRealTimers();
    });

    /** Documents whose id starts with "w" may wait; anything else may not. */
    function held(position = 10) {
      vi.useFakeTimers();
      const out: StreamOutput<D>[] = [];
      const buffer = new StreamBuffer<D>((item) => out.push(item), undefined, undefined, {
        ms: 1000,
        mayWait: (b) => b.documents.every((d) => d.id.startsWith('w')),
      });
      buffer.activity(false, false);
      buffer.pullStarted();
      buffer.pullAnswered(position, false);
      return { buffer, out };
    }
    const waiting = (...seqs: number[]): StreamBatch<D> => ({
      documents: seqs.map((seq) => ({ id: `w${seq % 2}`, seq })),
      checkpoint: { seq: seqs[seqs.length - 1] as number },
    });

    test('batches that may wait are handed together when the hold ends, in order, with the last checkpoint', () => {
      const { buffer, out } = held();
      buffer.batch(waiting(11));
      vi.advanceTimersByTime(400);
      buffer.batch(waiting(12));
      buffer.batch(waiting(13));
      expect(out).toEqual([]);
      vi.advanceTimersByTime(599);
      expect(out).toEqual([]);
      vi.advanceTimersByTime(1);
      expect(seqsOf(out)).toEqual([[11, 12, 13]]);
      expect((out[0] as StreamBatch<D>).checkpoint).toEqual({ seq: 13 });
      expect(buffer.counts.resyncs).toBe(0);
    });

    test('a batch that may not wait flushes what was held with it at once', () => {
      const { buffer, out } = held();
      buffer.batch(waiting(11));
      buffer.batch(batch(12));
      expect(seqsOf(out)).toEqual([[11, 12]]);
      // Nothing left to fire later.
      vi.advanceTimersByTime(5000);
      expect(seqsOf(out)).toEqual([[11, 12]]);
    });

    test('a hold that ends while RxDB is busy hands the batch when it is idle, once', () => {
      const { buffer, out } = held();
      buffer.batch(waiting(11));
      buffer.activity(false, true); // a push starts
      vi.advanceTimersByTime(1000);
      expect(out).toEqual([]);
      buffer.activity(false, false);
      expect(seqsOf(out)).toEqual([[11]]);
      process(buffer);
      vi.advanceTimersByTime(5000);
      expect(seqsOf(out)).toEqual([[11]]);
    });

    test('a pull started during a hold drops what was held (the pull brings it) and no timer hands it later', () => {
      const { buffer, out } = held();
      buffer.batch(waiting(11));
      buffer.pullStarted();
      buffer.pullAnswered(11, false);
      vi.advanceTimersByTime(5000);
      expect(out).toEqual([]);
      buffer.batch(waiting(12));
      vi.advanceTimersByTime(1000);
      expect(seqsOf(out)).toEqual([[12]]);
    });

    test('a gap during a hold asks for a pull instead', () => {
      const { buffer, out } = held();
      buffer.batch(waiting(11));
      buffer.batch(waiting(12));
      expect(buffer.counts.resyncs).toBe(0);
      buffer.batch(waiting(12)); // at or below the position: something was missed
      expect(out).toEqual(['RESYNC']);
      vi.advanceTimersByTime(5000);
      expect(out).toEqual(['RESYNC']);
    });
  });
});
