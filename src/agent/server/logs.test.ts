import { expect, test } from "bun:test";
import { parseLogQuery } from "./logs";

test("logs' flags in any spelling strconv.ParseBool takes; anything else is a 400", () => {
  expect(parseLogQuery(new URLSearchParams("follow=True&previous=f&timestamps=1"))).toMatchObject({ follow: true, previous: false, timestamps: true });
  expect(parseLogQuery(new URLSearchParams(""))).toMatchObject({ follow: false, previous: false, timestamps: false });
  expect(() => parseLogQuery(new URLSearchParams("previous=sure"))).toThrow('previous: Invalid value: "sure": strconv.ParseBool: parsing "sure": invalid syntax');
});
