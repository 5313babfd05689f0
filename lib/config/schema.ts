// The one source of config shape, defaults and field docs. load-config.ts validates against it
// (ajv, useDefaults) and reference.ts renders the README's config reference from it.
//
// `allowed` is an annotation (registered with ajv as a no-op keyword) giving the human wording of a
// constraint a regex or format cannot explain; error messages and the reference table use it.
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { REL100_MODES } from '../policy/rel100.js';
import { NETWORK_ALLOWED } from '../security/trusted-networks.js';
import { MAX_WORKERS } from './limits.js';

export { MAX_WORKERS };

export const TRANSPORTS = ['udp', 'tcp', 'tls'] as const;
export const TLS_VERSIONS = ['TLSv1.2', 'TLSv1.3'] as const;
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export const DIGEST_ALGORITHMS = ['SHA-256', 'MD5'] as const;
export const FSYNC_POLICIES = ['always', 'interval', 'never'] as const;
/** shard.placement when the config names none (README, Architecture: why load) */
export const DEFAULT_PLACEMENT = 'load';

/** A string restricted to `values`, typed as their union but emitted as a plain JSON-schema enum
 *  (Type.Union of literals would give ajv an anyOf and one error per branch). */
function StringEnum<const T extends readonly string[]>(values: T, options: { default?: T[number]; description: string }) {
  return Type.Unsafe<T[number]>({ type: 'string', enum: [...values], ...options });
}

// 0 asks the OS for a free port (tests, side-by-side benchmarks); the bound port is logged.
const Port = (def: number, description: string) =>
  Type.Integer({ minimum: 0, maximum: 65535, default: def, description });

const IpAddress = (def: string, description: string) =>
  Type.String({ format: 'ip', allowed: 'an IPv4 or IPv6 address', default: def, description });

const ListenSchema = Type.Object(
  {
    transport: StringEnum(TRANSPORTS, { description: 'Transport protocol of this listener (required).' }),
    address: IpAddress('127.0.0.1', 'Local IP address to bind; 0.0.0.0 or :: for all interfaces.'),
    port: Port(5060, 'Local port to bind (5061 is customary for tls).'),
    advertise: Type.Optional(Type.String({
      pattern: '^(?:[A-Za-z0-9.\\-]+|\\[[0-9A-Fa-f:.]+\\])$', allowed: 'a host name or IP address (IPv6 in [])',
      description: "Host written in Via and Record-Route for this listener (a public address behind NAT); absent: the bound address, or for 0.0.0.0/:: the machine's first non-loopback address.",
    })),
  },
  { additionalProperties: false, description: 'One socket to listen on.' },
);

const TransportSchema = Type.Object(
  {
    maxMessageBytes: Type.Integer({ minimum: 1024, maximum: 1048576, default: 65535, description: 'Largest SIP message accepted on any transport; larger ones are dropped and counted (UDP) or close the connection (TCP).' }),
    udpRecvBufferBytes: Type.Integer({ minimum: 65536, default: 4194304, description: 'SO_RCVBUF for UDP sockets; a large buffer absorbs bursts while shards are busy.' }),
    udpSendBufferBytes: Type.Integer({ minimum: 65536, default: 4194304, description: 'SO_SNDBUF for UDP sockets.' }),
    udpBatchSend: Type.Boolean({ default: true, description: "Send each shard batch's UDP messages with one sendmmsg system call per 64 (the native addon built at install, Linux); false, or without the addon, every datagram goes through Node's dgram send. Read at start." }),
    udpBatchReceive: Type.Boolean({ default: true, description: "Read the UDP listeners with recvmmsg, up to 64 datagrams per system call handed over in one buffer (the native addon built at install, Linux); false, or without the addon, each datagram comes through Node's dgram. Read at start." }),
    tcpIdleTimeoutMs: Type.Integer({ minimum: 1000, default: 120000, description: 'Close a TCP connection after this long without traffic.' }),
    tcpMessageTimeoutMs: Type.Integer({ minimum: 0, default: 10000, description: 'An inbound TCP connection must send its first message, and finish every message it begins, within this; slower ones are closed and counted (slow-loris). 0: no limit.' }),
    tcpConnectTimeoutMs: Type.Integer({ minimum: 100, default: 5000, description: 'Give up on an outbound TCP connect after this long (the request then fails with 503).' }),
    maxConnections: Type.Integer({ minimum: 1, default: 10000, description: 'Cap on open TCP connections, inbound and outbound together.' }),
    maxConnectionsPerSource: Type.Integer({ minimum: 1, default: 100, description: 'Cap on inbound TCP connections from one source IP.' }),
  },
  { additionalProperties: false, default: {}, description: 'Socket and framing limits.' },
);

