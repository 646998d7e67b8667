/**
 * A plain-HTTP request to a node's TLS port, answered as nginx answers it: an HTTP/1.1 error the
 * client can read ("use https://"), then the connection closed. Without this, OpenSSL fails the
 * handshake on the request's first bytes and the client sees only a closed connection.
 *
 * Every connection's first byte decides: a TLS connection starts with a handshake record (content
 * type 0x16, RFC 8446 §5.1), which nothing else does; those connections go to the TLS server's own
 * listener untouched, the byte put back (`unshift`) for node:tls to read first. Anything else gets
 * the answer. We considered separating them by the request line ("GET ", "POST "…, OpenSSL's own
 * heuristic), but that needs several bytes, so a slow client waits; and any byte but 0x16 is a
 * certain handshake failure anyway, so it might as well be told why.
 *
 * We considered a `net.Server` in front of an unlistening TLS server (httpolyglot's design), given to
 * Fastify as its `serverFactory`, but `app.server` would then not be the TLS server: its events
 * (`tlsClientError`, which `secureApp` records) and `listen`'s `https://` URL would need forwarding.
 * Putting a listener before the TLS server's own `'connection'` listener keeps the server Fastify
 * built as it is.
 */
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { Server as TlsServer } from 'node:tls';

/** The content type of a TLS handshake record: the first byte a TLS client sends. */
const TLS_HANDSHAKE_RECORD = 0x16;

/**
 * The event the server emits, with the raw socket, when it answers a plain-HTTP connection (once per
 * connection), for the trust layer to record (`secureApp` in src/protocol/server.ts).
 */
export const PLAIN_HTTP_REFUSED = 'renkei:plainHttpRefused';

export interface PlainHttpRefusalOptions {
  /** The answer: its status and its JSON body. */
  status: number;
  body: unknown;
  /** How long a new connection may stay silent before it is dropped (default 10 s). */
  firstByteTimeoutMs?: number;
  /**
   * How long, after the answer, the client has to close its end (default 5 s). Meanwhile what it
   * still sends is read and dropped: closing with unread bytes would reset the connection, and the
   * client could lose the answer.
   */
  lingerMs?: number;
}

export interface PlainHttpRefusal {
  /** Drop every connection not yet handed to TLS (on closing the server, which would wait for them). */
  destroyPending(): void;
}

/** At most this much of a plain client's request is read (and dropped) before the connection is cut. */
const MAX_DRAINED_BYTES = 64 * 1024;

/**
 * Put the answer to plain HTTP in front of `server`'s TLS listener. Call it before the server
 * listens. Errors: a TypeError if `server` has no `'connection'` listener (not a TLS server).
 */
export function refusePlainHttp(server: TlsServer, options: PlainHttpRefusalOptions): PlainHttpRefusal {
  const tlsListeners = server.listeners('connection') as ((socket: Socket) => void)[];
  if (tlsListeners.length === 0) throw new TypeError('expected a TLS server with its connection listener');
  const answer = httpAnswer(options.status, options.body);
  const firstByteTimeoutMs = options.firstByteTimeoutMs ?? 10_000;
  const lingerMs = options.lingerMs ?? 5_000;
  const pending = new Set<Socket>();

  server.removeAllListeners('connection');
  server.on('connection', (socket: Socket) => {
    pending.add(socket);
    // Until TLS owns the socket, its errors (a reset) are ours to handle: unhandled, one would crash
    // the node.
    const onError = () => socket.destroy();
    const onClose = () => pending.delete(socket);
    const onTimeout = () => socket.destroy();
    socket.on('error', onError);
    socket.once('close', onClose);
    socket.once('timeout', onTimeout);
    socket.setTimeout(firstByteTimeoutMs);

    socket.once('readable', () => {
      const chunk = socket.read() as Buffer | null;
      if (chunk === null || chunk.length === 0) {
        socket.destroy(); // closed before saying anything
        return;
      }
      if (chunk[0] === TLS_HANDSHAKE_RECORD) {
        // Hand over exactly as the socket came: no listener, timeout or byte of ours left on it.
        socket.unshift(chunk);
        socket.setTimeout(0);
        socket.removeListener('timeout', onTimeout);
        socket.removeListener('error', onError);
        socket.removeListener('close', onClose);
        pending.delete(socket);
        for (const listener of tlsListeners) listener.call(server, socket);
        return;
      }
      server.emit(PLAIN_HTTP_REFUSED, socket);
      socket.setTimeout(lingerMs);
      let drained = chunk.length;
      socket.on('data', (more: Buffer) => {
        drained += more.length;
        if (drained > MAX_DRAINED_BYTES) socket.destroy();
      });
      socket.resume();
      socket.end(answer);
    });
  });

  return {
    destroyPending() {
      for (const socket of pending) socket.destroy();
      pending.clear();
    },
  };
}

/** A whole HTTP/1.1 response that closes the connection. */
function httpAnswer(status: number, body: unknown): Buffer {
  const json = Buffer.from(JSON.stringify(body));
  const head =
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n` +
    'content-type: application/json; charset=utf-8\r\n' +
    `content-length: ${json.length}\r\n` +
    'connection: close\r\n\r\n';
  return Buffer.concat([Buffer.from(head, 'latin1'), json]);
}
