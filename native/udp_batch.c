// sendmmsg(2) for a packed run of SIP messages (lib/shard/sip-frames.ts layout, repeated:
// [u16 target index][u32 length][bytes], little-endian): one system call for up to BATCH
// datagrams, where Node's dgram makes a JS -> C++ -> libuv -> sendmsg trip per datagram.
// Linux only. Non-blocking: a full socket send buffer stops the run (EAGAIN) and the caller sends
// the rest through Node, which queues them until the socket is writable again.
//
// recvmmsg(2) for a listening socket (recvStart/recvStop): up to RECV_BATCH datagrams per system
// call, handed to JS in one call with one ArrayBuffer, where dgram makes a Buffer, a rinfo object
// with an address string and a JS call per datagram. The socket stays Node's (bound, closed and
// written to by dgram, whose reading is stopped); the addon polls a dup() of its descriptor, so
// libuv sees two descriptors and no two watchers share one.
//
// socketQueue: a socket's receive queue in bytes and its drop count (getsockopt SO_MEMINFO), for
// overload control's sample, in place of reading /proc/net/udp: that file lists every UDP socket
// of the host, and a media relay beside us holding 10,000 made one read cost ~96 ms of CPU.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <node_api.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#define BATCH 64
#define HEADER 6
#define MAX_TARGETS 0xffff
#define ADDR_TEXT 64

typedef struct {
  struct sockaddr_storage sa;
  socklen_t len;
  int fd; /* -1: not ours to send (port -1: the caller's); -2: an address no socket here can reach */
} target_t;

#define CHECK(call)                                                            \
  do {                                                                         \
    if ((call) != napi_ok) {                                                   \
      napi_throw_error(env, "SIP_ERR_NATIVE_UDP", "udp_batch: bad arguments"); \
      return NULL;                                                             \
    }                                                                          \
  } while (0)

/* The call's first n arguments into argv; false, with a JS error thrown, when fewer came. */
static int get_args(napi_env env, napi_callback_info info, size_t n, napi_value *argv, const char *usage) {
  size_t argc = n;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < n) {
    napi_throw_error(env, "SIP_ERR_NATIVE_UDP", usage);
    return 0;
  }
  return 1;
}

static int32_t int_arg(napi_env env, napi_value v, int32_t fallback) {
  int32_t out;
  return napi_get_value_int32(env, v, &out) == napi_ok ? out : fallback;
}

/*
 * Calls of the form f(fd, typedArray, ...): the first n arguments into argv, the descriptor into
 * *fd (-1 if not an integer) and the array's data; NULL, with a JS error thrown, when there are
 * fewer arguments or the array is not a `want` of at least min_len elements.
 */
static void *fd_and_array(napi_env env, napi_callback_info info, size_t n, napi_value *argv, const char *usage,
                          napi_typedarray_type want, size_t min_len, int *fd) {
  if (!get_args(env, info, n, argv, usage)) return NULL;
  *fd = int_arg(env, argv[0], -1);
  napi_typedarray_type type;
  size_t len = 0;
  void *data = NULL;
  if (napi_get_typedarray_info(env, argv[1], &type, &len, &data, NULL, NULL) != napi_ok || type != want || len < min_len || data == NULL) {
    napi_throw_error(env, "SIP_ERR_NATIVE_UDP", usage);
    return NULL;
  }
  return data;
}

/* The target's address into t (fd chosen by family); t->fd = -1 when it cannot be sent here. */
static void resolve(napi_env env, napi_value addr, int32_t port, int fd4, int fd6, target_t *t) {
  char text[ADDR_TEXT];
  size_t n = 0;
  t->fd = -1;
  if (port < 0) return;
  t->fd = -2;
  if (port > 65535) return;
  if (napi_get_value_string_latin1(env, addr, text, sizeof text, &n) != napi_ok || n == 0 || n >= sizeof text - 1) return;
  memset(&t->sa, 0, sizeof t->sa);
  struct sockaddr_in *in4 = (struct sockaddr_in *)&t->sa;
  struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&t->sa;
  if (fd4 >= 0 && inet_pton(AF_INET, text, &in4->sin_addr) == 1) {
    in4->sin_family = AF_INET;
    in4->sin_port = htons((uint16_t)port);
    t->len = sizeof *in4;
    t->fd = fd4;
  } else if (fd6 >= 0 && inet_pton(AF_INET6, text, &in6->sin6_addr) == 1) {
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons((uint16_t)port);
    t->len = sizeof *in6;
    t->fd = fd6;
  }
}

