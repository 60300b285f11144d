import { connect } from 'node:net';
import type { Readable } from 'node:stream';

export type ScanResult = { clean: true } | { clean: false; signature: string };

/** The virus-scanning port: the file service asks it about every completed upload. */
export interface FileScanner {
  /** 'clamd' or 'none', for /health and the logs. */
  readonly kind: string;
  scan(bytes: Readable): Promise<ScanResult>;
  ping(): Promise<void>;
}

/** No scanner configured: every file passes; /health and the start-up log say so. */
export const noScanner: FileScanner = {
  kind: 'none',
  scan: async () => ({ clean: true }),
  ping: async () => undefined,
};

/**
 * ClamAV's daemon over TCP with its INSTREAM command (clamd.conf(5)): the bytes go in chunks
 * prefixed by their length, a zero length ends them, and clamd answers `stream: OK` or
 * `stream: <signature> FOUND`. Written here because the protocol is a few lines and the npm
 * wrappers insist on local clamscan binaries.
 */
export function clamdScanner(options: { host: string; port: number; timeoutMs?: number }): FileScanner {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const talk = (send: (socket: import('node:net').Socket) => Promise<void>) =>
    new Promise<string>((resolve, reject) => {
      const socket = connect(options.port, options.host);
      const chunks: Buffer[] = [];
      socket.setTimeout(timeoutMs, () => socket.destroy(new Error('clamd timed out')));
      socket.on('data', (c) => chunks.push(c));
      socket.on('error', reject);
      socket.on('end', () => resolve(Buffer.concat(chunks).toString('utf8').replace(/\0/g, '').trim()));
      socket.once('connect', () => send(socket).catch((err) => socket.destroy(err)));
    });

  return {
    kind: 'clamd',
    async scan(bytes) {
      const answer = await talk(async (socket) => {
        socket.write('zINSTREAM\0');
        for await (const chunk of bytes) {
          const buf = chunk as Buffer;
          const size = Buffer.alloc(4);
          size.writeUInt32BE(buf.length);
          if (!socket.write(Buffer.concat([size, buf]))) await new Promise((r) => socket.once('drain', r));
        }
        socket.end(Buffer.alloc(4));
      });
      if (/: OK$/.test(answer)) return { clean: true };
      const found = /: (.+) FOUND$/.exec(answer);
      if (found) return { clean: false, signature: found[1]! };
      throw new Error(`clamd: ${answer || 'no answer'}`);
    },
    async ping() {
      const answer = await talk(async (socket) => {
        socket.end('zPING\0');
      });
      if (answer !== 'PONG') throw new Error(`clamd: ${answer}`);
    },
  };
}
