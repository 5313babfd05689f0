// Quote- and angle-aware splitting of header values (commas and semicolons inside "..." or <...>
// are not separators).

/**
 * Index of the first `sep` at or after `from` outside double quotes and angle brackets, or -1.
 * `from` must be where no quote or bracket is open: 0 or just after a separator this returned.
 */
export function separatorOutside(value: string, sep: number, from = 0): number {
  let inQuote = false;
  let angle = 0;
  for (let i = from; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (inQuote) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22) inQuote = false;
    } else if (c === 0x22) inQuote = true;
    else if (c === 0x3c) angle++;
    else if (c === 0x3e) { if (angle > 0) angle--; }
    else if (c === sep && angle === 0) return i;
  }
  return -1;
}

/** Split on `sep` outside double quotes and angle brackets; parts are trimmed, empty parts dropped. */
export function splitOutside(value: string, sep: number): string[] {
  const out: string[] = [];
  for (let start = 0; start <= value.length;) {
    const end = separatorOutside(value, sep, start);
    const part = value.slice(start, end === -1 ? value.length : end).trim();
    if (part !== '') out.push(part);
    if (end === -1) break;
    start = end + 1;
  }
  return out;
}

/** Whether value[start, end) holds anything but whitespace (a part splitOutside would keep). */
function hasContent(value: string, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const c = value.charCodeAt(i);
    if (c !== 0x20 && c !== 0x09 && c !== 0x0d && c !== 0x0a) return true;
  }
  return false;
}

export function splitCommas(value: string): string[] {
  return value.indexOf(',') === -1 ? (value.trim() === '' ? [] : [value.trim()]) : splitOutside(value, 0x2c);
}

/** splitCommas(value)[0] with no array: only the first value is cut out. */
export function firstOfCommas(value: string): string | undefined {
  return restAfterFirst(value)?.[0];
}

/**
 * The first value of a comma list (from `from` on, a value's start) and the index just past its
 * comma (-1 when it is the last), with no array: a response's Via line (ours and the caller's in
 * one line, as sipp writes it) is cut once, not split.
 */
export function restAfterFirst(value: string, from = 0): [first: string, rest: number] | undefined {
  if (value.indexOf(',', from) === -1) {
    const v = (from === 0 ? value : value.slice(from)).trim();
    return v === '' ? undefined : [v, -1];
  }
  for (let start = from; start <= value.length;) {
    const end = separatorOutside(value, 0x2c, start);
    const stop = end === -1 ? value.length : end;
    if (hasContent(value, start, stop)) return [value.slice(start, stop).trim(), end === -1 ? -1 : end + 1];
    if (end === -1) return undefined;
    start = end + 1;
  }
  return undefined;
}

/** splitCommas(value).length with no array and no substring. */
export function countOfCommas(value: string): number {
  if (value.indexOf(',') === -1) return value.trim() === '' ? 0 : 1;
  let n = 0;
  for (let start = 0; start <= value.length;) {
    const end = separatorOutside(value, 0x2c, start);
    if (hasContent(value, start, end === -1 ? value.length : end)) n++;
    if (end === -1) break;
    start = end + 1;
  }
  return n;
}

/** Parameters `;a=b;c` into ordered pairs; LWS around `=` and `;` tolerated (RFC 4475 wsinv). */
export function parseParams(text: string): Array<[string, string | null]> {
  return plainParams(text) ?? generalParams(text);
}

/**
 * `a=b;c;d=e` with no whitespace, quotes or angle brackets (the usual Via, URI and tag parameters):
 * one scan, nothing to trim. Undefined for anything else, which the general path handles.
 */
function plainParams(text: string): Array<[string, string | null]> | undefined {
  const out: Array<[string, string | null]> = [];
  let start = 0;
  let eq = -1;
  // keys are case-insensitive: lower-cased only when they hold an upper-case letter (a runtime call)
  let upper = false;
  for (let i = 0; i <= text.length; i++) {
    const c = i === text.length ? 0x3b : text.charCodeAt(i);
    if (c === 0x3b) {
      if (i > start) {
        const key = text.slice(start, eq === -1 ? i : eq);
        out.push([upper ? key.toLowerCase() : key, eq === -1 ? null : text.slice(eq + 1, i)]);
      }
      start = i + 1;
      eq = -1;
      upper = false;
    } else if (c === 0x3d) {
      if (eq === -1) eq = i;
    } else if (c <= 0x20 || c === 0x22 || c === 0x3c || c === 0x7f || c === 0xa0) {
      return undefined;
    } else if (c >= 0x41 && c <= 0x5a && eq === -1) {
      upper = true;
    }
  }
  return out;
}

function generalParams(text: string): Array<[string, string | null]> {
  const out: Array<[string, string | null]> = [];
  // no quotes or angle brackets (the usual Via and URI parameters): a plain split on ';'
  const parts = text.indexOf('"') === -1 && text.indexOf('<') === -1 ? plainSplit(text, ';') : splitOutside(text, 0x3b);
  for (const part of parts) {
    const eq = part.indexOf('=');
    if (eq === -1) out.push([part.trim().toLowerCase(), null]);
    else out.push([part.slice(0, eq).trim().toLowerCase(), part.slice(eq + 1).trim()]);
  }
  return out;
}

export function formatParams(params: ReadonlyArray<readonly [string, string | null]>): string {
  let s = '';
  for (const [k, v] of params) s += v === null ? `;${k}` : `;${k}=${v}`;
  return s;
}

export function unquote(s: string): string {
  if (s.length >= 2 && s.charCodeAt(0) === 0x22 && s.charCodeAt(s.length - 1) === 0x22) {
    const inner = s.slice(1, -1);
    // quoted-pair is rare (digest parameters never have one): no regex pass without a backslash
    return inner.indexOf('\\') === -1 ? inner : inner.replace(/\\(.)/g, '$1');
  }
  return s;
}

export function quote(s: string): string {
  return `"${s.replace(/(["\\])/g, '\\$1')}"`;
}

const TOKEN_RE = /^[A-Za-z0-9\-.!%*_+`'~]+$/;
export function isToken(s: string): boolean {
  return TOKEN_RE.test(s);
}

/** Split on `sep`; parts trimmed, empty parts dropped (splitOutside for text without quotes or <>). */
function plainSplit(text: string, sep: string): string[] {
  const out: string[] = [];
  for (const p of text.split(sep)) {
    const t = p.trim();
    if (t !== '') out.push(t);
  }
  return out;
}
