import { describe, expect, it } from "vitest";
import { newDefaultUser, newErlangCookie, randomToken } from "../../../operator/resources/index.js";

describe("generated secrets", () => {
  it("are long, URL-safe and different every time", () => {
    const cookies = new Set(Array.from({ length: 50 }, () => newErlangCookie()));
    expect(cookies.size).toBe(50);
    for (const cookie of cookies) expect(cookie).toMatch(/^[A-Za-z0-9]{64}$/);
    const user = newDefaultUser();
    expect(user.username).toMatch(/^default_user_[A-Za-z0-9]{20}$/);
    expect(user.password).toMatch(/^[A-Za-z0-9]{32}$/);
  });

  it("never maps a byte above the rejection limit to a character", () => {
    // 248 is the largest multiple of 62 below 256: bytes >= 248 are skipped, not folded onto 'a'..'h'.
    let call = 0;
    const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => (call++ === 0 ? 250 : 0)));
    expect(randomToken(4, bytes)).toBe("aaaa");
  });
});