/*
 * sendPacked(fd4, fd6, packed: ArrayBuffer, addresses: string[], ports: number[] (-1: skip the
 * target: the caller sends its frames), maxBytes, result: Int32Array(4)) -> undefined
 * result: [byte offset where sending stopped (byteLength when the run is done), datagrams sent,
 *          datagrams failed, errno of the last failure]. Frames of skipped targets are left for
 *          the caller; a stop before byteLength means the socket's send buffer was full.
 */
static napi_value SendPacked(napi_env env, napi_callback_info info) {
  napi_value argv[7];
  if (!get_args(env, info, 7, argv, "udp_batch: sendPacked takes 7 arguments")) return NULL;
  int fd4 = int_arg(env, argv[0], -1);
  int fd6 = int_arg(env, argv[1], -1);
  void *data = NULL;
  size_t size = 0;
  CHECK(napi_get_arraybuffer_info(env, argv[2], &data, &size));
  uint32_t ntargets = 0;
  CHECK(napi_get_array_length(env, argv[3], &ntargets));
  int32_t max_bytes = int_arg(env, argv[5], 65535);
  napi_typedarray_type rtype;
  size_t rlen = 0;
  void *rdata = NULL;
  CHECK(napi_get_typedarray_info(env, argv[6], &rtype, &rlen, &rdata, NULL, NULL));
  if (rtype != napi_int32_array || rlen < 4 || ntargets > MAX_TARGETS) { napi_throw_error(env, "SIP_ERR_NATIVE_UDP", "udp_batch: bad result array or targets"); return NULL; }
  int32_t *result = (int32_t *)rdata;

  target_t *targets = calloc(ntargets == 0 ? 1 : ntargets, sizeof *targets);
  if (targets == NULL) { napi_throw_error(env, "SIP_ERR_NATIVE_UDP", "udp_batch: out of memory"); return NULL; }
  for (uint32_t i = 0; i < ntargets; i++) {
    napi_value a, p;
    targets[i].fd = -1;
    if (napi_get_element(env, argv[3], i, &a) != napi_ok || napi_get_element(env, argv[4], i, &p) != napi_ok) continue;
    resolve(env, a, int_arg(env, p, -1), fd4, fd6, &targets[i]);
  }

  const uint8_t *buf = (const uint8_t *)data;
  struct mmsghdr msgs[BATCH];
  struct iovec iov[BATCH];
  size_t starts[BATCH]; /* frame offsets, to report where a full buffer stopped us */
  int32_t sent = 0, failed = 0, last_errno = 0;
  size_t pos = 0;
  size_t stopped = size;
  int full = 0;
  while (pos + HEADER <= size && !full) {
    /* up to BATCH consecutive frames for one socket; skipped targets' frames are passed over */
    int n = 0;
    int fd = -1;
    size_t scan = pos;
    while (scan + HEADER <= size && n < BATCH) {
      uint32_t idx = (uint32_t)buf[scan] | ((uint32_t)buf[scan + 1] << 8);
      uint32_t len = (uint32_t)buf[scan + 2] | ((uint32_t)buf[scan + 3] << 8) | ((uint32_t)buf[scan + 4] << 16) | ((uint32_t)buf[scan + 5] << 24);
      size_t next = scan + HEADER + (size_t)len;
      if (next > size) { scan = size; break; } /* truncated: cannot come from SipRunWriter */
      target_t *t = idx < ntargets ? &targets[idx] : NULL;
      if (t == NULL || t->fd == -1) { scan = next; continue; }
      if (t->fd == -2) { failed++; last_errno = EAFNOSUPPORT; scan = next; continue; }
      if (n > 0 && t->fd != fd) break;
      if ((int64_t)len > (int64_t)max_bytes) { failed++; last_errno = EMSGSIZE; scan = next; continue; }
      fd = t->fd;
      iov[n].iov_base = (void *)(buf + scan + HEADER);
      iov[n].iov_len = len;
      memset(&msgs[n], 0, sizeof msgs[n]);
      msgs[n].msg_hdr.msg_name = &t->sa;
      msgs[n].msg_hdr.msg_namelen = t->len;
      msgs[n].msg_hdr.msg_iov = &iov[n];
      msgs[n].msg_hdr.msg_iovlen = 1;
      starts[n] = scan;
      n++;
      scan = next;
    }
    int done = 0;
    while (done < n) {
      int r = sendmmsg(fd, msgs + done, (unsigned)(n - done), MSG_DONTWAIT);
      if (r > 0) { sent += r; done += r; continue; }
      if (r < 0 && errno == EINTR) continue;
      if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)) { full = 1; stopped = starts[done]; break; }
      /* this datagram cannot go (EPERM by a firewall, ENETUNREACH...): count it, go on */
      failed++;
      last_errno = r < 0 ? errno : EIO;
      done++;
    }
    pos = scan;
  }
  free(targets);
  result[0] = (int32_t)(full ? stopped : size);
  result[1] = sent;
  result[2] = failed;
  result[3] = last_errno;
  return NULL;
}

