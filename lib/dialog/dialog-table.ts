// Per-shard dialog table (RFC 3261 12): early on a 1xx with a To tag, confirmed on 2xx, terminated on
// BYE or a failed INVITE. It lets the shard route in-dialog requests that reach us without a Route
// header (UAs that ignore Record-Route) and gives operators counts.
import { detach, flatten } from '../sip/detach.js';
import { internTarget } from '../transport/intern-target.js';
import type { SendTarget } from '../transport/types.js';

export type DialogState = 'early' | 'confirmed' | 'terminated';

export interface Dialog {
  callId: string;
  callerTag: string;
  calleeTag: string;
  state: DialogState;
  /** Remote target of each side (its Contact) and where we reach it. */
  callerContact: string | undefined;
  callerDest: SendTarget;
  calleeContact: string | undefined;
  calleeDest: SendTarget;
  createdAt: number;
  confirmedAt: number | undefined;
}

export interface DialogCounts { early: number; confirmed: number; total: number }

export const dialogKey = (callId: string, tagA: string, tagB: string): string =>
  tagA < tagB ? `${callId}|${tagA}|${tagB}` : `${callId}|${tagB}|${tagA}`;

/** The dialog is the one between these two tags (either order). */
function hasTags(d: Dialog, tagA: string, tagB: string): boolean {
  return (d.callerTag === tagA && d.calleeTag === tagB) || (d.callerTag === tagB && d.calleeTag === tagA);
}

export class DialogTable {
  private readonly dialogs = new Map<string, Dialog>();
  /** Dialogs per Call-ID (one, or an array when a forked INVITE made several), so a failed INVITE
   *  ends its early dialogs without a scan. */
  private readonly byCallId = new Map<string, Dialog | Dialog[]>();
  private counts = { early: 0, confirmed: 0 };
  createdTotal = 0;
  confirmedTotal = 0;
  /** Told when a confirmed dialog appears, changes or ends (undefined): crash-recovery checkpoints. */
  onConfirmedChange: ((key: string, dialog: Dialog | undefined) => void) | undefined;

  /**
   * Find by Call-ID and the two tags, in either order (a request from either side matches). Through
   * the Call-ID's dialogs (one, or a few after a fork): no key string built per in-dialog message.
   */
  find(callId: string, tagA: string, tagB: string): Dialog | undefined {
    const cur = this.byCallId.get(callId);
    if (cur === undefined) return undefined;
    if (!Array.isArray(cur)) return hasTags(cur, tagA, tagB) ? cur : undefined;
    for (let i = 0; i < cur.length; i++) if (hasTags(cur[i]!, tagA, tagB)) return cur[i];
    return undefined;
  }

  /** Record a provisional (early) or 2xx (confirmed) answer to an INVITE. */
  upsert(d: Omit<Dialog, 'state' | 'confirmedAt'>, confirmed: boolean, now: number): Dialog {
    let dialog = this.find(d.callId, d.callerTag, d.calleeTag);
    let key: string | undefined;
    if (dialog === undefined) {
      dialog = {
        callId: detach(d.callId), callerTag: detach(d.callerTag), calleeTag: detach(d.calleeTag), state: 'early',
        callerContact: detach(d.callerContact), callerDest: internTarget(d.callerDest),
        calleeContact: detach(d.calleeContact), calleeDest: internTarget(d.calleeDest),
        createdAt: d.createdAt, confirmedAt: undefined,
      };
      // from the detached parts, flattened: the key the table keeps holds no message text
      key = flatten(dialogKey(dialog.callId, dialog.callerTag, dialog.calleeTag));
      this.dialogs.set(key, dialog);
      this.index(dialog);
      this.counts.early++;
      this.createdTotal++;
    } else if (d.calleeContact !== undefined && d.calleeContact !== dialog.calleeContact) {
      dialog.calleeContact = detach(d.calleeContact);
      if (dialog.state === 'confirmed') this.onConfirmedChange?.(dialogKey(dialog.callId, dialog.callerTag, dialog.calleeTag), dialog);
    }
    if (confirmed && dialog.state === 'early') {
      dialog.state = 'confirmed';
      dialog.confirmedAt = now;
      this.counts.early--;
      this.counts.confirmed++;
      this.confirmedTotal++;
      this.onConfirmedChange?.(key ?? dialogKey(dialog.callId, dialog.callerTag, dialog.calleeTag), dialog);
    }
    return dialog;
  }

