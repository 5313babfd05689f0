// The overload section: defaults, and bad values named with path, value and what is allowed.
import t from 'tap';
import { isSipProxyError } from '../../lib/errors.js';
import { parseConfigText } from '../../lib/config/load-config.js';

function errorOf(yaml: string): string {
  try {
    parseConfigText(yaml, 'test.yaml');
  } catch (err) {
    if (!isSipProxyError(err, 'SIP_ERR_CONFIG')) throw err;
    return (err as Error).message;
  }
  return '';
}

t.test('defaults', async (t) => {
  const c = parseConfigText('{}\n', 'test.yaml');
  t.same(c.overload, { enabled: true, sampleMs: 100, sustainSamples: 5, eluHigh: 1, eluLow: 0.7, backlogHigh: 10000, backlogLow: 2000, rxQueueHighBytes: 1000000, rxQueueLowBytes: 250000, minMessagesPerSecond: 1000, max503PerSecond: 2000 });
});

t.test('out of range and wrong type', async (t) => {
  const msg = errorOf('overload: { eluHigh: 1.5, sampleMs: 5, max503PerSecond: -1, enabled: "yes" }\n');
  t.match(msg, 'overload.eluHigh: got 1.5, must be a number 0.05..1');
  t.match(msg, 'overload.sampleMs: got 5, must be an integer 10..10000');
  t.match(msg, 'overload.max503PerSecond: got -1, must be an integer >= 0');
  t.match(msg, 'overload.enabled: got "yes", must be true or false');
  const rx = errorOf('overload: { rxQueueHighBytes: 0, rxQueueLowBytes: -5 }\n');
  t.match(rx, 'overload.rxQueueHighBytes: got 0, must be an integer >= 1');
  t.match(rx, 'overload.rxQueueLowBytes: got -5, must be an integer >= 0');
  t.match(errorOf('overload: { rxQueueHighBytes: 1.5e6x }\n'), 'overload.rxQueueHighBytes: got "1.5e6x", must be an integer >= 1');
});

t.test('low marks must be under the high marks (or shedding would never stop)', async (t) => {
  const msg = errorOf('overload: { eluHigh: 0.8, eluLow: 0.8, backlogHigh: 100, backlogLow: 200, rxQueueHighBytes: 1000, rxQueueLowBytes: 1000 }\n');
  t.match(msg, 'overload.eluLow: got 0.8, must be < overload.eluHigh (0.8)');
  t.match(msg, 'overload.backlogLow: got 200, must be < overload.backlogHigh (100)');
  t.match(msg, 'overload.rxQueueLowBytes: got 1000, must be < overload.rxQueueHighBytes (1000)');
});
