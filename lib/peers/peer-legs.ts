// Calls the shard has sent to a line or a trunk, per dialog (Call-ID + the caller's From tag):
// - a trunk call holds one of the trunk's call slots until the INVITE fails or the dialog ends;
// - a line call goes out with the line's identity in From, and each request the provider
//   challenged is re-sent with the line's credentials and CSeq + 1 (RFC 3261 22.2, 8.1.3.5), so
//   the leg keeps a CSeq offset that later requests from the caller get added (and the responses
//   going back get their original CSeq and From again: the caller sees one call).
import type { SipMessage } from '../sip/message.js';
import { parseNameAddr, fromTagOf } from '../sip/name-addr.js';
import { formatParams } from '../sip/split.js';
import { answerPeerChallenge } from './peer-auth.js';
import type { Line, Trunk } from './peers.js';
import type { PeerStateTable } from './peer-state.js';
import type { TrunkCalls } from './trunk-calls.js';

export type PeerTarget = { kind: 'line'; line: Line } | { kind: 'trunk'; trunk: Trunk };

export interface Leg {
  key: string;
  peer: PeerTarget;
  /** added to the caller's CSeq numbers on this leg */
  cseqDelta: number;
  /** counted in its trunk's call slots */
  holdsCall: boolean;
  /** digest nonce count for the line's answers */
  nc: number;
  createdAt: number;
  /** stored in the table (dialog-creating INVITE), not a one-off request */
  stored: boolean;
}

function legKey(callId: string, callerTag: string): string {
  return `${callId}|${callerTag}`;
}


/** The From value with the line's address-of-record as its URI (display name and tag kept). */
function lineFrom(from: string, line: Line): string {
  const na = parseNameAddr(from);
  return `${na.display !== undefined ? `${na.display} ` : ''}<${line.aor}>${formatParams(na.params)}`;
}

export class PeerLegs {
  private readonly legs = new Map<string, Leg>();

  constructor(private readonly calls: TrunkCalls, private readonly states: PeerStateTable, private readonly now: () => number) {}

  get size(): number {
    return this.legs.size;
  }

  /**
   * A new request to a peer (`copy` is its outgoing copy): undefined when the peer cannot take it
   * (trunk down or at its call limit); else the leg, with the copy edited for the peer.
   */
  begin(copy: SipMessage, peer: PeerTarget): Leg | undefined {
    const invite = copy.method === 'INVITE';
    let holdsCall = false;
    if (peer.kind === 'trunk') {
      const t = peer.trunk;
      if (this.states.isDown(t.name)) return undefined;
      if (invite) {
        if (!this.calls.tryAcquire(t.index, t.config.maxCalls)) return undefined;
        holdsCall = true;
      }
    } else {
      copy.set('From', lineFrom(copy.get('from')!, peer.line));
    }
    const leg: Leg = { key: legKey(copy.callId, fromTagOf(copy)), peer, cseqDelta: 0, holdsCall, nc: 0, createdAt: this.now(), stored: invite };
    if (invite) {
      const old = this.legs.get(leg.key);
      if (old !== undefined) this.end(old); // failover: the previous trunk's attempt is over
      this.legs.set(leg.key, leg);
    }
    return leg;
  }

  /** An in-dialog request from the caller on a peer leg: CSeq shifted, the line's From. */
  translate(copy: SipMessage): Leg | undefined {
    if (this.legs.size === 0) return undefined;
    const leg = this.legs.get(legKey(copy.callId, fromTagOf(copy)));
    if (leg === undefined) return undefined;
    if (leg.cseqDelta !== 0) {
      const { seq, method } = copy.cseq();
      copy.set('CSeq', `${seq + leg.cseqDelta} ${method}`);
    }
    if (leg.peer.kind === 'line') copy.set('From', lineFrom(copy.get('from')!, leg.peer.line));
    return leg;
  }

  /**
   * The provider challenged a request on a line leg: the copy to send instead (credentials, CSeq
   * + 1), or undefined when the challenge cannot be answered.
   */
  answerChallenge(leg: Leg, sent: SipMessage, res: SipMessage): SipMessage | undefined {
    if (leg.peer.kind !== 'line') return undefined;
    const answer = answerPeerChallenge(res, sent, leg.peer.line, ++leg.nc);
    if (answer === undefined) return undefined;
    const retry = sent.clone();
    const { seq, method } = sent.cseq();
    retry.set('CSeq', `${seq + 1} ${method}`);
    retry.remove(answer.header[0]);
    retry.append(answer.header[0], answer.header[1]);
    leg.cseqDelta++;
    return retry;
  }

  /** The leg is over: its call slot goes back. */
  end(leg: Leg): void {
    if (leg.holdsCall) {
      leg.holdsCall = false;
      if (leg.peer.kind === 'trunk') this.calls.release(leg.peer.trunk.index);
    }
    if (this.legs.get(leg.key) === leg) this.legs.delete(leg.key);
  }

  /** A dialog ended (BYE answered): either tag may be the caller's. */
  endDialog(callId: string, tagA: string, tagB: string): void {
    if (this.legs.size === 0) return;
    const leg = this.legs.get(legKey(callId, tagA)) ?? this.legs.get(legKey(callId, tagB));
    if (leg !== undefined) this.end(leg);
  }

  /** Drop legs older than maxAgeMs (no BYE ever seen); returns how many. */
  sweep(now: number, maxAgeMs: number): number {
    let n = 0;
    for (const leg of [...this.legs.values()]) {
      if (now - leg.createdAt > maxAgeMs) { this.end(leg); n++; }
    }
    return n;
  }
}
