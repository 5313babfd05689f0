/* The C server of bench/floor.ts: a blocking UDP loop, one recvfrom and one sendmsg per datagram,
 * as each UDP process of a C SIP server reads and answers (Kamailio's children). Each datagram
 * goes back with its first line replaced by "SIP/2.0 200 OK" and nothing else done.
 * Usage: echo <port>. Built by the bench with the system's cc; stopped with SIGTERM. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

static const char STATUS[] = "SIP/2.0 200 OK";

int main(int argc, char **argv) {
  if (argc < 2) { fprintf(stderr, "usage: echo <port>\n"); return 2; }
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  int rcvbuf = 4 * 1024 * 1024; /* as the bench gives Kamailio and our proxy */
  setsockopt(s, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_port = htons((unsigned short)atoi(argv[1]));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(s, (struct sockaddr *)&a, sizeof a) != 0) { perror("bind"); return 1; }
  static char buf[65536];
  for (;;) {
    struct sockaddr_in from;
    socklen_t fl = sizeof from;
    ssize_t n = recvfrom(s, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
    if (n <= 0) continue;
    char *eol = memchr(buf, '\r', (size_t)n);
    if (eol == NULL) continue;
    struct iovec iov[2] = { { (void *)STATUS, sizeof STATUS - 1 }, { eol, (size_t)(buf + n - eol) } };
    struct msghdr m = { .msg_name = &from, .msg_namelen = fl, .msg_iov = iov, .msg_iovlen = 2 };
    sendmsg(s, &m, 0);
  }
}