/* ---- receive ------------------------------------------------------------------------------ */

#define RECV_BATCH 64
#define RECV_MAX 65536 /* the largest UDP payload fits */
#define META 9         /* per datagram: offset, length, family, port, address (4 x 32 bits), scope id */

typedef struct {
  uv_poll_t poll;
  int fd; /* the dup()'d descriptor this poll watches */
  napi_env env;
  napi_ref callback;
  napi_ref meta_ref; /* the caller's Int32Array(RECV_BATCH * META), written in place */
  int32_t *meta;
  napi_ref on_closed;
  napi_async_context async;
  uint8_t *scratch; /* RECV_BATCH x RECV_MAX */
  struct mmsghdr msgs[RECV_BATCH];
  struct iovec iov[RECV_BATCH];
  struct sockaddr_storage from[RECV_BATCH];
  int stopping;
} receiver_t;

static void put_address(int32_t *m, const struct sockaddr_storage *sa) {
  memset(m + 2, 0, 7 * sizeof *m);
  if (sa->ss_family == AF_INET) {
    const struct sockaddr_in *a = (const struct sockaddr_in *)sa;
    m[2] = 4;
    m[3] = ntohs(a->sin_port);
    memcpy(&m[4], &a->sin_addr, 4); /* network order, as the bytes of the address */
  } else if (sa->ss_family == AF_INET6) {
    const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)sa;
    m[2] = 6;
    m[3] = ntohs(a->sin6_port);
    memcpy(&m[4], &a->sin6_addr, 16);
    m[8] = (int32_t)a->sin6_scope_id;
  }
}

static void on_poll_closed(uv_handle_t *h);