const SecuritySchema = Type.Object(
  {
    rateWindowMs: Type.Integer({ minimum: 100, maximum: 60000, default: 1000, description: 'Sliding window of the per-source rate limit (checked on the main thread before a message reaches a shard, like Kamailio\'s pike).' }),
    ratePerWindow: Type.Integer({ minimum: 0, default: 2000, description: 'Messages (and TCP connections) one source IP may send per window; above it the source is banned. 0 turns the limit off.' }),
    banSeconds: Type.Integer({ minimum: 1, maximum: 86400, default: 60, description: 'How long a source over the rate is banned: everything it sends is dropped unanswered and counted.' }),
    maxAuthFailures: Type.Integer({ minimum: 0, default: 20, description: 'Failed digest checks (wrong password, unknown user) one source IP may cause per authWindowSeconds before it is banned; 0 turns the back-off off.' }),
    authWindowSeconds: Type.Integer({ minimum: 1, maximum: 86400, default: 60, description: 'Window of maxAuthFailures.' }),
    authBanSeconds: Type.Integer({ minimum: 1, maximum: 86400, default: 300, description: 'How long a source over maxAuthFailures is banned.' }),
    maxHeaders: Type.Integer({ minimum: 0, maximum: 10000, default: 200, description: 'Most header lines in one message; longer header sections are dropped and counted. 0: no limit.' }),
    exempt: Type.Array(Type.String({ format: 'ip', allowed: 'an IPv4 or IPv6 address', description: 'A trusted address.' }), {
      default: ['127.0.0.1', '::1'],
      description: "Source addresses never rate-limited or banned (trunks, load balancers, monitoring). Default: loopback, the host's own processes (sipp or an SBC on the same host sends far more than ratePerWindow from one address). A list you give replaces it: keep 127.0.0.1 and ::1 in it if they should stay exempt.",
    }),
    trustedNetworks: Type.Array(Type.String({ allowed: NETWORK_ALLOWED, description: 'A trusted network.' }), {
      uniqueItems: true,
      default: ['127.0.0.0/8', '::1/128'],
      description: "Relay policy: sources (CIDR) whose out-of-dialog requests may leave our domains (static routes, lines, trunks, foreign hosts) without authenticating; trunks' addresses are trusted too. Any other caller gets 407 when its From is in our domains (a local user authenticates), else 403 Relay Forbidden. Calls to local users are open to everyone. Default: loopback, the host's own processes. A live reload applies a change between two messages.",
    }),
  },
  { additionalProperties: false, default: {}, description: 'Flood protection and authentication back-off, per source IP address, and the relay policy.' },
);

