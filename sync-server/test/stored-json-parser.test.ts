import { Decoder, Encoder, type Packet, PacketType } from 'socket.io-parser';
import { describe, expect, it } from 'vitest';
import { storedJsonParser } from '../src/realtime/stored-json-parser';
import { StoredDocuments } from '../src/sync/stored-documents';
import { draftConversation, draftMessage } from './support/docs';

/**
 * The server's Socket.io encoder writes an answer's stored documents as they are: the text must
 * be exactly what Socket.io's own encoder writes for the parsed documents, so that every client
 * (stock ones included, with the default parser) reads the same answer.
 */

const a = 'a'.repeat(24);
const b = 'b'.repeat(24);

/** Documents as the SQLite store writes them: JSON of the document with its seq, no `_deleted`. */
function stored(): string[] {
  const { _deleted, ...conversation } = draftConversation(a, b);
  const contents = [
    'plain',
    'quotes " and \\ backslashes, a newline\nand a tab\t',
    'emoji 🙂, accents éàü, a lone surrogate escaped \\ud800, and </script>',
    '"_deleted" in the text, and {"seq":1}',
    '_deleted',
  ];
  const messages = contents.map((content, i) => {
    const { _deleted: _d, ...m } = draftMessage(conversation.id, a, b, content);
    return JSON.stringify({ ...m, seq: 10 + i });
  });
  return [...messages, JSON.stringify({ ...conversation, seq: 20 })];
}

const encodeWith = (encoder: Encoder, packet: Packet) => encoder.encode(packet);
const ours = () => new storedJsonParser.Encoder();

/** The same packet with its documents parsed, as the server built answers before. */
function parsedTwin(packet: Packet): Packet {
  return JSON.parse(JSON.stringify(packet)) as Packet;
}

function decode(text: string): Packet {
  const decoder = new Decoder();
  let out: Packet | null = null;
  decoder.on('decoded', (p: Packet) => {
    out = p;
  });
  decoder.add(text);
  if (!out) throw new Error('nothing decoded');
  return out;
}

describe('the stored-JSON encoder', () => {
  it('writes an answer with stored documents exactly as the default encoder writes it parsed', () => {
    const documents = new StoredDocuments(stored());
    for (const packet of [
      { type: PacketType.ACK, nsp: '/', id: 7, data: [{ documents, checkpoint: { seq: 20 } }] },
      { type: PacketType.ACK, nsp: '/', id: 0, data: [{ documents, history: { before: 10, remaining: 3 }, absent: undefined }] },
      { type: PacketType.ACK, nsp: '/admin', id: 12, data: [{ documents: new StoredDocuments([]), before: null }] },
    ] as Packet[]) {
      const [text] = encodeWith(ours(), packet);
      expect(text).toBe(encodeWith(new Encoder(), parsedTwin(packet))[0]);
      const decoded = decode(text as string);
      expect(decoded.id).toBe(packet.id);
      expect(decoded.data).toEqual(JSON.parse(JSON.stringify(packet.data)));
    }
  });

  it('gives every document `_deleted: false` after its own fields, as the parsed answer did', () => {
    const texts = stored();
    const [text] = encodeWith(ours(), { type: PacketType.ACK, nsp: '/', id: 1, data: [{ documents: new StoredDocuments(texts) }] });
    const sent = (decode(text as string).data as [{ documents: Record<string, unknown>[] }])[0].documents;
    expect(sent).toEqual(texts.map((t) => ({ ...JSON.parse(t), _deleted: false })));
    for (const doc of sent) expect(Object.keys(doc).at(-1)).toBe('_deleted');
  });

  it('a stored document that holds `_deleted` has it replaced, not repeated', () => {
    const { _deleted, ...m } = draftMessage(draftConversation(a, b).id, a, b, 'odd');
    const documents = new StoredDocuments([JSON.stringify({ ...m, _deleted: true, seq: 3 })]);
    const [text] = encodeWith(ours(), { type: PacketType.ACK, nsp: '/', id: 2, data: [{ documents }] });
    expect(text).not.toMatch(/_deleted.*_deleted/);
    expect((decode(text as string).data as [{ documents: { _deleted: boolean }[] }])[0].documents[0]?._deleted).toBe(false);
  });

  it('encodes every other packet as the default encoder does', () => {
    const { _deleted, ...m } = draftMessage(draftConversation(a, b).id, a, b, 'hello');
    for (const packet of [
      { type: PacketType.EVENT, nsp: '/', data: ['sync:stream', { collection: 'messages', documents: [m], checkpoint: { seq: 1 } }] },
      { type: PacketType.ACK, nsp: '/', id: 3, data: [{ conflicts: [], rejected: [] }] },
      { type: PacketType.ACK, nsp: '/', id: 4, data: [{ documents: [m], checkpoint: { seq: 1 } }] },
      { type: PacketType.EVENT, nsp: '/', data: ['file', Buffer.from([1, 2, 3])] },
      { type: PacketType.CONNECT, nsp: '/', data: { sid: 'x' } },
    ] as Packet[]) {
      expect(encodeWith(ours(), packet)).toEqual(encodeWith(new Encoder(), packet));
    }
  });
});
