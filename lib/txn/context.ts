// What a transaction needs from the shard: timers, a way to put bytes on the wire, and T1/T2/T4.
import type { SendTarget } from '../transport/types.js';
import type { TimerWheel } from './timers.js';

export interface TxnTimersConfig { t1Ms: number; t2Ms: number; t4Ms: number }

export interface TxnContext {
  timers: TimerWheel;
  times: TxnTimersConfig;
  send(target: SendTarget, data: Buffer): void;
}

export function isReliable(target: SendTarget): boolean {
  return target.transport !== 'udp';
}

/** The end-of-life timers (L, M, D, H, I, J, K) share this function instead of a closure each. */
export function terminateTxn(txn: { terminate(): void }): void {
  txn.terminate();
}
