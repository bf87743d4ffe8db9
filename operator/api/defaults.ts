// Fills in the defaults of our schemas the way the API server does on admission, for objects that
// do not come through an API server (tests, Pulumi inputs, dry runs).
import type { TSchema } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";

export function withDefaults<T>(schema: TSchema, value: unknown): T {
  return Value.Default(schema, structuredClone(value)) as T;
}
