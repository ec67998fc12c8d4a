/**
 * The other side of the raw ws baselines: a child process with a bare `ws` server on
 * 127.0.0.1 (no apiary runtime, permessage-deflate off). `/echo` decodes each binary frame
 * and answers it re-encoded (ping-pong); `/count` decodes batches of frames and answers the
 * text `count` with how many frames arrived. Tells the parent its port over IPC.
 */
import { WebSocketServer } from 'ws';
import { Codec } from '../transport/codec.js';

const codec = new Codec();
let count = 0;
const server = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false, maxPayload: 16 * 1024 * 1024 });
server.on('connection', (socket, req) => {
  const echo = req.url === '/echo';
  socket.on('message', (data: Buffer, isBinary: boolean) => {
    if (!isBinary) {
      socket.send(String(count));
      return;
    }
    if (echo) socket.send(codec.encode(codec.decode(data)));
    else count += codec.decodeBatch(data).length;
  });
});
server.on('listening', () => {
  const addr = server.address();
  process.send!({ port: addr !== null && typeof addr === 'object' ? addr.port : 0 });
});
process.on('disconnect', () => process.exit(0));