const ShardSchema = Type.Object(
  {
    maxInFlight: Type.Integer({ minimum: 1, default: 20000, description: 'Messages queued to or being processed by one shard; above it new requests get 503 with Retry-After.' }),
    batchMax: Type.Integer({ minimum: 1, maximum: 4096, default: 64, description: 'Most messages handed to a shard in one batch (one postMessage).' }),
    postsInFlight: Type.Integer({ minimum: 0, maximum: 64, default: 1, description: "Batches the main thread lets a shard have unanswered; further SIP messages for it wait for an answer (at most 2 ms) and go in one batch, instead of a batch every event-loop turn queued behind the ones in hand: fewer, larger batches under load, no wait for an idle shard. 0: never wait. Read at start." }),
    retryAfterSeconds: Type.Integer({ minimum: 0, maximum: 3600, default: 5, description: 'Retry-After value of the overload 503 (and of the 503 to new calls while shutting down).' }),
    warmUpCalls: Type.Integer({ minimum: 0, maximum: 100000, default: 2000, description: "Made-up calls each shard of a start runs through a scratch shard of its own before it takes traffic (at most 1 s; about 0.6 s for 2,000 here), so a proxy (re)started under full load meets compiled code, not cold code at twice the CPU. A replacement after a crash and a resize's new shards skip it and answer at once. 0: off. Read at start." }),
    warmUpRegistrations: Type.Integer({ minimum: 0, maximum: 100000, default: 2000, description: "Made-up registrations (REGISTER, 401, REGISTER with digest credentials, 200) each shard of a start runs through the same scratch shard after its warm-up calls (at most 1 s more; about 0.2 s for 2,000 here), so a registration storm after a restart meets compiled registrar code (12,000 REGISTERs/s on a fresh proxy: the first ~300 ms waited at most 72-92 ms instead of 108-124). 0: off. Read at start." }),
    youngGenerationMb: Type.Integer({ minimum: 0, maximum: 1024, default: 6, description: "V8 young generation of each shard thread, in MB (0: V8's default, which grows to 48 MB under load). Held transactions and dialogs outlive it anyway, so a large one mostly adds RSS (see bench/PERFORMANCE.md). Read at start." }),
    placement: Type.Union([Type.Literal('hash'), Type.Literal('load')], { default: DEFAULT_PLACEMENT, description: "How a new Call-ID finds its shard when there are worker threads. load: a shard on the main thread beside the workers takes new Call-IDs while the main thread is under shard.mainThreadBusy, the workers by hash above that; no call ever moves. Low and middling loads then cost what `workers: 0` costs (no thread hand-over per message) and a burst still gets the workers' capacity (README, Performance). hash: every Call-ID to a worker by its hash (DESIGN.md), the main thread doing socket work only: no call waits behind a flood the main thread rate-limits, and a fault in SIP handling is a worker's, which is replaced with its confirmed dialogs. Ignored with `workers: 0`. Read at start." }),
    mainThreadBusy: Type.Number({ minimum: 0.05, maximum: 0.95, default: 0.5, description: "With placement: load, the main thread's event-loop utilization (sampled every overload.sampleMs) it aims at: over it, the budget of new Call-IDs it takes per sample shrinks in proportion; under 80% of it, the budget grows by a quarter while half of it is used. The Call-IDs over the budget go to the workers." }),
    drainSeconds: Type.Integer({ minimum: 0, maximum: 3600, default: 20, description: 'On SIGTERM/SIGINT: new INVITEs get 503 with Retry-After while open transactions finish, for at most this long; then state is flushed and the process exits 0.' }),
  },
  { additionalProperties: false, default: {}, description: 'Worker (shard) queueing and overload control.' },
);

const OverloadSchema = Type.Object(
  {
    enabled: Type.Boolean({ default: true, description: 'Shed new work on the main thread while the proxy is overloaded: out-of-dialog requests other than ACK and CANCEL (INVITE, REGISTER, OPTIONS, ...) get 503 with Retry-After (shard.retryAfterSeconds), built there without a shard hop; responses, in-dialog requests, ACK and CANCEL keep flowing so calls already accepted complete. Counted in metrics (sipshard_overload_shed_total).' }),
    sampleMs: Type.Integer({ minimum: 10, maximum: 10000, default: 100, description: 'How often the load is sampled: the main thread\'s event-loop utilization over the interval, the shards\' backlog during it, and our UDP sockets\' kernel receive queues at its end.' }),
    sustainSamples: Type.Integer({ minimum: 1, maximum: 100, default: 5, description: 'Shedding starts only after this many samples in a row over a high mark: one busy interval (a GC pause, a burst, the thread descheduled) is not overload.' }),
    eluHigh: Type.Number({ minimum: 0.05, maximum: 1, default: 1, description: 'Shedding starts when the main thread was busy for at least this share of a sample interval (event-loop utilization, 0..1) while receiving at least minMessagesPerSecond. 1 (the default) leaves utilization out: a main thread busy all the time still keeps up as long as the shards do (measured: shedding on utilization 0.9 refused calls and REGISTERs the proxy then carried without it), so the backlog decides.' }),
    eluLow: Type.Number({ minimum: 0, maximum: 1, default: 0.7, description: 'Shedding stops once utilization is at or below this, the backlog at or below backlogLow and the UDP receive queues at or below rxQueueLowBytes (hysteresis; below eluHigh).' }),
    backlogHigh: Type.Integer({ minimum: 1, default: 10000, description: 'Shedding starts when one shard had this many messages handed to it and not yet acknowledged during a sample interval (10 to 40 us of shard work each: 10,000 is a few hundred ms of queue, before T1 retransmissions pile up; 2,000 refused REGISTER bursts the proxy carried).' }),
    backlogLow: Type.Integer({ minimum: 0, default: 2000, description: 'Shedding stops once every shard\'s backlog stayed at or below this for a sample interval (and utilization at or below eluLow; below backlogHigh).' }),
    rxQueueHighBytes: Type.Integer({ minimum: 1, default: 1000000, description: "Shedding starts when this many bytes wait in our UDP sockets' kernel receive queues (read once per sample, from each socket through the native addon, else from rx_queue in /proc/net/udp and udp6): where datagrams pile up when the main thread itself is the bottleneck and the shards look idle. The kernel counts buffer sizes, ~1,280 bytes per 500-byte REGISTER on loopback, so 1,000,000 is ~800 datagrams, ~65 ms of main-thread work at 12,000/s; with 15,000/s arriving the queue grows by ~3,000/s over the sustainSamples window and is ~190 ms (under T1/2) when shedding starts. Linux only: without the addon or /proc the signal is 0." }),
    rxQueueLowBytes: Type.Integer({ minimum: 0, default: 250000, description: 'Shedding stops once our UDP receive queues hold at most this many bytes (and the other signals are at or below their low marks; below rxQueueHighBytes).' }),
    minMessagesPerSecond: Type.Integer({ minimum: 0, default: 1000, description: 'Utilization counts only while the main thread receives at least this many SIP messages per second: a loop busy with something else (start, a reload, the admin API) is not SIP overload.' }),
    max503PerSecond: Type.Integer({ minimum: 0, default: 2000, description: 'Most 503s sent per second while shedding; new requests beyond it are dropped unanswered and counted (their senders retransmit or retry later). 0: drop them all.' }),
  },
  { additionalProperties: false, default: {}, description: 'Overload control of the whole proxy: refuse new calls early and cheaply instead of collapsing under retransmissions (the per-shard bound is shard.maxInFlight).' },
);

