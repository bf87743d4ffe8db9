// IPv4 arithmetic for checking that addresses fall inside the fenced network; probing a node's
// AMQP listener through a port-forward.
import { connect } from "node:net";

function ipv4ToInt(address: string): number {
  const parts = address.split(".").map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) throw new Error(`not an IPv4 address: ${address}`);
  return parts.reduce((n, p) => n * 256 + p, 0);
}

export function ipv4InSubnet(address: string, subnet: string): boolean {
  const [base, bits] = subnet.split("/");
  const size = 2 ** (32 - Number(bits));
  const start = Math.floor(ipv4ToInt(base!) / size) * size;
  const n = ipv4ToInt(address);
  return n >= start && n < start + size;
}

/**
 * Whether an AMQP 0-9-1 listener answers at 127.0.0.1:port (a port-forward to a node): it sends
 * connection.start after the protocol header. A node in maintenance mode (drained) has suspended
 * its client listeners, so the forwarded connection closes without an answer.
 */
export function amqpAnswers(port: number, timeoutMs = 2_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    const done = (answer: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(answer);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.once("connect", () => socket.write(Buffer.from("AMQP\x00\x00\x09\x01", "latin1")));
    socket.once("data", () => done(true));
    socket.once("error", () => done(false));
    socket.once("close", () => done(false));
  });
}
