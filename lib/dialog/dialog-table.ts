// Per-shard dialog table (RFC 3261 12): early on a 1xx with a To tag, confirmed on 2xx, terminated on
// BYE or a failed INVITE. It lets the shard route in-dialog requests that reach us without a Route
// header (UAs that ignore Record-Route) and gives operators counts.
import { detach } from '../sip/detach.js';
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
  /** Dialogs per Call-ID (one, or an array when a forked INVITE made several): the only index.
   *  A lookup goes through the Call-ID's few dialogs, and no key string is built or kept per
   *  dialog (a second Map by full key cost a set and a delete per call on a table of every call). */
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
    return among(this.byCallId.get(callId), tagA, tagB);
  }

  /**
   * Record a provisional (early) or 2xx (confirmed) answer to an INVITE. `known`: the dialog an
   * earlier answer on the same branch gave (a 180 before the 200); when it is still this one, the
   * Call-ID is not looked up again.
   */
  upsert(d: Omit<Dialog, 'state' | 'confirmedAt'>, confirmed: boolean, now: number, known?: Dialog): Dialog {
    let dialog = known !== undefined && known.state !== 'terminated' && known.callId === d.callId && hasTags(known, d.callerTag, d.calleeTag) ? known : undefined;
    const cur = dialog === undefined ? this.byCallId.get(d.callId) : undefined;
    dialog ??= among(cur, d.callerTag, d.calleeTag);
    if (dialog === undefined) {
      dialog = {
        callId: detach(d.callId), callerTag: detach(d.callerTag), calleeTag: detach(d.calleeTag), state: 'early',
        callerContact: detach(d.callerContact), callerDest: internTarget(d.callerDest),
        calleeContact: detach(d.calleeContact), calleeDest: internTarget(d.calleeDest),
        createdAt: d.createdAt, confirmedAt: undefined,
      };
      this.index(dialog, cur);
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
      this.onConfirmedChange?.(dialogKey(dialog.callId, dialog.callerTag, dialog.calleeTag), dialog);
    }
    return dialog;
  }

  /** Put back a confirmed dialog from a checkpoint (a replacement shard after a crash). */
  restore(d: Dialog): void {
    if (d.state !== 'confirmed') return;
    const cur = this.byCallId.get(d.callId);
    if (among(cur, d.callerTag, d.calleeTag) !== undefined) return;
    d.callerDest = internTarget(d.callerDest);
    d.calleeDest = internTarget(d.calleeDest);
    this.index(d, cur);
    this.counts.confirmed++;
  }

  /** `cur`: what byCallId holds for the dialog's Call-ID (the caller has just looked it up). */
  private index(d: Dialog, cur: Dialog | Dialog[] | undefined): void {
    if (cur === undefined) this.byCallId.set(d.callId, d);
    else if (Array.isArray(cur)) cur.push(d);
    else this.byCallId.set(d.callId, [cur, d]);
  }

  private unindex(d: Dialog, cur: Dialog | Dialog[] | undefined): void {
    if (cur === d) { this.byCallId.delete(d.callId); return; }
    if (!Array.isArray(cur)) return;
    const i = cur.indexOf(d);
    if (i !== -1) cur.splice(i, 1);
    if (cur.length === 1) this.byCallId.set(d.callId, cur[0]!);
    else if (cur.length === 0) this.byCallId.delete(d.callId);
  }

  terminate(dialog: Dialog): void {
    if (dialog.state !== 'terminated') this.end(dialog, this.byCallId.get(dialog.callId));
  }

  /** End the dialog between these two tags (only when it is in state `only`, if given): one lookup. */
  terminateBetween(callId: string, tagA: string, tagB: string, only?: DialogState): void {
    const cur = this.byCallId.get(callId);
    const d = among(cur, tagA, tagB);
    if (d !== undefined && (only === undefined || d.state === only)) this.end(d, cur);
  }

  /** `cur`: what byCallId holds for the dialog's Call-ID. */
  private end(dialog: Dialog, cur: Dialog | Dialog[] | undefined): void {
    if (dialog.state === 'early') this.counts.early--;
    else {
      this.counts.confirmed--;
      this.onConfirmedChange?.(dialogKey(dialog.callId, dialog.callerTag, dialog.calleeTag), undefined);
    }
    dialog.state = 'terminated';
    this.unindex(dialog, cur);
  }

  /** At least one dialog (early or confirmed) of this Call-ID is here. */
  hasCallId(callId: string): boolean {
    return this.byCallId.has(callId);
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
    for (const d of this.all()) {
      if (now - d.createdAt > maxAgeMs) { this.terminate(d); n++; }
    }
    return n;
  }

  stats(): DialogCounts {
    // every dialog in the table is early or confirmed: terminate() and take() remove them
    return { early: this.counts.early, confirmed: this.counts.confirmed, total: this.counts.early + this.counts.confirmed };
  }

  /** Dialogs by Call-ID in the order each Call-ID's first dialog came (a fork's dialogs together). */
  list(offset: number, limit: number): Dialog[] {
    const out: Dialog[] = [];
    let i = 0;
    for (const d of this.all()) {
      if (i++ < offset) continue;
      if (out.length >= limit) break;
      out.push(d);
    }
    return out;
  }

  /** Every dialog; safe while the caller terminates the one it was given (a fork's list is copied). */
  private *all(): Generator<Dialog> {
    for (const cur of this.byCallId.values()) {
      if (Array.isArray(cur)) yield* [...cur];
      else yield cur;
    }
  }
}

/** The dialog between these two tags among a Call-ID's (one, or a fork's several). */
function among(cur: Dialog | Dialog[] | undefined, tagA: string, tagB: string): Dialog | undefined {
  if (cur === undefined) return undefined;
  if (!Array.isArray(cur)) return hasTags(cur, tagA, tagB) ? cur : undefined;
  for (let i = 0; i < cur.length; i++) if (hasTags(cur[i]!, tagA, tagB)) return cur[i];
  return undefined;
}
