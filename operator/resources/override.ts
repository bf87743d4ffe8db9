// spec.override: a strategic-merge-like patch of what we build. Objects merge key by key; lists
// whose items all have a `name` (containers, volumes, env, ports, volumeMounts) merge item by
// item on that key; any other value, lists included, is replaced; `null` removes a key.
type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export function mergeOverride<T>(base: T, patch: Record<string, unknown> | undefined): T {
  if (!patch) return base;
  return merge(base as Json, patch as Json) as T;
}

function merge(base: Json | undefined, patch: Json): Json {
  if (isObject(patch) && isObject(base)) {
    const out: { [key: string]: Json } = { ...base };
    for (const [key, value] of Object.entries(patch)) {
      if (value === null) delete out[key];
      else out[key] = merge(base[key], value);
    }
    return out;
  }
  if (Array.isArray(patch) && Array.isArray(base) && isNamedList(patch) && isNamedList(base)) {
    const out: Json[] = [...base];
    for (const item of patch) {
      const index = out.findIndex((existing) => isObject(existing) && existing.name === item.name);
      if (index === -1) out.push(item);
      else out[index] = merge(out[index], item);
    }
    return out;
  }
  return patch;
}

function isObject(value: Json | undefined): value is { [key: string]: Json } {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isNamedList(list: Json[]): list is ({ name: string } & { [key: string]: Json })[] {
  return list.every((item) => isObject(item) && typeof item.name === "string");
}