const PemPath = (description: string) => Type.String({ default: '', allowed: "a file path ('' for none)", description });

const TlsSchema = Type.Object(
  {
    certFile: PemPath("PEM certificate (chain) of the SIP TLS listeners; '' generates a self-signed one into selfSignedDir on first start."),
    keyFile: PemPath("PEM private key of certFile; '' with certFile ''."),
    caFile: PemPath("PEM CA bundle that verifies peers (outbound servers, and clients when requireClientCert); '' uses the system CAs. The self-signed certificate is never trusted."),
    minVersion: StringEnum(TLS_VERSIONS, { default: 'TLSv1.2', description: 'Oldest TLS version accepted, for SIP and admin HTTPS; TLS 1.3 is always offered and preferred.' }),
    verifyPeers: Type.Boolean({ default: true, description: 'Verify the certificate (chain and host name or IP) of servers we connect to over TLS.' }),
    requireClientCert: Type.Boolean({ default: false, description: 'Ask clients of the SIP TLS listeners for a certificate and refuse those caFile does not verify (mutual TLS).' }),
    selfSignedDir: Type.String({ default: './data/tls', description: 'Where the generated self-signed certificate and key are kept (relative to the working directory).' }),
  },
  { additionalProperties: false, default: {}, description: 'SIP over TLS (listeners with transport tls, sips: and transport=tls peers).' },
);

const ProxySchema = Type.Object(
  {
    recordRoute: Type.Boolean({ default: true, description: 'Insert Record-Route so in-dialog requests pass through the proxy (RFC 3261 16.6 step 4).' }),
    maxForwards: Type.Integer({ minimum: 1, maximum: 255, default: 70, description: 'Max-Forwards set on requests that arrive without one (RFC 3261 16.6 step 3).' }),
    timerCSeconds: Type.Integer({ minimum: 1, maximum: 3600, default: 181, description: 'Timer C: a proxied INVITE with no final response is cancelled after this (RFC 3261 16.6 step 11 asks for more than 3 minutes).' }),
    t1Ms: Type.Integer({ minimum: 50, maximum: 10000, default: 500, description: 'Timer T1, the RTT estimate (RFC 3261 17.1.1.1).' }),
    t2Ms: Type.Integer({ minimum: 100, maximum: 60000, default: 4000, description: 'Timer T2, the cap on non-INVITE retransmit interval.' }),
    t4Ms: Type.Integer({ minimum: 100, maximum: 60000, default: 5000, description: 'Timer T4, how long a message may stay in the network.' }),
  },
  { additionalProperties: false, default: {}, description: 'Proxy core behaviour and transaction timers.' },
);

