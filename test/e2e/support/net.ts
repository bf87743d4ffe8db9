// IPv4 arithmetic for checking that addresses fall inside the fenced network.
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
