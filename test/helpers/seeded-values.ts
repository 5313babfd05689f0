// Seeded (deterministic) random SIP values for tests that hold a fast path against the general one:
// the same seed gives the same values on every run and machine, so a failure names a value that can
// be replayed. The pieces are the ones that tell the paths apart: odd case, compact names, LWS and
// folding, IPv6, quotes, huge numbers, leading zeros, bytes above 0x7f.

export type Rnd = (n: number) => number;

/** A linear congruential generator: rnd(n) is in [0, n). */
export function rng(seed: number): Rnd {
  return (n) => { seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; return (seed >>> 8) % n; };
}

export function pick<T>(rnd: Rnd, xs: readonly T[]): T {
  return xs[rnd(xs.length)]!;
}

/** What a reader returns, or the error code it throws (so two readers' verdicts compare as values). */
export function outcome<T>(fn: () => T): T | string {
  try {
    return fn();
  } catch (err) {
    return `throws ${(err as { code?: string }).code}`;
  }
}

/** `s` with each ASCII letter's case flipped at random, one time in `oneIn`. */
export function oddCase(rnd: Rnd, s: string, oneIn = 3): string {
  let out = '';
  for (const ch of s) out += rnd(oneIn) === 0 ? (ch === ch.toLowerCase() ? ch.toUpperCase() : ch.toLowerCase()) : ch;
  return out;
}

/** A header value folded (RFC 3261 7.3.1) at one of its spaces now and then. */
export function maybeFold(rnd: Rnd, value: string): string {
  const sp = value.indexOf(' ');
  return sp > 0 && rnd(8) === 0 ? `${value.slice(0, sp)}\r\n${pick(rnd, [' ', '\t', '  '])}${value.slice(sp + 1)}` : value;
}

/** A string of decimal digits: usual, with leading zeros, or too long for any counter. */
export function digitString(rnd: Rnd): string {
  switch (rnd(6)) {
    case 0: return '0'.repeat(1 + rnd(12)) + String(rnd(1000));
    case 1: return String(rnd(10)).repeat(8 + rnd(14));
    case 2: return String(2 ** 31 + rnd(10));
    default: return String(rnd(100000));
  }
}

/** Mostly a usual piece, one time in `oneIn` an odd one: most values stay usual, each with its own odd piece. */
export function piece<T>(rnd: Rnd, usual: readonly T[], odd: readonly T[], oneIn = 6): T {
  return rnd(oneIn) === 0 ? pick(rnd, odd) : pick(rnd, usual);
}

const TRANSPORTS = ['UDP', 'TCP', 'TLS', 'UDP', 'SCTP', 'WS', 'WSS'];
const ODD_TRANSPORTS = ['udp', 'Tcp', 'X1', ''];
const HOSTS = ['127.0.0.1', 'example.com', 'a-b.c', '1.2.3.4', 'proxy-7.carrier.example.net'];
const ODD_HOSTS = ['Example.COM', '[::1]', '[2001:db8::9]', '', 'h_x', 'host name', 'h\u00e9.x', '[::1'];
const PORTS = ['', ':5060', ':5061', ':0', ':65535'];
const ODD_PORTS = [':05060', ':65536', ':99999', ':123456', ':', ':5x', ' : 5060', ':\u00a0'];
const VIA_PARAMS = [';branch=z9hG4bK1', ';branch=z9hG4bK-4821-1-0', ';rport', ';rport=5060', ';received=1.2.3.4', ';maddr=224.0.0.1;ttl=1',
  ';alias', ';branch=a=b', ';branchx=1', ';a=\u00e9', ';x=', ';X-Y=Z'];
const ODD_VIA_PARAMS = [';Branch=X', ';;', ';', ';=x', ';a b', ';a="q"', ';a="q;b"', ';a=<x>', ';a=\u00a0', ';x>', ' ;branch=z9hG4bKs',
  ';branch = z9hG4bKt', ';sigcomp-id="urn:x"', ',SIP/2.0/UDP second.example', ', SIP/2.0/TCP [::2]:5070;branch=z9hG4bK2', ',', ';x=\u007f'];

/** A Via value: mostly the usual form, often with one odd piece. */
export function viaValue(rnd: Rnd): string {
  let v = piece(rnd, ['SIP/2.0/'], ['sip/2.0/', 'SIP / 2.0 / ', 'SIP/2.1/', 'SIP/2.0']) + piece(rnd, TRANSPORTS, ODD_TRANSPORTS);
  v += piece(rnd, [' '], ['  ', '\t', '']) + piece(rnd, HOSTS, ODD_HOSTS) + piece(rnd, PORTS, ODD_PORTS);
  for (let j = 0, n = rnd(4); j < n; j++) v += piece(rnd, VIA_PARAMS, ODD_VIA_PARAMS);
  return v;
}

/** A CSeq value: `<number> <method>` and the ways it goes wrong. */
export function cseqValue(rnd: Rnd): string {
  const num = piece(rnd, [() => String(rnd(100000)), () => digitString(rnd)],
    [() => '', () => '-1', () => '+1', () => '1.5', () => '0x1f', () => '1e3', () => '\u00b9']);
  const gap = piece(rnd, [' ', ' ', '\t', '  '], ['', ' \t', '\u00a0', '\u000b']);
  const method = piece(rnd, ['INVITE', 'ACK', 'BYE', 'OPTIONS', 'REGISTER', 'PRACK', 'NOTIFY', 'SUBSCRIBE', 'INVITEX', 'INV', 'FOO-BAR',
    'X!%*_+`\'~', 'invite'], ['IN VITE', 'INVITE\u00e9', '', 'A,B', '"Q"']);
  return `${num()}${gap}${method}${piece(rnd, [''], [' ', '\t', '\u00a0', '\u000b'])}`;
}

