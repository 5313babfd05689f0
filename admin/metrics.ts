// /metrics: the proxy's figures in Prometheus text format. Shard counters are summed over shards
// (a counter a later feature adds to ShardStats shows up on its own); per-shard gauges carry a
// `shard` label; call setup latency is a histogram in seconds.
import type { ProxyHandle } from '../lib/server.js';
import type { ShardStatsReport } from '../lib/shard/channel.js';
import { PrometheusText, type Sample } from '../lib/metrics/prometheus-text.js';
import { mergedSetup } from './stats.js';

/** Shard counters with a hand-written name and help; any other becomes sipshard_shard_<snake>_total. */
const SHARD_COUNTERS: Record<string, [string, string]> = {
  messagesIn: ['sipshard_shard_messages_received_total', 'SIP messages handed to the shards.'],
  messagesOut: ['sipshard_shard_messages_sent_total', 'SIP messages the shards sent (forwarded or answered).'],
  requestsIn: ['sipshard_requests_received_total', 'SIP requests received.'],
  responsesIn: ['sipshard_responses_received_total', 'SIP responses received.'],
  parseErrors: ['sipshard_parse_errors_total', 'Messages that could not be parsed at all (dropped).'],
  badRequests: ['sipshard_bad_requests_total', 'Requests answered 400/505/... because they were malformed.'],
  dropped: ['sipshard_dropped_total', 'Messages a shard dropped (unparseable, unanswerable, unroutable).'],
  internalErrors: ['sipshard_internal_errors_total', 'Unexpected errors while handling a message.'],
  retransmissionsAbsorbed: ['sipshard_retransmissions_absorbed_total', 'Request retransmissions absorbed by a server transaction.'],
  requestsForwarded: ['sipshard_requests_forwarded_total', 'Requests forwarded downstream (each fork branch counts).'],
  responsesForwardedStateless: ['sipshard_responses_forwarded_stateless_total', 'Responses relayed without a transaction.'],
  responsesWithoutUpstreamVia: ['sipshard_responses_without_upstream_via_total', 'Responses to a relayed request that came back with no Via but ours (the peer dropped the others): dropped, nowhere upstream to send them.'],
  registrations: ['sipshard_registration_updates_total', 'Successful REGISTERs that changed a binding set.'],
  callsAttempted: ['sipshard_calls_attempted_total', 'Initial INVITEs forwarded (call attempts).'],
  callsAnswered: ['sipshard_calls_answered_total', 'Initial INVITEs answered with a 2xx.'],
  relayForbidden: ['sipshard_relay_forbidden_total', 'Requests for destinations outside our domains refused 403 by the relay policy (untrusted source, From not in our domains).'],
  relayChallenged: ['sipshard_relay_challenged_total', 'Requests for destinations outside our domains challenged 407 by the relay policy (untrusted source, From in our domains).'],
};

const RESPONSE_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx', '6xx'] as const;

const snake = (s: string): string => s.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();

function sum(reports: readonly ShardStatsReport[], key: string): number {
  let n = 0;
  for (const r of reports) n += r.counters[key] ?? 0;
  return n;
}