const AuthSchema = Type.Object(
  {
    realm: Type.String({ minLength: 1, default: 'sipshard', description: 'Digest realm offered in challenges (RFC 8760 / RFC 3261 22.4).' }),
    register: Type.Boolean({ default: true, description: 'Challenge REGISTER requests.' }),
    invite: Type.Boolean({ default: true, description: 'Challenge INVITE (and other dialog-creating) requests from local users.' }),
    algorithms: Type.Array(StringEnum(DIGEST_ALGORITHMS, { description: 'Digest algorithm.' }), {
      minItems: 1,
      uniqueItems: true,
      default: ['SHA-256', 'MD5'],
      description: 'Digest algorithms offered, one challenge header each, in preference order (RFC 8760 section 2.4).',
    }),
    nonceTtlSeconds: Type.Integer({ minimum: 10, maximum: 86400, default: 300, description: 'Nonce lifetime; a stale nonce gets a fresh challenge with stale=true.' }),
  },
  { additionalProperties: false, default: {}, description: 'Digest authentication of local users.' },
);

const RegistrarSchema = Type.Object(
  {
    minExpires: Type.Integer({ minimum: 1, default: 60, description: 'Shorter registrations get 423 Interval Too Brief with Min-Expires (RFC 3261 10.3 step 7).' }),
    maxExpires: Type.Integer({ minimum: 1, default: 7200, description: 'Longer registrations are shortened to this.' }),
    defaultExpires: Type.Integer({ minimum: 1, default: 3600, description: 'Expiry granted when the REGISTER asks for none.' }),
    maxContacts: Type.Integer({ minimum: 1, maximum: 1000, default: 10, description: 'Contacts kept per address-of-record; the oldest is dropped beyond it.' }),
    storePath: Type.String({ default: './data/location.msgpack', description: "Snapshot file of the location service (relative to the working directory); changes go to a write-ahead log beside it (`<storePath>.wal`) before the REGISTER is answered, so a crash loses none. '' keeps it in memory only." }),
    fsync: StringEnum(FSYNC_POLICIES, { default: 'interval', description: "When the write-ahead log is flushed to disk (a process crash loses nothing either way; this is about power loss): 'always' before each REGISTER is answered (one fdatasync for the registrations a shard answers together), 'interval' once a second, 'never' left to the OS." }),
    statelessChallenge: Type.Boolean({ default: false, description: "The main thread answers a REGISTER without credentials (our domain, otherwise plain) with the 401 digest challenge itself, statelessly, instead of handing it to a shard: half of every registration's work no longer crosses threads. The nonce is one any shard accepts; anything unusual still goes to the shard. Needs `auth.register`." }),
  },
  { additionalProperties: false, default: {}, description: 'Registrar and location service.' },
);

// A forwarding target: a local user or dialled number (routed like a call to it), or a SIP URI.
const ForwardTarget = (description: string) => Type.String({
  pattern: '^(sips?:[^\\s]+|[A-Za-z0-9._+*#-]+)$',
  allowed: "a local username or number (quote digits: '102') or a sip:/sips: URI",
  description,
});

const UserForwardingSchema = Type.Object(
  {
    unconditional: Type.Optional(ForwardTarget('Every call goes here at once; the phones do not ring (Diversion reason unconditional).')),
    busy: Type.Optional(ForwardTarget('Where calls go when the phones answer 486 Busy Here or 600 Busy Everywhere (user-busy).')),
    noAnswer: Type.Optional(Type.Object(
      {
        target: ForwardTarget('Where calls go when nobody answers (required).'),
        seconds: Type.Integer({ minimum: 1, maximum: 600, default: 20, description: 'Seconds of ringing (from the first 180/183) before the ringing phones are CANCELed and the call forwarded (no-answer).' }),
      },
      { additionalProperties: false, description: 'Forward on no answer.' },
    )),
    unavailable: Type.Optional(ForwardTarget('Where calls go when the user has no binding, or the phones answer 408/480/503 or not at all (unavailable).')),
  },
  { additionalProperties: false, description: "This user's call forwarding; absent: none (see README, Call forwarding)." },
);

const ForwardingSchema = Type.Object(
  {
    maxHops: Type.Integer({ minimum: 1, maximum: 20, default: 5, description: 'Most forwarding hops of one call, counting Diversion entries that came with it; beyond, the caller gets 480 with a Reason header.' }),
    send181: Type.Boolean({ default: true, description: 'Send the caller 181 Call Is Being Forwarded with Call-Info: purpose=forwarding, username="<who>", contact="<target>" per hop.' }),
    followRedirects: Type.Boolean({ default: true, description: "Follow a 3xx from a called user's phone to its Contacts (highest q first) as a forwarding hop (Diversion reason deflection)." }),
    diversion: Type.Boolean({ default: true, description: 'Add a Diversion header (RFC 5806, reason and counter) per hop to the forwarded INVITE.' }),
    historyInfo: Type.Boolean({ default: false, description: 'Add History-Info (RFC 7044: index, rc/mp, Reason escaped in the URI) to INVITEs sent to local users and forwarding targets.' }),
  },
  { additionalProperties: false, default: {}, description: 'Call forwarding of local users (per-user rules are users[].forwarding).' },
);

