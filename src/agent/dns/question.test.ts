import { describe, expect, test } from "bun:test";
import * as dnsPacket from "dns-packet";
import { questionSectionEnd, readQuery } from "./question";
import { buildQuery } from "./testing";

describe("readQuery", () => {
  test("a plain query: ID, RD, the question as sent (case kept)", () => {
    const q = readQuery(buildQuery("Web.Default.svc.cluster.local", "SRV", { id: 513 }));
    expect(q).toMatchObject({ id: 513, rd: true, question: { name: "Web.Default.svc.cluster.local", type: "SRV", class: "IN" } });
    expect(q!.edns).toBeUndefined();
  });

  test("with EDNS: the announced UDP size", () => {
    expect(readQuery(buildQuery("a.b", "A", { edns: 4096 }))!.edns).toEqual({ udpPayloadSize: 4096 });
  });

  test("the question ends where dns-packet says it does", () => {
    const msg = buildQuery("example.com", "AAAA");
    const q = readQuery(msg)!;
    expect(q.questionEnd).toBe(msg.length);
    expect(dnsPacket.decode(msg).questions).toEqual([q.question]);
  });

  test("anything unusual is left to the full decoder", () => {
    const response = dnsPacket.encode({ type: "response", id: 1, questions: [{ name: "a.b", type: "A", class: "IN" }] });
    const two = dnsPacket.encode({ type: "query", id: 1, questions: [{ name: "a.b", type: "A", class: "IN" }, { name: "c.d", type: "A", class: "IN" }] });
    const pointer = Buffer.from(buildQuery("a.b"));
    pointer[12] = 0xc0; // a compression pointer where the name starts
    const odd = buildQuery("we ird.name"); // a byte outside printable ASCII-without-space
    const notify = Buffer.from(buildQuery("a.b"));
    notify.writeUInt16BE(notify.readUInt16BE(2) | (4 << 11), 2);
    const typeUnknown = buildQuery("a.b", "CAA");
    for (const m of [response, two, pointer, notify, typeUnknown, odd, Buffer.from([1, 2, 3]), buildQuery("a.b").subarray(0, 20)]) expect(readQuery(m)).toBeUndefined();
  });
});

describe("questionSectionEnd", () => {
  test("the end of the question section, for queries and compressed answers alike", () => {
    const q = buildQuery("web.default.svc.cluster.local", "A", { edns: 1232 });
    expect(questionSectionEnd(q)).toBe(readQuery(q)!.questionEnd);
    expect(questionSectionEnd(Buffer.from([1, 2, 3]))).toBe(-1);
    const cut = buildQuery("a.b").subarray(0, 15);
    expect(questionSectionEnd(cut)).toBe(-1);
  });
});
