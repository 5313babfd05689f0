// History-Info (RFC 7044) of one forwarded call as this proxy builds it: an entry for the target of
// each hop and one for each registered contact a hop forks to, with the index tree of section 10.3,
// `rc` for a contact reached by registration lookup, `mp` for a new target (a forward), and the
// Reason of a target that was left escaped into its URI (section 9.4: `?Reason=SIP%3Bcause%3D486`).

interface HiEntry {
  uri: string;
  index: string;
  tag: string; // ';rc=1.1' / ';mp=1' / ''
  reason: string | undefined;
  /** parallel branches of one hop share a group: a branch carries its own entry, not its siblings' */
  group: number | undefined;
}

export class HistoryInfo {
  private readonly entries: HiEntry[] = [];
  private readonly children = new Map<string, number>();
  /** index of the entry of the request as we received it: the parent of every target we pick */
  readonly root: string;

  /** `incoming`: History-Info values that arrived (they stay in the request as they are). */
  constructor(incoming: readonly string[], requestUri: string) {
    const last = incoming.length === 0 ? undefined : /;\s*index\s*=\s*([0-9]+(?:\.[0-9]+)*)/i.exec(incoming[incoming.length - 1]!)?.[1];
    if (last !== undefined) {
      this.root = last;
    } else {
      this.root = '1';
      this.entries.push({ uri: requestUri, index: '1', tag: '', reason: undefined, group: undefined });
    }
  }

  /** A new entry, child of `parent`; `rc`/`mp` name the entry it was derived from (section 10.3). */
  add(uri: string, parent: string, derived: { rc: string } | { mp: string } | undefined, group?: number): string {
    const n = (this.children.get(parent) ?? 0) + 1;
    this.children.set(parent, n);
    const index = `${parent}.${n}`;
    const tag = derived === undefined ? '' : 'rc' in derived ? `;rc=${derived.rc}` : `;mp=${derived.mp}`;
    this.entries.push({ uri, index, tag, reason: undefined, group });
    return index;
  }

  /**
   * Why the hop at entry `index` ended: on the entries of its contacts (group) when it forked to
   * any, else on the hop's own entry (a forward before any phone rang).
   */
  setReason(index: string, group: number | undefined, cause: number, text: string): void {
    const reason = `SIP;cause=${cause};text="${text.replace(/["\\]/g, '')}"`;
    const contacts = this.entries.filter((e) => group !== undefined && e.group === group);
    for (const e of contacts.length > 0 ? contacts : this.entries.filter((x) => x.index === index)) e.reason ??= reason;
  }

  /** Header values for one branch: every entry but the sibling branches' own. */
  values(own: string | undefined): string[] {
    let group: number | undefined;
    for (const e of this.entries) if (e.index === own) group = e.group;
    const out: string[] = [];
    for (const e of this.entries) {
      if (group !== undefined && e.group === group && e.index !== own) continue;
      out.push(`<${withReason(e.uri, e.reason)}>;index=${e.index}${e.tag}`);
    }
    return out;
  }
}

/** RFC 7044 section 9.4 / RFC 3261 19.1.1: the Reason travels as an escaped URI header. */
export function withReason(uri: string, reason: string | undefined): string {
  if (reason === undefined) return uri;
  return `${uri}${uri.includes('?') ? '&' : '?'}Reason=${encodeURIComponent(reason)}`;
}
