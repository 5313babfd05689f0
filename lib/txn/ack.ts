// ACK for a non-2xx final response, built by the client transaction (RFC 3261 17.1.1.3).
import { SipMessage } from '../sip/message.js';

export function buildNon2xxAck(request: SipMessage, response: SipMessage): SipMessage {
  const ack = SipMessage.request('ACK', request.uri);
  const via = request.firstValue('via');
  if (via !== undefined) ack.append('Via', via);
  for (let i = 0; i < request.size; i++) if (request.nameAt(i) === 'route') ack.append('Route', request.valueAt(i));
  ack.append('Max-Forwards', '70');
  ack.append('From', request.get('from') ?? '');
  ack.append('To', response.get('to') ?? request.get('to') ?? '');
  ack.append('Call-ID', request.callId);
  ack.append('CSeq', `${request.cseq().seq} ACK`);
  return ack;
}
