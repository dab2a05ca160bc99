// Kubernetes' exec stream protocol over WebSocket (v4/v5.channel.k8s.io): every binary message
// is one byte naming the channel, then the payload. The exit status travels as a metav1.Status
// JSON on the error channel, shaped exactly as upstream's kubelet writes it, because kubectl
// reads the exit code out of details.causes (reason "ExitCode") and exits with it.

export const CHANNEL = {
  stdin: 0,
  stdout: 1,
  stderr: 2,
  /** A Status JSON: Success, NonZeroExitCode, or an error that ended the session. */
  error: 3,
  /** `{"Width":80,"Height":24}` from the client whenever its terminal changes size. */
  resize: 4,
  /** v5 only: payload is one byte, the channel the client closed (0: end of stdin). */
  close: 255,
} as const;

const encoder = new TextEncoder();

export function frame(channel: number, data: Uint8Array | string): Uint8Array {
  const body = typeof data === "string" ? encoder.encode(data) : data;
  const out = new Uint8Array(body.length + 1);
  out[0] = channel;
  out.set(body, 1);
  return out;
}

export interface Frame {
  channel: number;
  data: Uint8Array;
}

/** An empty message carries no channel and is ignored, as upstream does. */
export function parseFrame(message: Uint8Array | ArrayBuffer | string): Frame | undefined {
  const bytes = typeof message === "string" ? encoder.encode(message) : message instanceof Uint8Array ? message : new Uint8Array(message);
  if (bytes.length === 0) return undefined;
  return { channel: bytes[0]!, data: bytes.subarray(1) };
}

export interface TerminalSize {
  width: number;
  height: number;
}

export function parseResize(data: Uint8Array): TerminalSize | undefined {
  try {
    const v = JSON.parse(new TextDecoder().decode(data)) as { Width?: unknown; Height?: unknown };
    const ok = (n: unknown): n is number => Number.isInteger(n) && (n as number) > 0 && (n as number) < 65536;
    return ok(v.Width) && ok(v.Height) ? { width: v.Width, height: v.Height } : undefined;
  } catch {
    return undefined;
  }
}

/** What goes on the error channel when the command ended with `exitCode`. */
export function exitStatus(exitCode: number): Record<string, unknown> {
  if (exitCode === 0) return { metadata: {}, status: "Success" };
  return {
    metadata: {},
    status: "Failure",
    message: `command terminated with non-zero exit code: exit status ${exitCode}`,
    reason: "NonZeroExitCode",
    details: { causes: [{ reason: "ExitCode", message: String(exitCode) }] },
  };
}

/** A session that could not run (container gone, runtime error): kubectl prints the message. */
export function failureStatus(message: string, code = 500, reason = "InternalError"): Record<string, unknown> {
  return { metadata: {}, status: "Failure", message, reason, code };
}