/** A Content-Length (or Max-Forwards) value. */
export function decimalValue(rnd: Rnd): string {
  const n = piece(rnd, [() => String(rnd(40)), () => digitString(rnd)], [() => '', () => '-1', () => '+3', () => '1 2', () => '0x10', () => '3.0',
    () => '\u00a05', () => '5\u000b', () => '\u00b9'], 3);
  return `${piece(rnd, [''], [' ', '\t', '  '])}${n()}${piece(rnd, [''], [' ', '\t'])}`;
}

/** A From/To value: name-addr or addr-spec, with the parameters that tell a quick tag read from a full parse. */
export function nameAddrValue(rnd: Rnd): string {
  const head = piece(rnd, ['', 'sipp ', 'Bob ', '"Bob" ', 'a b '], ['"B<o>b;tag=no" ', ' ', '\t', '"unterminated ', 'x"y ', '"a\\"b" ',
    '\u00a0', 'caf\u00e9 ']);
  const uri = piece(rnd, ['<sip:a@b>', '<sip:9000@127.0.0.1:5060>', '<sip:a@b;lr>', '<sip:a;tag=u@b>', 'sip:a@b'],
    ['<sip:"x"@b>', '<sip:a@b', '<>', '<sip:a@b>>']);
  let v = `${head}${uri}`;
  for (let j = 0, n = rnd(4); j < n; j++) {
    v += piece(rnd, [';tag=4821SIPpTag001', ';tag=x', ';tagx=1', ';tag=', ';tag=a=b', ';expires=30', ';q=0.5', ';a', ';x=\u00e9'],
      [';TAG=y', ';Tag=z', ';tag', ';;', ';', ' ;tag=s', ';tag =t', ';tag= u', ';tag="q"', ';a=<b>', ';a=\u00a0', ' ', '\t', ';x=>', ';t\u00e9=1']);
  }
  return v;
}

/** A header name as a peer may spell it: canonical, compact, odd case, LWS before the colon. */
export function headerName(rnd: Rnd, canonical: string, compact?: string): string {
  const base = compact !== undefined && rnd(4) === 0 ? compact : canonical;
  const spelled = rnd(3) === 0 ? oddCase(rnd, base) : base;
  return `${spelled}${pick(rnd, ['', '', '', '', ' ', '\t', ' \t'])}`;
}

const METHODS = ['INVITE', 'OPTIONS', 'BYE', 'REGISTER', 'ACK', 'CANCEL'];

/**
 * A request with random usual and unusual values of Via, From, To, CSeq, Max-Forwards and
 * Content-Length (lines CRLF-ended, as on the wire), and a body without CR or LF.
 */
export function sipRequest(rnd: Rnd): string {
  const method = pick(rnd, METHODS);
  const lines = [piece(rnd, [`${method} sip:bob@example.com SIP/2.0`], [`${method}X sip:b@c SIP/2.0`, `${method.toLowerCase()} sip:b@c SIP/2.0`,
    `${method}  sip:b@c SIP/2.0`, `${method} sip:b@c  SIP/2.0`, `${method} sip:b@c SIP/2.1`, `${method} sip:b@c SIP/2.0 `, `${method} sip:b@c`,
    `${method} sip:b@c sip/2.0`, `${method}\tsip:b@c SIP/2.0`, `${method} sip:b@c SIP/2.00`, `${method}`, `FOO sip:b@c SIP/2.0`, ''])];
  const line = (name: string, value: string): void => { lines.push(`${name}:${pick(rnd, [' ', ' ', '', '\t'])}${maybeFold(rnd, value)}`); };
  for (let i = 0, n = 1 + rnd(3); i < n; i++) line(headerName(rnd, 'Via', 'v'), viaValue(rnd));
  if (rnd(10) === 0) line('Via', '');
  line(headerName(rnd, 'From', 'f'), nameAddrValue(rnd));
  line(headerName(rnd, 'To', 't'), nameAddrValue(rnd));
  line(headerName(rnd, 'Call-ID', 'i'), `${rnd(100000)}@example.com`);
  line(headerName(rnd, 'CSeq'), rnd(3) === 0 ? cseqValue(rnd) : `${rnd(1000)} ${rnd(4) === 0 ? pick(rnd, METHODS) : method}`);
  if (rnd(4) !== 0) line(headerName(rnd, 'Max-Forwards'), rnd(3) === 0 ? decimalValue(rnd) : '70');
  const body = 'x'.repeat(rnd(3) === 0 ? rnd(30) : 0);
  if (rnd(5) !== 0) line(headerName(rnd, 'Content-Length', 'l'), rnd(3) === 0 ? decimalValue(rnd) : String(body.length));
  if (rnd(20) === 0) line('Content-Length', String(body.length));
  return `${lines.join('\r\n')}\r\n\r\n${body}`;
}
