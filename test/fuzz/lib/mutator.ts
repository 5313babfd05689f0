// Mutations of SIP messages for the fuzzer: byte-level damage (flips, inserts, deletes, truncation)
// and SIP-aware damage (header lines duplicated, dropped, swapped or spliced from another message,
// numbers replaced by extreme values, separators and escapes injected). Deterministic for a seed.

/** mulberry32: small, fast, good enough to explore inputs reproducibly. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Rand = () => number;
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
const int = (r: Rand, n: number): number => Math.floor(r() * n);

const INTERESTING = ['0', '-1', '4294967296', '2147483648', '99999999999999999999', '1e9', '0x10', '', ' ', '00000000001', 'NaN'];
const TOKENS = ['\r\n', '\n', '\r', '\0', ';', ',', ':', '<', '>', '"', '\\', '%', '%00', '%zz', '@', '[', ']', '::', ' ', '\t', '\r\n ', ';tag=', ';branch=z9hG4bK', ';lr', ';maddr=255.255.255.255', ';received=', ';rport', 'sip:', 'tel:', 'sips:', '\u00ff', '\u0080'];
const HEADERS = ['Via', 'v', 'From', 'f', 'To', 't', 'Call-ID', 'i', 'CSeq', 'Contact', 'm', 'Content-Length', 'l', 'Max-Forwards', 'Route', 'Record-Route', 'Proxy-Require', 'Require', 'Authorization', 'Proxy-Authorization', 'Expires', 'Content-Type', 'c'];
const METHODS = ['INVITE', 'ACK', 'BYE', 'CANCEL', 'REGISTER', 'OPTIONS', 'PRACK', 'UPDATE', 'SIP/2.0 200 OK', 'SIP/2.0 180 Ringing', 'SIP/2.0 401 Unauthorized', 'SIP/2.0 999 X', 'NOTIFY'];

function splitLines(text: string): string[] {
  return text.split('\r\n');
}

const strategies: Array<(r: Rand, text: string, other: string) => string> = [
  // byte level
  (r, s) => { const i = int(r, s.length + 1); return s.slice(0, i) + String.fromCharCode(int(r, 256)) + s.slice(i); },
  (r, s) => { const i = int(r, s.length); return s.slice(0, i) + s.slice(i + 1 + int(r, 8)); },
  (r, s) => { const i = int(r, s.length); return s.slice(0, i) + String.fromCharCode(s.charCodeAt(i) ^ (1 << int(r, 8))) + s.slice(i + 1); },
  (r, s) => s.slice(0, int(r, s.length + 1)),
  (r, s) => { const i = int(r, s.length + 1); return s.slice(0, i) + pick(r, TOKENS).repeat(1 + int(r, 3)) + s.slice(i); },
  // SIP aware
  (r, s) => { const l = splitLines(s); const i = 1 + int(r, Math.max(1, l.length - 1)); l.splice(i, 0, l[i] ?? ''); return l.join('\r\n'); },
  (r, s) => { const l = splitLines(s); l.splice(1 + int(r, Math.max(1, l.length - 1)), 1); return l.join('\r\n'); },
  (r, s) => { const l = splitLines(s); const a = int(r, l.length); const b = int(r, l.length); [l[a], l[b]] = [l[b]!, l[a]!]; return l.join('\r\n'); },
  (r, s, o) => { const l = splitLines(s); const ol = splitLines(o); l.splice(1 + int(r, Math.max(1, l.length - 1)), 0, pick(r, ol)); return l.join('\r\n'); },
  (r, s) => s.replace(/[0-9]+/g, (m) => (r() < 0.3 ? pick(r, INTERESTING) : m)),
  (r, s) => { const l = splitLines(s); l.splice(1, 0, `${pick(r, HEADERS)}:${r() < 0.5 ? ' ' : ''}${pick(r, TOKENS)}${pick(r, INTERESTING)}`); return l.join('\r\n'); },
  (r, s) => { const l = splitLines(s); const sp = l[0]!.indexOf(' '); l[0] = pick(r, METHODS) + (sp === -1 ? '' : l[0]!.slice(sp)); return l.join('\r\n'); },
  (r, s) => { const l = splitLines(s); const i = int(r, l.length); l[i] = l[i]! + 'x'.repeat(1 << int(r, 14)); return l.join('\r\n'); },
  (r, s) => { const l = splitLines(s); const i = 1 + int(r, Math.max(1, l.length - 1)); const h = l[i] ?? 'X: y'; return [...l.slice(0, i), ...Array<string>(1 + int(r, 300)).fill(h), ...l.slice(i)].join('\r\n'); },
  (_r, s) => s.replace(/\r\n/g, '\n'),
  (r, s) => s.replace(/;/g, () => (r() < 0.2 ? pick(r, TOKENS) : ';')),
];

/** One mutated message from `seed`, with 1-4 mutations; `other` is spliced from. */
export function mutate(r: Rand, seed: Buffer, other: Buffer): Buffer {
  let text = seed.toString('latin1');
  const o = other.toString('latin1');
  const n = 1 + int(r, 4);
  for (let i = 0; i < n; i++) text = pick(r, strategies)(r, text, o);
  return Buffer.from(text, 'latin1');
}