export function renderMetrics(proxy: ProxyHandle, reports: readonly ShardStatsReport[], callsPerSecond: number): string {
  const m = new PrometheusText();
  const { mainStats } = proxy;
  const transport = proxy.transports.stats();
  const shardLabel = (r: ShardStatsReport): { shard: number } => ({ shard: r.shardId });

  m.gauge('sipshard_uptime_seconds', 'Seconds since the proxy started.', Math.round((Date.now() - proxy.startedAt) / 1000));
  m.gauge('sipshard_workers', 'Worker threads (shards) running; 0: the one shard runs on the main thread (workers: 0).', proxy.pool.workerThreads);
  m.counter('sipshard_inline_shard_errors_total', 'Batches (their remaining messages dropped), transaction timers and periodic dialog sweeps the shard on the main thread (workers: 0, or shard.placement: load) failed on; it goes on.', proxy.pool.inlineErrors);
  m.counter('sipshard_shard_restarts_total', 'Shard threads that died and were replaced.', proxy.pool.restarts);
  const { handOver } = proxy.pool;
  m.counter('sipshard_handover_batches_total', 'Batches (one postMessage each) the main thread handed to shards.', handOver.batches);
  m.counter('sipshard_handover_messages_total', 'SIP messages in those batches (divided by the batches: messages per hand-over).', handOver.messages);
  m.counter('sipshard_handover_holds_expired_total', 'Messages held for a busy shard that went on the 2 ms limit rather than with its answer (shard.postsInFlight).', handOver.holdsExpired);
  const placement = proxy.placement;
  if (placement !== undefined) {
    m.gauge('sipshard_main_shard_budget_per_second', "shard.placement: load: new Call-IDs per second the main thread's shard may take now (it follows the main thread's utilization).", Math.round(placement.mainBudgetPerSecond));
    m.counter('sipshard_calls_placed_total', 'shard.placement: load: new Call-IDs (requests that start work) placed, by where: main (the main thread\'s shard) or workers.',
      [[{ on: 'main' }, placement.stats.placedOnMain], [{ on: 'workers' }, placement.stats.placedOnWorkers]]);
  }
  const resize = proxy.resizeStats();
  m.counter('sipshard_worker_resizes_total', 'Changes of the worker count at run time.', resize.resizes);
  m.counter('sipshard_resize_dialogs_moved_total', 'Confirmed dialogs moved to another shard by changes of the worker count.', resize.dialogsMoved);
  m.gauge('sipshard_resize_pinned_calls', 'Call-IDs kept on their old shard until their transactions end.', resize.pinned);
  m.gauge('sipshard_retiring_workers', 'Removed shards still finishing their pinned calls.', proxy.pool.retiringIds().length);

  m.counter('sipshard_transport_messages_received_total', 'SIP messages framed by the main thread, by transport.',
    Object.entries(transport.received).map(([t, v]): Sample => [{ transport: t }, v]));
  m.counter('sipshard_transport_messages_sent_total', 'SIP messages written to sockets, by transport.',
    Object.entries(transport.sent).map(([t, v]): Sample => [{ transport: t }, v]));
  m.counter('sipshard_transport_framing_errors_total', 'Stream connections closed on a framing error.', transport.framingErrors);
  m.counter('sipshard_transport_oversize_dropped_total', 'Messages larger than transport.maxMessageBytes.', transport.droppedOversize);
  m.gauge('sipshard_transport_open_connections', 'Open TCP and TLS connections.', transport.openConnections);
  m.counter('sipshard_transport_rejected_connections_total', 'Connections refused by the connection limits.', transport.rejectedConnections);
  m.counter('sipshard_transport_idle_closed_total', 'Connections closed after the idle timeout.', transport.idleClosed);
  m.counter('sipshard_transport_connect_failures_total', 'Outbound connections that failed.', transport.connectFailures);
  m.counter('sipshard_transport_send_errors_total', 'Messages that could not be sent.', transport.sendErrors);
  m.counter('sipshard_transport_keepalives_total', 'CRLF keep-alives received.', transport.keepAlives);
  m.counter('sipshard_tls_handshake_failures_total', 'TLS handshakes that failed (inbound and outbound).', transport.tlsHandshakeFailures);

  m.counter('sipshard_no_call_id_total', 'Messages whose Call-ID the main thread could not find.', mainStats.noCallId);
  m.counter('sipshard_register_challenged_stateless_total', 'REGISTERs without credentials the main thread answered 401 itself, with no shard (registrar.statelessChallenge).', mainStats.registerChallenged);
  m.counter('sipshard_overload_rejected_total', 'New INVITEs answered 503 because their shard was full.',
    mainStats.overload503ByShard.map((v, shard): Sample => [{ shard }, v]));
  m.counter('sipshard_overload_dropped_total', 'Messages dropped because their shard was over twice its in-flight bound.',
    mainStats.overloadDroppedByShard.map((v, shard): Sample => [{ shard }, v]));
  const ovl = proxy.overload.stats;
  m.counter('sipshard_overload_shed_total', 'New out-of-dialog requests refused while the proxy was overloaded (overload.*), by action: 503 (answered with Retry-After) or dropped (over overload.max503PerSecond, or unanswerable).',
    [[{ action: '503' }, ovl.shed503], [{ action: 'dropped' }, ovl.shedDropped]]);
  m.counter('sipshard_overload_admitted_answers_total', 'New out-of-dialog requests let through while shedding because they answer our digest challenge (a nonce we issued for their Call-ID): work under way, not new work.', ovl.admittedAnswers);
  m.counter('sipshard_overload_episodes_total', 'Times the proxy started shedding new work.', ovl.episodes);
  m.gauge('sipshard_overload_shedding', '1 while new out-of-dialog requests are refused (overload), else 0.', proxy.overload.shedding ? 1 : 0);
  m.gauge('sipshard_main_event_loop_utilization', "The main thread's event-loop utilization over the last overload sample (0..1).", ovl.elu);
  m.gauge('sipshard_overload_messages_per_second', 'SIP messages the main thread received per second during the last overload sample.', Math.round(ovl.rate));
  m.gauge('sipshard_overload_backlog', 'The most messages one shard had unacknowledged during the last overload sample.', ovl.backlog);
  m.gauge('sipshard_overload_rx_queue_bytes', "Bytes waiting in our UDP sockets' kernel receive queues at the last overload sample (Linux /proc/net/udp; 0 elsewhere).", ovl.rxQueueBytes);
  m.counter('sipshard_udp_receive_drops_total', 'Datagrams the kernel dropped on our UDP sockets because their receive buffer was full (Linux /proc/net/udp; 0 elsewhere).', ovl.rxDrops);
  m.gauge('sipshard_shard_in_flight', 'Messages queued to or being processed by a shard.',
    reports.map((r): Sample => [shardLabel(r), proxy.pool.inFlight(r.shardId)]));

  const keys = new Set<string>();
  for (const r of reports) for (const k of Object.keys(r.counters)) if (!/^responses\dxx$/.test(k)) keys.add(k);
  for (const key of keys) {
    const [name, help] = SHARD_COUNTERS[key] ?? [`sipshard_shard_${snake(key)}_total`, `Shard counter ${key}, summed over shards.`];
    m.counter(name, help, sum(reports, key));
  }
  m.counter('sipshard_responses_sent_total', 'Final and provisional responses sent upstream by the proxy core, by class.',
    RESPONSE_CLASSES.map((c): Sample => [{ class: c }, sum(reports, `responses${c}`)]));

  m.gauge('sipshard_transactions', 'Open transactions (server and client; those in Completed for Timer J included).', reports.reduce((n, r) => n + r.transactions, 0));
  m.gauge('sipshard_completed_transactions', 'Of those, non-INVITE server transactions in Completed kept off the heap until Timer J (their final response, for retransmissions).', reports.reduce((n, r) => n + r.completed.records, 0));
  m.gauge('sipshard_completed_store_bytes', 'Memory of the shards\' stores of Completed transactions (allocated in 1 MiB chunks).', reports.reduce((n, r) => n + r.completed.bytes, 0));
  m.gauge('sipshard_dialogs', 'Dialogs by state and shard.', reports.flatMap((r): Sample[] => [
    [{ shard: r.shardId, state: 'early' }, r.dialogs.early],
    [{ shard: r.shardId, state: 'confirmed' }, r.dialogs.confirmed],
  ]));
  m.gauge('sipshard_timers', 'Pending transaction timers.', reports.reduce((n, r) => n + r.timers, 0));
  m.gauge('sipshard_calls_per_second', 'Call attempts per second over the last 10 s.', callsPerSecond);
  const reg = proxy.location.store.size();
  m.gauge('sipshard_registered_aors', 'Addresses-of-record with at least one binding.', reg.aors);
  m.gauge('sipshard_registered_contacts', 'Bindings (contacts) in the location service.', reg.bindings);
  const journal = proxy.location.journal?.stats;
  if (journal !== undefined) {
    m.counter('sipshard_journal_records_total', 'Changes (bindings, learned peer state) written to the write-ahead log of registrar.storePath.', journal.puts);
    m.counter('sipshard_journal_writes_total', 'write(2) calls to that log: the changes of one shard batch go in one.', journal.writes);
    m.counter('sipshard_journal_errors_total', 'Failed writes, fsyncs or compactions of the journal (the log names the cause).', journal.errors);
    m.counter('sipshard_journal_compactions_total', 'Snapshots written, each emptying the log.', journal.compactions);
    m.gauge('sipshard_journal_log_bytes', 'Bytes in the write-ahead log since the last snapshot.', journal.walBytes);
  }

  m.histogram('sipshard_call_setup_seconds', 'Time from an initial INVITE reaching its shard to the first 2xx sent upstream.', mergedSetup(reports), 1 / 1000);
  return m.toString();
}