static void on_readable(uv_poll_t *handle, int status, int events) {
  receiver_t *r = (receiver_t *)handle->data;
  if (r->stopping || status < 0) return;
  for (int i = 0; i < RECV_BATCH; i++) {
    r->iov[i].iov_base = r->scratch + (size_t)i * RECV_MAX;
    r->iov[i].iov_len = RECV_MAX;
    memset(&r->msgs[i].msg_hdr, 0, sizeof r->msgs[i].msg_hdr);
    r->msgs[i].msg_hdr.msg_iov = &r->iov[i];
    r->msgs[i].msg_hdr.msg_iovlen = 1;
    r->msgs[i].msg_hdr.msg_name = &r->from[i];
    r->msgs[i].msg_hdr.msg_namelen = sizeof r->from[i];
  }
  int n;
  do n = recvmmsg(r->fd, r->msgs, RECV_BATCH, MSG_DONTWAIT, NULL);
  while (n < 0 && errno == EINTR);
  if (n <= 0) return; /* EAGAIN (another reader was first), or an error the next event retries */
  size_t total = 0;
  for (int i = 0; i < n; i++) total += r->msgs[i].msg_len;
  napi_env env = r->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  void *data = NULL;
  napi_value ab, cb, recv, argv[2], ignored;
  if (napi_create_arraybuffer(env, total == 0 ? 1 : total, &data, &ab) == napi_ok) {
    size_t at = 0;
    for (int i = 0; i < n; i++) {
      uint32_t len = r->msgs[i].msg_len;
      int32_t *m = r->meta + (size_t)i * META;
      memcpy((uint8_t *)data + at, r->iov[i].iov_base, len);
      m[0] = (int32_t)at;
      m[1] = (r->msgs[i].msg_hdr.msg_flags & MSG_TRUNC) ? -1 : (int32_t)len; /* -1: truncated */
      put_address(m, &r->from[i]);
      at += len;
    }
    napi_create_int32(env, n, &argv[1]);
    argv[0] = ab;
    if (napi_get_reference_value(env, r->callback, &cb) == napi_ok && napi_get_global(env, &recv) == napi_ok) {
      /* like a dgram 'message' event: an exception goes to the process's uncaught handling */
      if (napi_make_callback(env, r->async, recv, cb, 2, argv, &ignored) == napi_pending_exception) {
        napi_value err;
        if (napi_get_and_clear_last_exception(env, &err) == napi_ok) napi_fatal_exception(env, err);
      }
    }
  }
  napi_close_handle_scope(env, scope);
}

/* recvStart(fd, meta: Int32Array(RECV_BATCH * META), callback(buffer, count)) -> handle */
static napi_value RecvStart(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  int fd = -1;
  void *mdata = fd_and_array(env, info, 3, argv, "udp_batch: recvStart(fd, meta: Int32Array(RECV_BATCH * META), callback)", napi_int32_array, (size_t)RECV_BATCH * META, &fd);
  if (mdata == NULL) return NULL;
  if (fd < 0) { napi_throw_error(env, "SIP_ERR_NATIVE_UDP", "udp_batch: recvStart: bad descriptor"); return NULL; }
  uv_loop_t *loop = NULL;
  CHECK(napi_get_uv_event_loop(env, &loop));
  receiver_t *r = calloc(1, sizeof *r);
  uint8_t *scratch = malloc((size_t)RECV_BATCH * RECV_MAX);
  int dfd = dup(fd);
  if (r == NULL || scratch == NULL || dfd < 0) {
    free(r); free(scratch); if (dfd >= 0) close(dfd);
    napi_throw_error(env, "SIP_ERR_NATIVE_UDP", "udp_batch: recvStart could not set up (memory or dup)");
    return NULL;
  }
  r->fd = dfd;
  r->env = env;
  r->scratch = scratch;
  r->meta = (int32_t *)mdata;
  napi_value name;
  CHECK(napi_create_reference(env, argv[2], 1, &r->callback));
  CHECK(napi_create_reference(env, argv[1], 1, &r->meta_ref));
  CHECK(napi_create_string_utf8(env, "sipshard:udp-recv", NAPI_AUTO_LENGTH, &name));
  CHECK(napi_async_init(env, NULL, name, &r->async));
  r->poll.data = r; /* uv_poll_init leaves data alone */
  if (uv_poll_init(loop, &r->poll, dfd) != 0) {
    close(dfd);
    napi_delete_reference(env, r->callback);
    napi_delete_reference(env, r->meta_ref);
    napi_async_destroy(env, r->async);
    free(r->scratch);
    free(r);
    napi_throw_error(env, "SIP_ERR_NATIVE_UDP", "udp_batch: could not poll the socket");
    return NULL;
  }
  if (uv_poll_start(&r->poll, UV_READABLE, on_readable) != 0) {
    r->stopping = 1;
    uv_close((uv_handle_t *)&r->poll, on_poll_closed);
    napi_throw_error(env, "SIP_ERR_NATIVE_UDP", "udp_batch: could not poll the socket");
    return NULL;
  }
  napi_value handle;
  CHECK(napi_create_external(env, r, NULL, NULL, &handle));
  return handle;
}

