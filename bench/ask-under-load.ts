/**
 * `ask-under-load`: ask latency to an actor while another sender on the same thread floods
 * that same actor with tells, as fast as the actor takes them: slices of `FLOOD_SLICE` tells,
 * each followed by an ask that serves as a credit, at most `CREDITS` slices in flight (an
 * unpaced flood only measures how long the test ran: the mailbox grows without bound). The
 * measured asks queue behind up to CREDITS × FLOOD_SLICE tells in FIFO order.
 * `throughput` is the flood actually delivered meanwhile. Variant `priority-high`: apiary's
 * asks sent with `priority: 'high'`, which overtake the queued tells.
 * Systems: raw (bare queue), apiary, nact, comedy (in-memory; a peer that is not installed is a note).
 */
import { ActorSystem } from '../runtime/node/actor-system.js';
import { comedySubject } from './peers/comedy.js';
import { notInstalled, peerInstalled } from './peers/load.js';
import { nactSubject } from './peers/nact.js';
import { Latency, throughputRow, yieldToLoop, type BenchNote, type BenchRow, type ScenarioResult } from './stats.js';
import { apiarySubject, rawQueueSubject, TICK, type Subject } from './subject.js';

export interface AskUnderLoadOptions {
  asks: number;
}

const FLOOD_SLICE = 1000;
const CREDITS = 8;

async function underLoad(subject: Subject, asks: number, variant?: string): Promise<BenchRow[]> {
  let flooding = true;
  let sent = 0;
  const t0 = performance.now();
  const flooder = (async () => {
    const credits: Promise<unknown>[] = [];
    while (flooding) {
      for (let i = 0; i < FLOOD_SLICE; i++) subject.tell(TICK);
      sent += FLOOD_SLICE;
      credits.push(subject.ask(-1));
      if (credits.length >= CREDITS) await credits.shift();
      await yieldToLoop(); // one slice per event-loop turn
    }
    await Promise.all(credits);
  })();
  const lat = new Latency();
  for (let i = -Math.min(100, asks / 10); i < asks; i++) {
    const t = performance.now();
    await subject.ask(i);
    if (i >= 0) lat.recordMs(performance.now() - t);
    await yieldToLoop(); // one ask per event-loop turn, as the flooder sends one slice per turn
  }
  flooding = false;
  await flooder;
  await subject.counted(sent);
  const rate = (sent / (performance.now() - t0)) * 1000;
  return [...lat.rows('ask-under-load', subject.system, variant), throughputRow('ask-under-load', subject.system, rate, variant)];
}

export async function askUnderLoad(options: AskUnderLoadOptions): Promise<ScenarioResult> {
  const system = new ActorSystem();
  const rows: BenchRow[] = [];
  const notes: BenchNote[] = [];
  try {
    const systems: [() => Subject | Promise<Subject>, string?][] = [
      [rawQueueSubject],
      [() => apiarySubject(system)],
      [() => apiarySubject(system, 0, 'apiary', { priority: 'high' }), 'priority-high'],
    ];
    if (peerInstalled('nact')) systems.push([nactSubject]);
    else notes.push(notInstalled('nact', 'ask-under-load'));
    if (peerInstalled('comedy')) systems.push([() => comedySubject('in-memory')]);
    else notes.push(notInstalled('comedy', 'ask-under-load'));
    for (const [make, variant] of systems) {
      const subject = await make();
      try {
        rows.push(...(await underLoad(subject, options.asks, variant)));
      } finally {
        await subject.stop();
      }
    }
  } finally {
    await system.stop();
  }
  return { rows, notes };
}
