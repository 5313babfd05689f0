// A piscina task standing in for a shard (test/shard/shard-pool-hold.test.ts): it reports every
// batch it gets (the texts of its SIP messages) and acknowledges them only when the test says so
// ('ack' at once, 'slow' 300 ms later),
// so the main thread's hold while busy can be watched from outside. Compiled to dist/test/helpers.
import type { MessagePort } from 'node:worker_threads';
import type { ToShard } from '../../lib/shard/channel.js';
import { forEachSip } from '../../lib/shard/sip-frames.js';

export default function scriptedShard(task: { port: MessagePort } | { warm: true }): Promise<void> {
  if ('warm' in task) return Promise.resolve();
  const { port } = task;
  let unacked = 0;
  return new Promise((resolve) => {
    port.on('message', (items: ToShard[]) => {
      const texts: string[] = [];
      for (const item of items) {
        if (item.t === 'sipb') forEachSip(item, (d) => texts.push(d.toString('latin1')));
        else if (item.t === 'stop') { port.close(); resolve(); return; }
      }
      unacked += texts.length;
      // 'ack' acknowledges everything so far in the answer; 'slow' too, but answers 300 ms later;
      // otherwise the answer only reports
      const ack = texts.includes('ack') || texts.includes('slow') ? unacked : 0;
      unacked -= ack;
      const answer = (): void => port.postMessage({ n: ack, out: [{ t: 'reply', id: 0, v: texts }] });
      if (texts.includes('slow')) setTimeout(answer, 300);
      else answer();
    });
  });
}
