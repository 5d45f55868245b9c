/* SPDX-License-Identifier: ISC */
/*
 * xfer: test traffic for the network-namespace tests.
 *   xfer recv PORT              accept one TCP connection, read to EOF, print "BYTES HASH"
 *   xfer send HOST PORT MB      send MB MiB of a fixed pseudo-random stream, print "BYTES HASH"
 *   xfer spray HOST PORT COUNT  send COUNT hostile UDP datagrams (garbage, truncated and
 *                               oversized WireGuard-looking messages)
 * HASH is BLAKE2s-256 of the stream, so sender and receiver can be compared.
 * HOST may be IPv4 or IPv6. Exits non-zero on any error.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <blake2.h>

#define CHUNK (1 << 16)

static void hexhash(blake2s_state *st, unsigned long long bytes)
{
	uint8_t h[32];

	blake2s_final(st, h, sizeof(h));
	printf("%llu ", bytes);
	for (size_t i = 0; i < sizeof(h); i++)
		printf("%02x", h[i]);
	printf("\n");
}

static int resolve(const char *host, const char *port, int type, struct addrinfo **res)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = type,
				  .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV };
	int r = getaddrinfo(host, port, &hints, res);

	if (r != 0)
		fprintf(stderr, "xfer: %s:%s: %s\n", host, port, gai_strerror(r));
	return r == 0 ? 0 : -1;
}

static int do_recv(const char *port)
{
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6, .sin6_port = htons((uint16_t)atoi(port)) };
	int s, c, one = 1, zero = 0;
	unsigned long long total = 0;
	uint8_t *buf = malloc(CHUNK);
	blake2s_state st;

	s = socket(AF_INET6, SOCK_STREAM, 0);
	if (s < 0 || buf == NULL)
		return perror("socket"), 1;
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(s, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(s, 1) < 0)
		return perror("bind/listen"), 1;
	/* Tell the test we are listening (it waits for this line). */
	fprintf(stderr, "listening\n");
	c = accept(s, NULL, NULL);
	if (c < 0)
		return perror("accept"), 1;
	blake2s_init(&st, 32);
	for (;;) {
		ssize_t n = read(c, buf, CHUNK);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return perror("read"), 1;
		}
		if (n == 0)
			break;
		blake2s_update(&st, buf, (size_t)n);
		total += (unsigned long long)n;
	}
	hexhash(&st, total);
	close(c);
	close(s);
	free(buf);
	return 0;
}

static void fill(uint8_t *p, size_t n, uint64_t *x)
{
	for (size_t i = 0; i + 8 <= n; i += 8) {
		*x ^= *x << 13;
		*x ^= *x >> 7;
		*x ^= *x << 17;
		memcpy(p + i, x, 8);
	}
}

static int do_send(const char *host, const char *port, const char *mb)
{
	struct addrinfo *ai;
	unsigned long long total = strtoull(mb, NULL, 10) << 20, sent = 0;
	uint8_t *buf = malloc(CHUNK);
	uint64_t x = 0x9e3779b97f4a7c15ULL;
	blake2s_state st;
	int s;

	if (buf == NULL || resolve(host, port, SOCK_STREAM, &ai) < 0)
		return 1;
	s = socket(ai->ai_family, SOCK_STREAM, 0);
	if (s < 0 || connect(s, ai->ai_addr, ai->ai_addrlen) < 0)
		return perror("connect"), 1;
	freeaddrinfo(ai);
	blake2s_init(&st, 32);
	while (sent < total) {
		size_t n = total - sent < CHUNK ? (size_t)(total - sent) : CHUNK, off = 0;
		fill(buf, CHUNK, &x);
		blake2s_update(&st, buf, n);
		while (off < n) {
			ssize_t w = write(s, buf + off, n - off);
			if (w < 0) {
				if (errno == EINTR)
					continue;
				return perror("write"), 1;
			}
			off += (size_t)w;
		}
		sent += n;
	}
	shutdown(s, SHUT_WR);
	/* Wait for the receiver to close: everything arrived. */
	while (read(s, buf, CHUNK) > 0)
		;
	close(s);
	hexhash(&st, sent);
	free(buf);
	return 0;
}

static int do_spray(const char *host, const char *port, const char *count)
{
	struct addrinfo *ai;
	unsigned long n = strtoul(count, NULL, 10);
	uint8_t pkt[2000];
	uint64_t x = 0x1234567887654321ULL;
	int s;

	if (resolve(host, port, SOCK_DGRAM, &ai) < 0)
		return 1;
	s = socket(ai->ai_family, SOCK_DGRAM, 0);
	if (s < 0)
		return perror("socket"), 1;
	for (unsigned long i = 0; i < n; i++) {
		static const size_t sizes[] = { 0, 1, 3, 4, 31, 32, 33, 64, 91, 92, 93, 147,
						148, 149, 1500, 1999 };
		size_t len = sizes[i % (sizeof(sizes) / sizeof(sizes[0]))];
		fill(pkt, sizeof(pkt), &x);
		if (len >= 4 && i % 3 != 0) {
			/* Looks like WireGuard: a valid type with zero reserved bytes. */
			pkt[0] = (uint8_t)(1 + i % 4);
			pkt[1] = pkt[2] = pkt[3] = 0;
		}
		if (sendto(s, pkt, len, 0, ai->ai_addr, ai->ai_addrlen) < 0 && errno != ECONNREFUSED)
			return perror("sendto"), 1;
	}
	freeaddrinfo(ai);
	close(s);
	printf("%lu sent\n", n);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 3 && strcmp(argv[1], "recv") == 0)
		return do_recv(argv[2]);
	if (argc == 5 && strcmp(argv[1], "send") == 0)
		return do_send(argv[2], argv[3], argv[4]);
	if (argc == 5 && strcmp(argv[1], "spray") == 0)
		return do_spray(argv[2], argv[3], argv[4]);
	fprintf(stderr, "usage: xfer recv PORT | send HOST PORT MB | spray HOST PORT COUNT\n");
	return 2;
}
