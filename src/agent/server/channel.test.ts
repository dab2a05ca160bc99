import { expect, test } from "bun:test";
import { negotiateSubprotocol } from "../../api/kubelet-api";
import { CHANNEL, exitStatus, failureStatus, frame, parseFrame, parseResize } from "./channel";

test("a frame is the channel byte, then the payload", () => {
  expect([...frame(CHANNEL.stdout, "hi")]).toEqual([1, 104, 105]);
  expect([...frame(CHANNEL.stdin, new Uint8Array([0, 255]))]).toEqual([0, 0, 255]);
  expect([...frame(CHANNEL.error, "")]).toEqual([3]);
});

test("parsing splits channel and payload; an empty message is no frame", () => {
  const f = parseFrame(new Uint8Array([2, 65, 66]))!;
  expect(f.channel).toBe(2);
  expect(new TextDecoder().decode(f.data)).toBe("AB");
  expect(parseFrame(new Uint8Array([255, 0]))).toEqual({ channel: CHANNEL.close, data: new Uint8Array([0]) });
  expect(parseFrame(new Uint8Array([]))).toBeUndefined();
  expect(parseFrame(new Uint8Array([4, 123]).buffer)?.channel).toBe(4);
});

test("resize messages are kubectl's {Width, Height}; nonsense is ignored", () => {
  const enc = (s: string) => new TextEncoder().encode(s);
  expect(parseResize(enc('{"Width":120,"Height":40}'))).toEqual({ width: 120, height: 40 });
  expect(parseResize(enc('{"Width":0,"Height":40}'))).toBeUndefined();
  expect(parseResize(enc('{"Width":"80"}'))).toBeUndefined();
  expect(parseResize(enc("not json"))).toBeUndefined();
});

test("exit statuses are shaped as upstream's kubelet writes them (kubectl reads the code from causes)", () => {
  expect(exitStatus(0)).toEqual({ metadata: {}, status: "Success" });
  expect(exitStatus(3)).toMatchObject({ status: "Failure", reason: "NonZeroExitCode", details: { causes: [{ reason: "ExitCode", message: "3" }] } });
  expect(failureStatus("boom")).toMatchObject({ status: "Failure", reason: "InternalError", message: "boom", code: 500 });
});

test("the subprotocol is the first of the client's offer that we speak", () => {
  expect(negotiateSubprotocol("v5.channel.k8s.io")).toBe("v5.channel.k8s.io");
  expect(negotiateSubprotocol("v4.channel.k8s.io, v5.channel.k8s.io")).toBe("v4.channel.k8s.io");
  expect(negotiateSubprotocol("channel.k8s.io,v4.channel.k8s.io")).toBe("v4.channel.k8s.io");
  expect(negotiateSubprotocol("base64.channel.k8s.io")).toBeUndefined();
  expect(negotiateSubprotocol(null)).toBeUndefined();
});
