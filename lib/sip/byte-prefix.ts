// A byte-prefix matcher compiled to code: the patterns become one function of nested `switch`es
// (one per distinct byte, both cases of a letter as two labels) and plain compares along runs with a
// single way on, so a match reads each byte once and compares it with constants. It works on the
// received Buffer: no string is made to recognise a header name, a method or a transport.
// Faster than a table of byte arrays probed per candidate (the header indexer's old way), and the
// patterns are fixed at load time, so the code is generated once.

/** The value of the longest pattern found at `buf[at]`, ending at or before `end`; undefined for none. */
export type PrefixMatcher<T> = (buf: Uint8Array, at: number, end: number) => T | undefined;

/**
 * `text[a, b)` (`text` is `buf` as latin1) through a matcher whose values are the patterns
 * themselves: the literal when one spans exactly [a, b) (no slice, compared by identity later),
 * else the slice.
 */
export function literalOrSlice(match: PrefixMatcher<string>, buf: Uint8Array, text: string, a: number, b: number): string {
  const known = match(buf, a, b);
  return known !== undefined && a + known.length === b ? known : text.slice(a, b);
}

export interface PrefixOptions {
  /** ASCII letters match in either case (header names, RFC 3261 7.3.1); other bytes match exactly */
  ignoreCase?: boolean;
}

interface Node { children: Map<number, Node>; value: number }

/**
 * Compile `entries` (pattern as latin1 text, value). Patterns must be distinct (in their folded form
 * when ignoring case) and non-empty: a clash is a programming error and throws at load.
 */
export function compilePrefixMatcher<T>(entries: ReadonlyArray<readonly [string, T]>, options: PrefixOptions = {}): PrefixMatcher<T> {
  const fold = options.ignoreCase === true;
  const root: Node = { children: new Map(), value: -1 };
  const values: T[] = [];
  for (const [pattern, value] of entries) {
    if (pattern.length === 0) throw new Error('compilePrefixMatcher: empty pattern');
    let node = root;
    for (let i = 0; i < pattern.length; i++) {
      const c = pattern.charCodeAt(i);
      if (c > 0xff) throw new Error(`compilePrefixMatcher: '${pattern}' is not latin1`);
      const key = fold && isUpper(c) ? c | 0x20 : c;
      let next = node.children.get(key);
      if (next === undefined) node.children.set(key, next = { children: new Map(), value: -1 });
      node = next;
    }
    if (node.value !== -1) throw new Error(`compilePrefixMatcher: '${pattern}' given twice`);
    node.value = values.length;
    values.push(value);
  }
  const body = `${emit(root, 0, fold)}return undefined;`;
  // the code comes from the fixed patterns given at load, never from received bytes
  return new Function('values', `"use strict"; return function match(buf, at, end) { ${body} };`)(values) as PrefixMatcher<T>;
}

/**
 * Code that returns the value of the longest pattern through `node`, whose bytes before `depth`
 * already matched; it falls through (to the caller's `return undefined`) when none is there.
 */
function emit(node: Node, depth: number, fold: boolean): string {
  // a run of nodes with one way on and no value of their own: one condition for the whole run
  const run: string[] = [];
  let d = depth;
  while (node.children.size === 1 && node.value === -1) {
    const [key, next] = node.children.entries().next().value as [number, Node];
    run.push(byteIs(`buf[at + ${d}]`, key, fold));
    node = next;
    d++;
  }
  let code = '';
  if (node.children.size > 0) {
    code += `switch (buf[at + ${d}]) {`;
    for (const [key, next] of node.children) {
      code += isLower(key) && fold ? `case ${key}: case ${key & ~0x20}: ` : `case ${key}: `;
      code += `{ ${emit(next, d + 1, fold)}break; } `;
    }
    code += '} ';
  }
  // the longer patterns were tried first (they returned): this node's own, if within `end`
  if (node.value !== -1) code += `if (at + ${d} <= end) return values[${node.value}]; `;
  return run.length === 0 ? code : `if (${run.join(' && ')}) { ${code}} `;
}

/** A letter in either case (`c | 0x20` is a lower-case letter only for the letters), else the byte itself. */
function byteIs(expr: string, key: number, fold: boolean): string {
  return fold && isLower(key) ? `(${expr} | 32) === ${key}` : `${expr} === ${key}`;
}

function isUpper(c: number): boolean {
  return c >= 0x41 && c <= 0x5a;
}

function isLower(c: number): boolean {
  return c >= 0x61 && c <= 0x7a;
}
