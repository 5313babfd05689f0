// Strings cut from a received message are V8 *sliced strings* of its whole header text, and strings
// built from them by concatenation are trees over those slices: either keeps the entire message
// alive. State held for a long time (dialogs, transaction keys, what a settled call keeps for Timer
// L) keeps flat copies instead.

/**
 * A flat copy of a string. Header values are slices of the whole received header text, and V8's
 * sliced strings keep their parent alive: a dialog holding its Call-ID and tags as slices would keep
 * the INVITE's and the 2xx's header sections for the life of the call.
 */
export function detach(s: string): string;
export function detach(s: string | undefined): string | undefined;
export function detach(s: string | undefined): string | undefined {
  // V8 copies slices shorter than 13 characters anyway
  if (s === undefined || s.length < 13) return s;
  // one call's messages detach the same Call-ID several times (server and client transactions,
  // the dialog): the copy made last time serves while the text is the same
  if (s === lastCopy) return lastCopy;
  // A cons of s's first character (a copy: too short to slice) and the rest, flattened by a RegExp
  // test into a new sequential string: the cons then points at that copy only, and the GC replaces
  // references to a flattened cons by its copy. One flat string of s's length, holding nothing of
  // the message: 43 bytes for a 22-character Call-ID held, where the former (' ' + s).slice(1)
  // kept a slice (32 bytes) of its own padded copy (41) for each holder. No native call (a Buffer
  // round trip costs ~3x); test/registrar/held-strings.test.ts checks that the copy lets the
  // message go.
  lastCopy = flatten(s.slice(0, 1) + s.slice(1));
  return lastCopy;
}

/** What detach() returned last (a slice of its own copy: no message text). */
let lastCopy = '';

const ANY = /^/;

/**
 * Flattens a concatenated string in place and returns it: a RegExp match makes V8 copy the tree
 * into one flat string (the GC then drops the tree and its slices). Cheaper than detach() for keys
 * built by concatenation: measured no slower than leaving the tree, since hashing a flat string is
 * cheaper too.
 */
export function flatten(s: string): string {
  ANY.test(s);
  return s;
}
