/**
 * The other process of a cross-node scenario: a cluster node on 127.0.0.1 that hosts what
 * the benchmark spawns on it, and beside it a bare ws server for the raw baseline (what it
 * does with a connection is the scenario's), after `prepare` (what the scenario needs there,
 * e.g. subscribers). Prints `READY <node url> <raw url>` once both listen, and stops both when
 * stdin closes.
 */
import { WebSocketServer, type WebSocket } from 'ws';
import { ActorSystem } from '../runtime/node/actor-system.js';

export async function servePeerNode(secret: string, onRaw: (ws: WebSocket) => void, prepare?: (system: ActorSystem) => Promise<void>): Promise<void> {
  const system = new ActorSystem({
    name: 'bench-peer',
    threads: 0,
    cluster: { listen: { host: '127.0.0.1', port: 0 }, secret: new TextEncoder().encode(secret) },
  });
  await system.ready();
  await prepare?.(system);
  const raw = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false, maxPayload: 1024 * 1024 });
  await new Promise((r) => raw.once('listening', r));
  raw.on('connection', onRaw);
  const rawPort = (raw.address() as { port: number }).port;
  process.stdout.write(`READY ${system.cluster!.url} ws://127.0.0.1:${rawPort}\n`);
  process.stdin.resume();
  process.stdin.on('close', () => void system.stop().then(() => (raw.close(), process.exit(0))));
}