const UserSchema = Type.Object(
  {
    username: Type.String({
      pattern: '^[A-Za-z0-9._+-]+$',
      allowed: "a string of letters, digits and . _ + - (quote numeric names: '100')",
      description: 'User part of the address-of-record and the digest username (required).',
    }),
    password: Type.String({ minLength: 1, description: 'Digest password (required).' }),
    displayName: Type.String({ default: '', description: "Display name used in From headers of calls this user places; '' for none." }),
    forwarding: Type.Optional(UserForwardingSchema),
  },
  { additionalProperties: false, description: 'A local subscriber.' },
);

const RouteSchema = Type.Object(
  {
    prefix: Type.String({
      pattern: '^[0-9+*]*$',
      allowed: "a string of digits, + and * ('' is the default route; quote it: '9')",
      description: 'Dialled-number prefix this route matches (after TEL normalisation); longest prefix wins (required).',
    }),
    destination: Type.String({
      pattern: '^$|^sips?:[^\\s]+$',
      allowed: "a sip: or sips: URI, or ''",
      default: '',
      description: "A fixed URI matching calls are sent to. Give exactly one of destination, user, line, trunks.",
    }),
    user: Type.String({ pattern: '^[A-Za-z0-9._+-]*$', allowed: 'a local username or empty', default: '', description: "A local user whose registered phones take the call (480 when none is registered)." }),
    line: Type.String({ pattern: '^[A-Za-z0-9._-]*$', allowed: 'a line name or empty', default: '', description: 'A line (lines[].name) the call goes out on, to the line\'s provider.' }),
    trunks: Type.Array(Type.String({ pattern: '^[A-Za-z0-9._-]+$', allowed: 'a trunk name', description: 'A trunk name.' }), {
      uniqueItems: true,
      default: [],
      description: 'Trunks (trunks[].name) tried in order: the next one takes the call on 408, 503, a timeout, or when one is down or full (503 when none can).',
    }),
    strip: Type.Integer({ minimum: 0, maximum: 32, default: 0, description: 'Leading digits removed from the dialled number before sending.' }),
    prepend: Type.String({ pattern: '^[0-9+]*$', allowed: 'a string of digits and +', default: '', description: 'Digits put in front of the dialled number after stripping.' }),
  },
  { additionalProperties: false, description: 'A route of the dial plan.' },
);

// `;`-separated URI parameters (RFC 3261 19.1.1 uri-parameter), e.g. `user=phone` or `user=phone;x=1`.
const RequestUriParams = (options: { default?: string; description: string }) => Type.String({
  pattern: '^$|^;?[A-Za-z0-9!~*\'()%._+-]+(=[A-Za-z0-9!~*\'()%._+\\[\\]/:&$-]*)?(;[A-Za-z0-9!~*\'()%._+-]+(=[A-Za-z0-9!~*\'()%._+\\[\\]/:&$-]*)?)*$',
  allowed: "'' or ;-separated URI parameters like user=phone",
  ...options,
});