static void on_poll_closed(uv_handle_t *h) {
  receiver_t *r = (receiver_t *)h->data;
  napi_env env = r->env;
  close(r->fd);
  free(r->scratch);
  napi_handle_scope scope;
  napi_value done, recv, ignored;
  int have = napi_open_handle_scope(env, &scope) == napi_ok;
  if (have && r->on_closed != NULL && napi_get_reference_value(env, r->on_closed, &done) == napi_ok && done != NULL
      && napi_get_global(env, &recv) == napi_ok) napi_make_callback(env, r->async, recv, done, 0, NULL, &ignored);
  if (r->on_closed != NULL) napi_delete_reference(env, r->on_closed);
  napi_delete_reference(env, r->callback);
  napi_delete_reference(env, r->meta_ref);
  napi_async_destroy(env, r->async);
  if (have) napi_close_handle_scope(env, scope);
  free(r);
}

/* recvStop(handle, onClosed()) : stops reading; onClosed runs once the duplicate descriptor is closed */
static napi_value RecvStop(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!get_args(env, info, 2, argv, "udp_batch: recvStop(handle, onClosed)")) return NULL;
  receiver_t *r = NULL;
  if (napi_get_value_external(env, argv[0], (void **)&r) != napi_ok || r == NULL) { napi_throw_error(env, "SIP_ERR_NATIVE_UDP", "udp_batch: recvStop(handle, onClosed)"); return NULL; }
  if (r->stopping) return NULL;
  r->stopping = 1;
  napi_create_reference(env, argv[1], 1, &r->on_closed);
  uv_poll_stop(&r->poll);
  uv_close((uv_handle_t *)&r->poll, on_poll_closed);
  return NULL;
}

/* socketQueue(fd, out: Float64Array(2)) -> true with out = [bytes queued to read, datagrams dropped], false if it cannot tell */
static napi_value SocketQueue(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int fd = -1;
  void *data = fd_and_array(env, info, 2, argv, "udp_batch: socketQueue(fd, out: Float64Array(2))", napi_float64_array, 2, &fd);
  if (data == NULL) return NULL;
  uint32_t mem[SK_MEMINFO_VARS];
  socklen_t size = sizeof mem;
  int ok = fd >= 0 && getsockopt(fd, SOL_SOCKET, SO_MEMINFO, mem, &size) == 0 && size > SK_MEMINFO_DROPS * sizeof mem[0];
  if (ok) {
    ((double *)data)[0] = mem[SK_MEMINFO_RMEM_ALLOC];
    ((double *)data)[1] = mem[SK_MEMINFO_DROPS];
  }
  napi_value result;
  CHECK(napi_get_boolean(env, ok, &result));
  return result;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  if (napi_create_function(env, "sendPacked", NAPI_AUTO_LENGTH, SendPacked, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "sendPacked", fn) != napi_ok) return NULL;
  if (napi_create_function(env, "recvStart", NAPI_AUTO_LENGTH, RecvStart, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "recvStart", fn) != napi_ok) return NULL;
  if (napi_create_function(env, "recvStop", NAPI_AUTO_LENGTH, RecvStop, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "recvStop", fn) != napi_ok) return NULL;
  if (napi_create_function(env, "socketQueue", NAPI_AUTO_LENGTH, SocketQueue, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "socketQueue", fn) != napi_ok) return NULL;
  return exports;
}
