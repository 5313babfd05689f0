// Per-user call-forwarding rules of one shard. Built from config at start; kept as plain data in a
// Map so an admin API (or a reload) can replace one user's rules without touching the others:
// the proxy reads the rules at the moment it needs them, so a change applies to the next call.

/** Where to forward: a local username or number (routed like a dialled number), or a SIP URI. */
export type ForwardTarget = string;

export interface UserForwarding {
  /** every call goes here at once; the user's phones do not ring */
  unconditional?: ForwardTarget;
  /** the user's phones answered 486 Busy Here or 600 Busy Everywhere */
  busy?: ForwardTarget;
  /** the user's phones rang this long without an answer: they are CANCELed */
  noAnswer?: { target: ForwardTarget; seconds: number };
  /** no binding, or 408/480/503 or no response at all */
  unavailable?: ForwardTarget;
}

export class ForwardingTable {
  private readonly rules = new Map<string, Readonly<UserForwarding>>();

  constructor(users: ReadonlyArray<{ username: string; forwarding?: UserForwarding | undefined }> = []) {
    for (const u of users) if (u.forwarding !== undefined) this.set(u.username, u.forwarding);
  }

  get(username: string): Readonly<UserForwarding> | undefined {
    return this.rules.get(username);
  }

  /** Replace a user's rules; empty rules (or undefined) remove them. */
  set(username: string, rules: UserForwarding | undefined): void {
    if (rules === undefined || Object.values(rules).every((v) => v === undefined)) this.rules.delete(username);
    else this.rules.set(username, Object.freeze({ ...rules }));
  }

  /** A reload: every user's rules from the new config, in place (holders of the table see them). */
  replaceAll(users: ReadonlyArray<{ username: string; forwarding?: UserForwarding | undefined }>): void {
    this.rules.clear();
    for (const u of users) if (u.forwarding !== undefined) this.set(u.username, u.forwarding);
  }

  /** Plain copy of every user's rules (for an API to show, or to send to other shards). */
  snapshot(): Record<string, UserForwarding> {
    return Object.fromEntries([...this.rules].map(([k, v]) => [k, { ...v }]));
  }
}
