// The API server's one Bun WebSocket handler: each upgraded connection carries its own session
// object (today only exec tunnels), so new WebSocket features add a session type, not a handler.
import type { ServerWebSocket, WebSocketHandler } from "bun";

export interface SocketSession {
  open(ws: ServerWebSocket<unknown>): void;
  message(data: string | Uint8Array): void;
  close(): void;
  drain?(): void;
}

export const socketHandler: WebSocketHandler<SocketSession> = {
  open: (ws) => ws.data.open(ws as ServerWebSocket<unknown>),
  message: (ws, data) => ws.data.message(data),
  close: (ws) => ws.data.close(),
  drain: (ws) => ws.data.drain?.(),
};