  /** Put back a confirmed dialog from a checkpoint (a replacement shard after a crash). */
  restore(d: Dialog): void {
    const key = dialogKey(d.callId, d.callerTag, d.calleeTag);
    if (this.dialogs.has(key) || d.state !== 'confirmed') return;
    d.callerDest = internTarget(d.callerDest);
    d.calleeDest = internTarget(d.calleeDest);
    this.dialogs.set(key, d);
    this.index(d);
    this.counts.confirmed++;
  }

  private index(d: Dialog): void {
    const cur = this.byCallId.get(d.callId);
    if (cur === undefined) this.byCallId.set(d.callId, d);
    else if (Array.isArray(cur)) cur.push(d);
    else this.byCallId.set(d.callId, [cur, d]);
  }

  private unindex(d: Dialog): void {
    const cur = this.byCallId.get(d.callId);
    if (cur === d) { this.byCallId.delete(d.callId); return; }
    if (!Array.isArray(cur)) return;
    const i = cur.indexOf(d);
    if (i !== -1) cur.splice(i, 1);
    if (cur.length === 1) this.byCallId.set(d.callId, cur[0]!);
    else if (cur.length === 0) this.byCallId.delete(d.callId);
  }

  terminate(dialog: Dialog): void {
    if (dialog.state === 'terminated') return;
    const key = dialogKey(dialog.callId, dialog.callerTag, dialog.calleeTag);
    if (dialog.state === 'early') this.counts.early--;
    else {
      this.counts.confirmed--;
      this.onConfirmedChange?.(key, undefined);
    }
    dialog.state = 'terminated';
    this.dialogs.delete(key);
    this.unindex(dialog);
  }

  /** Call-IDs that have at least one dialog here. */
  callIds(): IterableIterator<string> {
    return this.byCallId.keys();
  }

  /**
   * Remove every dialog of a Call-ID without telling onConfirmedChange: the call moves to another
   * shard (resharding), it does not end. Returns the removed dialogs.
   */
  take(callId: string): Dialog[] {
    const cur = this.byCallId.get(callId);
    if (cur === undefined) return [];
    const all = Array.isArray(cur) ? [...cur] : [cur];
    for (const d of all) {
      if (d.state === 'early') this.counts.early--;
      else if (d.state === 'confirmed') this.counts.confirmed--;
      this.dialogs.delete(dialogKey(d.callId, d.callerTag, d.calleeTag));
    }
    this.byCallId.delete(callId);
    return all;
  }

  /** Early dialogs of a Call-ID end when the INVITE fails (RFC 3261 12.3). */
  terminateEarly(callId: string, callerTag: string): void {
    const cur = this.byCallId.get(callId);
    if (cur === undefined) return;
    for (const d of Array.isArray(cur) ? [...cur] : [cur]) if (d.state === 'early' && d.callerTag === callerTag) this.terminate(d);
  }

  /** Drop dialogs older than maxAgeMs (no BYE ever seen); returns how many. */
  sweep(now: number, maxAgeMs: number): number {
    let n = 0;
    for (const d of this.dialogs.values()) {
      if (now - d.createdAt > maxAgeMs) { this.terminate(d); n++; }
    }
    return n;
  }

  stats(): DialogCounts {
    return { early: this.counts.early, confirmed: this.counts.confirmed, total: this.dialogs.size };
  }

  list(offset: number, limit: number): Dialog[] {
    const out: Dialog[] = [];
    let i = 0;
    for (const d of this.dialogs.values()) {
      if (i++ < offset) continue;
      if (out.length >= limit) break;
      out.push(d);
    }
    return out;
  }
}
