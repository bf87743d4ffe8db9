// Structured logs: one JSON object per line, with a timestamp, level, message and fields. Child
// loggers carry fields (controller, key, ...) so that every line can be filtered on them.
import { describeError } from "./errors.js";

export type LogLevel = "debug" | "info" | "warn" | "error";
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

const LEVEL_ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export function isLogLevel(value: string): value is LogLevel {
  return value in LEVEL_ORDER;
}

export interface LoggerOptions {
  level?: LogLevel;
  /** Where a finished line goes; stderr by default, so stdout stays free for command output. */
  write?: (line: string) => void;
  now?: () => number;
  fields?: LogFields;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const threshold = LEVEL_ORDER[options.level ?? "info"];
  const write = options.write ?? ((line: string) => process.stderr.write(`${line}\n`));
  const now = options.now ?? Date.now;

  const make = (base: LogFields): Logger => {
    const log = (level: LogLevel, message: string, fields?: LogFields) => {
      if (LEVEL_ORDER[level] < threshold) return;
      const record: LogFields = { ts: new Date(now()).toISOString(), level, msg: message };
      for (const [key, value] of Object.entries({ ...base, ...fields })) {
        if (value !== undefined) record[key] = value instanceof Error ? describeError(value) : value;
      }
      write(safeStringify(record));
    };
    return {
      debug: (message, fields) => log("debug", message, fields),
      info: (message, fields) => log("info", message, fields),
      warn: (message, fields) => log("warn", message, fields),
      error: (message, fields) => log("error", message, fields),
      child: (fields) => make({ ...base, ...fields }),
    };
  };
  return make(options.fields ?? {});
}

/** Discards everything; the default where a component is given no logger. */
export const silentLogger: Logger = createLogger({ write: () => {} });

// A log line must never throw: cycles and BigInts are printed rather than failing the caller.
function safeStringify(record: LogFields): string {
  const seen = new WeakSet<object>();
  return JSON.stringify(record, (_key, value: unknown) => {
    if (typeof value === "bigint") return value.toString();
    if (typeof value === "object" && value !== null) {
      if (seen.has(value)) return "[cycle]";
      seen.add(value);
    }
    return value;
  });
}
