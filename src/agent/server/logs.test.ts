import { expect, test } from "bun:test";
import { parseLogQuery } from "./logs";

test("logs' flags read as upstream's kubelet reads them: only 0 and false are off, absent is off, nothing is refused", () => {
  const flags = (s: string) => {
    const { follow, previous, timestamps } = parseLogQuery(new URLSearchParams(s));
    return { follow, previous, timestamps };
  };
  expect(flags("follow=True&previous=False&timestamps=1")).toEqual({ follow: true, previous: false, timestamps: true });
  expect(flags("")).toEqual({ follow: false, previous: false, timestamps: false });
  expect(flags("follow=please&previous=sure&timestamps=f")).toEqual({ follow: true, previous: true, timestamps: true });
  expect(flags("follow=&previous&timestamps=0")).toEqual({ follow: true, previous: true, timestamps: false });
  expect(flags("follow=FALSE&previous=fAlSe&timestamps=false")).toEqual({ follow: false, previous: false, timestamps: false });
});