const LineSchema = Type.Object(
  {
    name: Type.String({ pattern: '^[A-Za-z0-9._-]+$', allowed: 'a name of letters, digits and . _ -', description: 'Name of the line, used by routes and in logs (required).' }),
    registrar: Type.String({ pattern: '^sips?:[^\\s]+$', allowed: 'a sip: or sips: URI', description: "The provider's registrar, e.g. sip:sip.provider.example:5060 (required)." }),
    username: Type.String({ minLength: 1, pattern: '^[^\\s@:;<>"]+$', allowed: 'a SIP user part', description: 'Account name: user part of the line\'s address-of-record and of the From of calls placed on it (required).' }),
    authUsername: Type.String({ default: '', description: "Digest username if it differs from username; '' uses username." }),
    password: Type.String({ minLength: 1, description: 'Digest password of the account (required).' }),
    domain: Type.String({ default: '', pattern: '^$|^[A-Za-z0-9.:\\[\\]-]+$', allowed: "'' or a host name", description: "Host part of the line's address-of-record; '' uses the registrar's host." }),
    expires: Type.Integer({ minimum: 60, maximum: 86400, default: 3600, description: 'Registration lifetime asked for; the line re-registers before the granted one runs out.' }),
    transport: StringEnum(TRANSPORTS, { default: 'udp', description: 'Transport towards the provider.' }),
    outboundProxy: Type.String({ pattern: '^$|^sips?:[^\\s]+$', allowed: "'' or a sip: URI", default: '', description: "Send REGISTERs and calls through this proxy instead of the registrar's address; '' for none." }),
    register: Type.Boolean({ default: true, description: 'Keep the line registered; false for providers that take calls from a known address without registration.' }),
    requestUriParams: Type.Optional(RequestUriParams({ description: "Parameters appended to the Request-URI of REGISTER and of out-of-dialog requests on this line (never duplicated). Default: 'user=phone' when locale is Chinese (zh, zh-CN, ...), '' otherwise; an explicit '' overrides it." })),
    inboundUser: Type.String({ pattern: '^[A-Za-z0-9._+-]*$', allowed: 'a local username or empty', default: '', description: "Calls arriving on the line go to this local user; '' routes them by the called number (or inboundNumber)." }),
    inboundNumber: Type.String({ pattern: '^[0-9+*]*$', allowed: 'a string of digits, + and *', default: '', description: "Calls arriving on the line are routed through the dial plan as if this number was dialled; '' uses the called number." }),
    rel100: StringEnum(REL100_MODES, { default: 'passthrough', description: "100rel (RFC 3262) towards this peer: 'passthrough' relays reliable 1xx and PRACK untouched; 'disable' removes 100rel from Supported of INVITEs to it and answers 420 to callers that Require it; 'auto' is passthrough until the peer answers a PRACK with 405 or 501, then disable (kept across restarts; reset in the admin API)." }),
  },
  { additionalProperties: false, description: 'An account at a provider that the proxy registers.' },
);

const TrunkSchema = Type.Object(
  {
    name: Type.String({ pattern: '^[A-Za-z0-9._-]+$', allowed: 'a name of letters, digits and . _ -', description: 'Name of the trunk, used by routes and in logs (required).' }),
    addresses: Type.Array(
      Type.String({ pattern: '^(\\d{1,3}(\\.\\d{1,3}){3}(:\\d{1,5})?|[0-9A-Fa-f:]*:[0-9A-Fa-f:.]*|\\[[0-9A-Fa-f:.]+\\](:\\d{1,5})?)$', allowed: 'an IP address with an optional :port ([v6]:port)', description: 'One address of the peer.' }),
      { minItems: 1, uniqueItems: true, description: 'Addresses of the peer (required). Calls and OPTIONS go to the first; requests are accepted from any of them (an address with a port pins the source port of UDP requests).' },
    ),
    domains: Type.Array(Type.String({ format: 'host', allowed: 'a hostname or IP address', description: 'A domain of the peer.' }), {
      uniqueItems: true,
      default: [],
      description: 'Host names the peer puts in From (e.g. ims.carrier.example): a request claiming one of them, or an address of the trunk, from anywhere else gets 403.',
    }),
    transport: StringEnum(TRANSPORTS, { default: 'udp', description: 'Transport towards the trunk.' }),
    maxCalls: Type.Integer({ minimum: 0, default: 0, description: 'Concurrent calls sent to the trunk, counted across all shards; 0 for no limit. A full trunk is skipped like a down one.' }),
    requestUriParams: RequestUriParams({ default: '', description: 'Parameters appended to the Request-URI of out-of-dialog requests to this trunk (never duplicated).' }),
    rel100: StringEnum(REL100_MODES, { default: 'passthrough', description: "100rel (RFC 3262) towards this peer: 'passthrough' relays reliable 1xx and PRACK untouched; 'disable' removes 100rel from Supported of INVITEs to it and answers 420 to callers that Require it; 'auto' is passthrough until the peer answers a PRACK with 405 or 501, then disable (kept across restarts; reset in the admin API)." }),
    keepAlive: Type.Object(
      {
        intervalSeconds: Type.Integer({ minimum: 0, maximum: 3600, default: 0, description: 'Send OPTIONS every this many seconds; 0 disables the keep-alive (the trunk is then always up).' }),
        failuresBeforeDown: Type.Integer({ minimum: 1, maximum: 100, default: 3, description: 'Consecutive unanswered OPTIONS before the trunk is marked down; one answer brings it back up.' }),
      },
      { additionalProperties: false, default: {}, description: 'OPTIONS keep-alive: any response means up.' },
    ),
  },
  { additionalProperties: false, description: 'A server-to-server peer, identified by its addresses.' },
);

