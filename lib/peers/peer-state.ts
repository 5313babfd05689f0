// The state of lines and trunks as the rest of the program sees it. Plain data: a state is made on
// the shard that owns the peer, posted to the main thread (which keeps the snapshot the admin API
// shows) and broadcast to the other shards (which route around a down trunk).

export type LineRegistrationState = 'unregistered' | 'registering' | 'registered' | 'failed';

export interface LineState {
  kind: 'line';
  name: string;
  state: LineRegistrationState;
  /** status of the last final response to a REGISTER (408 for a timeout), if any */
  lastStatus: number | undefined;
  /** ms since epoch the registration runs out, while registered */
  expiresAt: number | undefined;
  /** ms since epoch of the last change of `state` */
  since: number;
  /** consecutive failed attempts (drives the back-off) */
  failures: number;
  /** shard that registers the line */
  shard: number;
}

export interface TrunkState {
  kind: 'trunk';
  name: string;
  state: 'up' | 'down';
  /** false when the trunk has no OPTIONS keep-alive (then it is always up) */
  monitored: boolean;
  lastStatus: number | undefined;
  since: number;
  /** consecutive unanswered OPTIONS */
  failures: number;
  shard: number;
}

export type PeerState = LineState | TrunkState;

/** The latest state of each peer by name. */
export class PeerStateTable {
  private readonly states = new Map<string, PeerState>();

  apply(s: PeerState): void {
    this.states.set(s.name, s);
  }

  get(name: string): PeerState | undefined {
    return this.states.get(name);
  }

  /** A trunk is down only once its keep-alive says so; unknown trunks are up. */
  isDown(name: string): boolean {
    const s = this.states.get(name);
    return s !== undefined && s.kind === 'trunk' && s.state === 'down';
  }

  snapshot(): PeerState[] {
    return [...this.states.values()].map((s) => ({ ...s })).sort((a, b) => a.name.localeCompare(b.name));
  }
}
