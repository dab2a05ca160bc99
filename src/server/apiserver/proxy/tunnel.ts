// A WebSocket spliced between kubectl (accepted by Bun.serve) and the node's agent (dialed by
// the API server). Frames pass through untouched: the channel protocol is the agent's business.
// The agent is dialed before kubectl's upgrade is accepted, so an unreachable agent is still an
// HTTP Status; what the agent sends before kubectl's side is open is queued, not lost.
import type { ServerWebSocket } from "bun";

type Message = string | Uint8Array;

/** Close codes a peer may send; the reserved ones (1005, 1006, 1015) are replaced. */
/** Bytes queued towards the agent above which kubectl's side stops being read (until a quarter of it). */
const AGENT_HIGH_WATER = 4 * 1024 * 1024;
const AGENT_DRAIN_POLL_MS = 5;

const sendable = (code: number) => (code === 1000 || (code >= 1001 && code <= 1014 && ![1004, 1005, 1006].includes(code)) || (code >= 3000 && code <= 4999) ? code : 1000);

export class Tunnel {
  private client?: ServerWebSocket<unknown>;
  private readonly early: Message[] = [];
  private closedBy?: "client" | "agent";
  /** While kubectl is paused because the agent is behind: polls until it caught up (the client WebSocket has no drain event). */
  private agentDrainPoll?: ReturnType<typeof setInterval>;

  constructor(private readonly agent: WebSocket) {
    agent.binaryType = "arraybuffer";
    agent.addEventListener("message", (e) => {
      const data: Message = typeof e.data === "string" ? e.data : new Uint8Array(e.data as ArrayBuffer);
      if (!this.client) this.early.push(data);
      // A client that reads slower than the agent sends: stop reading the agent until it drains.
      else if (this.client.send(data) === -1) agent.pause();
    });
    agent.addEventListener("close", (e) => this.agentClosed(e.code, e.reason));
    agent.addEventListener("error", () => this.agentClosed(1011, "the agent connection failed"));
  }

  open(ws: ServerWebSocket<unknown>) {
    this.client = ws;
    for (const m of this.early.splice(0)) ws.send(m);
    if (this.closedBy === "agent") ws.close(1000, "");
  }

  /** kubectl took what was queued for it: read the agent again. */
  drain() {
    this.agent.resume();
  }

  message(data: Message) {
    if (this.agent.readyState !== WebSocket.OPEN) return;
    this.agent.send(data);
    if (this.agent.bufferedAmount > AGENT_HIGH_WATER && !this.agentDrainPoll && this.client) {
      this.client.pause();
      this.agentDrainPoll = setInterval(() => {
        if (this.agent.readyState === WebSocket.OPEN && this.agent.bufferedAmount > AGENT_HIGH_WATER / 4) return;
        this.stopDrainPoll();
        this.client?.resume();
      }, AGENT_DRAIN_POLL_MS);
    }
  }

  private stopDrainPoll() {
    clearInterval(this.agentDrainPoll);
    this.agentDrainPoll = undefined;
  }

  close() {
    this.stopDrainPoll();
    if (this.closedBy) return;
    this.closedBy = "client";
    this.agent.close(1000, "");
  }

  private agentClosed(code: number, reason: string) {
    this.stopDrainPoll();
    if (this.closedBy) return;
    this.closedBy = "agent";
    this.client?.close(sendable(code), reason);
  }
}

/**
 * Opens a WebSocket and resolves once it is open; rejects with why it did not. The subprotocol
 * goes as a plain header: Bun's client refuses names that are not RFC 6455 tokens, and
 * port-forward's "SPDY/3.1+portforward.k8s.io" (what kubectl sends) is not one.
 */
export function dialWebSocket(url: string, init: { protocol: string; headers: Record<string, string>; ca: string; timeoutMs: number }): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers: { ...init.headers, "Sec-WebSocket-Protocol": init.protocol }, tls: { ca: init.ca } });
    const timer = setTimeout(() => {
      ws.close();
      reject(new Error(`no answer within ${init.timeoutMs / 1000} s`));
    }, init.timeoutMs);
    ws.addEventListener("open", () => {
      clearTimeout(timer);
      resolve(ws);
    }, { once: true });
    ws.addEventListener("error", (e) => {
      clearTimeout(timer);
      reject(new Error((e as ErrorEvent).message || "the connection failed"));
    }, { once: true });
  });
}