const AdminSchema = Type.Object(
  {
    enabled: Type.Boolean({ default: true, description: 'Serve the admin HTTP API, metrics and web page.' }),
    address: IpAddress('127.0.0.1', 'Address the admin API binds; keep it on loopback unless it serves HTTPS.'),
    port: Port(8080, 'Port of the admin API.'),
    token: Type.String({ default: '', description: "Bearer token required on everything but health and the page shell; '' uses the one in tokenFile (generated on first start)." }),
    tokenFile: Type.String({ default: './data/admin.token', description: "File holding the generated token when token is ''; created with mode 0600." }),
    certFile: PemPath("PEM certificate of the admin server; set it (and keyFile) to serve HTTPS, '' serves plain HTTP."),
    keyFile: PemPath('PEM private key of certFile.'),
  },
  { additionalProperties: false, default: {}, description: 'Admin HTTP(S) API, Prometheus metrics and web page.' },
);

export const ConfigSchema = Type.Object(
  {
    locale: Type.String({
      pattern: '^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$',
      allowed: 'a language tag like en, zh or zh-CN',
      default: 'en',
      description: 'Language/region used for locale-dependent defaults (e.g. of lines).',
    }),
    domains: Type.Array(
      Type.String({ format: 'host', allowed: 'a hostname or IP address', description: 'A domain or IP address.' }),
      {
        minItems: 1,
        uniqueItems: true,
        default: ['127.0.0.1', 'localhost'],
        description: 'Domains (hosts of Request-URIs) we are registrar and proxy for; other domains are proxied onward.',
      },
    ),
    workers: Type.Union([Type.Literal('auto'), Type.Integer({ minimum: 0, maximum: MAX_WORKERS })], {
      default: 'auto',
      description: `Worker threads (shards); 'auto' is the number of CPUs less one (the main thread owns the sockets and needs a core of its own; so 0 on one CPU), capped at ${MAX_WORKERS}. 0: no worker thread, the one shard runs on the main thread: no thread hand-over per message, the least CPU per call on a machine of 1-2 CPUs, but one CPU for everything (README, Performance). A reload may change it while calls flow (resharding), except to or from 0 (restart).`,
    }),
    log: Type.Object(
      { level: StringEnum(LOG_LEVELS, { default: 'info', description: 'Minimum level written (JSON lines to stdout).' }) },
      { additionalProperties: false, default: {}, description: 'Logging.' },
    ),
    listen: Type.Array(ListenSchema, {
      minItems: 1,
      default: [
        { transport: 'udp', address: '127.0.0.1', port: 5060 },
        { transport: 'tcp', address: '127.0.0.1', port: 5060 },
        { transport: 'tls', address: '127.0.0.1', port: 5061 },
      ],
      description: 'Sockets the proxy listens on.',
    }),
    transport: TransportSchema,
    tls: TlsSchema,
    shard: ShardSchema,
    overload: OverloadSchema,
    security: SecuritySchema,
    proxy: ProxySchema,
    auth: AuthSchema,
    registrar: RegistrarSchema,
    forwarding: ForwardingSchema,
    users: Type.Array(UserSchema, { default: [], description: 'Local subscribers (usernames must be unique).' }),
    lines: Type.Array(LineSchema, { default: [], description: 'Accounts at providers (names must be unique across lines and trunks).' }),
    trunks: Type.Array(TrunkSchema, { default: [], description: 'Server-to-server peers (names must be unique across lines and trunks).' }),
    routes: Type.Array(RouteSchema, { default: [], description: 'Dial plan (prefixes must be unique).' }),
    admin: AdminSchema,
  },
  { additionalProperties: false, description: 'sipshard configuration.' },
);

/** The validated, fully defaulted config (deep-frozen when it comes from load-config). */
export type Config = Static<typeof ConfigSchema>;
export type ListenConfig = Config['listen'][number];
export type UserConfig = Config['users'][number];
export type RouteConfig = Config['routes'][number];
export type LineConfig = Config['lines'][number];
export type TrunkConfig = Config['trunks'][number];
export type LogLevel = Config['log']['level'];
export type TlsConfig = Config['tls'];

/** Schema nodes are plain JSON-schema objects; this is how reference.ts and load-config.ts walk them. */
export type SchemaNode = TSchema & {
  type?: string;
  enum?: readonly unknown[];
  const?: unknown;
  anyOf?: SchemaNode[];
  properties?: Record<string, SchemaNode>;
  required?: string[];
  items?: SchemaNode;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  minLength?: number;
  uniqueItems?: boolean;
  allowed?: string;
  default?: unknown;
  description?: string;
};
