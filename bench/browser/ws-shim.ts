/**
 * RxDB's replication-websocket plugin imports the `ws` package (client and server in one
 * module). In the page the browser's own WebSocket does the job; the server half is never used.
 */
export const WebSocket = globalThis.WebSocket;
export class WebSocketServer {
  constructor() {
    throw new Error('WebSocketServer is not available in the browser');
  }
}
export default WebSocket;
