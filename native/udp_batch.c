// sendmmsg(2) for a packed run of SIP messages (lib/shard/sip-frames.ts layout, repeated:
// [u16 target index][u32 length][bytes], little-endian): one system call for up to BATCH
// datagrams, where Node's dgram makes a JS -> C++ -> libuv -> sendmsg trip per datagram.
// Linux only. Non-blocking: a full socket send buffer stops the run (EAGAIN) and the caller sends
// the rest through Node, which queues them until the socket is writable again.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <node_api.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

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

static int32_t int_arg(napi_env env, napi_value v, int32_t fallback) {
  int32_t out;
  return napi_get_value_int32(env, v, &out) == napi_ok ? out : fallback;
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
  size_t argc = 7;
  napi_value argv[7];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 7) { napi_throw_error(env, "SIP_ERR_NATIVE_UDP", "udp_batch: 7 arguments"); return NULL; }
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

NAPI_MODULE_INIT() {
  napi_value fn;
  if (napi_create_function(env, "sendPacked", NAPI_AUTO_LENGTH, SendPacked, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "sendPacked", fn) != napi_ok) return NULL;
  return exports;
}
