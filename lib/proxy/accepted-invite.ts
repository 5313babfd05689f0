// What an INVITE's response context leaves behind once it is settled with a 2xx upstream. RFC 6026
// 7.2: the client transaction stays in Accepted for Timer M and passes every further 2xx (a
// retransmission, or another fork's answer) to the core, which sends it upstream through the server
// transaction, itself in Accepted for Timer L (7.1). Those 2xx need the server transaction, the
// caller's side of the dialog and, for a peer leg, the caller's CSeq and From: none of the messages
// themselves, which a held call would otherwise keep for 32 s.
import type { Dialog } from '../dialog/dialog-table.js';
import type { InviteServerTxn } from '../txn/invite-server.js';
import type { ResponseContext } from './response-context.js';

/** The caller's side of the dialogs a 2xx creates: the branch's Call-ID, From tag and Contact. */
export type CallerSide = Pick<Dialog, 'callId' | 'callerTag' | 'callerContact'>;

/** The caller's CSeq and From, put back into responses from a peer leg that went out with others. */
export interface CallerView { cseq: string | undefined; from: string | undefined }

export class AcceptedInvite {
  constructor(
    readonly server: InviteServerTxn<ResponseContext>,
    /** flat strings (the dialog's own when it has one): they keep no message text alive */
    readonly caller: CallerSide,
    readonly restore: CallerView | undefined,
  ) {}
}
