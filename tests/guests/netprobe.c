// netprobe: tries the network through WASI 0.2 sockets and prints what each
// attempt got. With no arguments it tries sockets and lookups; with
// `connect ADDR PORT`, `bind PORT` or `resolve NAME`, just that; with
// `serve PORT`, it listens on 0.0.0.0:PORT and answers every connection with
// a line. Built as a component (examples/build.sh); the imports below
// are the canonical ABI of the interfaces in netprobe.wit.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IMPORT(module, name) \
    __attribute__((import_module(module "@0.2.12"), import_name(name)))

IMPORT("wasi:sockets/instance-network", "instance-network")
extern int32_t instance_network(void);
IMPORT("wasi:sockets/tcp-create-socket", "create-tcp-socket")
extern void create_tcp_socket(int32_t family, void *ret);
IMPORT("wasi:sockets/udp-create-socket", "create-udp-socket")
extern void create_udp_socket(int32_t family, void *ret);
IMPORT("wasi:sockets/ip-name-lookup", "resolve-addresses")
extern void resolve_addresses(int32_t network, const char *name, size_t len, void *ret);
IMPORT("wasi:sockets/ip-name-lookup", "[method]resolve-address-stream.resolve-next-address")
extern void resolve_next_address(int32_t stream, void *ret);
IMPORT("wasi:sockets/ip-name-lookup", "[method]resolve-address-stream.subscribe")
extern int32_t resolve_subscribe(int32_t stream);
IMPORT("wasi:sockets/tcp", "[method]tcp-socket.start-connect")
extern void start_connect(int32_t socket, int32_t network, int32_t family, int32_t a0, int32_t a1,
                          int32_t a2, int32_t a3, int32_t a4, int32_t a5, int32_t a6, int32_t a7,
                          int32_t a8, int32_t a9, int32_t a10, void *ret);
IMPORT("wasi:sockets/tcp", "[method]tcp-socket.finish-connect")
extern void finish_connect(int32_t socket, void *ret);
IMPORT("wasi:sockets/tcp", "[method]tcp-socket.start-bind")
extern void start_bind(int32_t socket, int32_t network, int32_t family, int32_t a0, int32_t a1,
                       int32_t a2, int32_t a3, int32_t a4, int32_t a5, int32_t a6, int32_t a7,
                       int32_t a8, int32_t a9, int32_t a10, void *ret);
IMPORT("wasi:sockets/tcp", "[method]tcp-socket.finish-bind")
extern void finish_bind(int32_t socket, void *ret);
IMPORT("wasi:sockets/tcp", "[method]tcp-socket.start-listen")
extern void start_listen(int32_t socket, void *ret);
IMPORT("wasi:sockets/tcp", "[method]tcp-socket.finish-listen")
extern void finish_listen(int32_t socket, void *ret);
IMPORT("wasi:sockets/tcp", "[method]tcp-socket.accept")
extern void tcp_accept(int32_t socket, void *ret);
IMPORT("wasi:sockets/tcp", "[resource-drop]tcp-socket")
extern void drop_tcp_socket(int32_t socket);
IMPORT("wasi:io/streams", "[method]output-stream.blocking-write-and-flush")
extern void blocking_write_and_flush(int32_t stream, const void *data, size_t len, void *ret);
IMPORT("wasi:io/streams", "[resource-drop]output-stream")
extern void drop_output_stream(int32_t stream);
IMPORT("wasi:io/streams", "[resource-drop]input-stream")
extern void drop_input_stream(int32_t stream);
IMPORT("wasi:sockets/tcp", "[method]tcp-socket.subscribe")
extern int32_t tcp_subscribe(int32_t socket);
IMPORT("wasi:io/poll", "[method]pollable.block")
extern void pollable_block(int32_t pollable);

// wasi:sockets/network error-code, in its WIT order.
static const char *error_names[] = {
    "unknown", "access-denied", "not-supported", "invalid-argument", "out-of-memory",
    "timeout", "concurrency-conflict", "not-in-progress", "would-block", "invalid-state",
    "new-socket-limit", "address-not-bindable", "address-in-use", "remote-unreachable",
    "connection-refused", "connection-reset", "connection-aborted", "datagram-too-large",
    "name-unresolvable", "temporary-resolver-failure", "permanent-resolver-failure",
};
enum { ERROR_WOULD_BLOCK = 8, IPV4 = 0, IPV6 = 1 };

static int allowed;

// result<own<T>, error-code>: tag at 0, payload at 4.
static void report_socket(const char *what, const uint8_t *ret) {
    if (ret[0] == 0) {
        allowed++;
        printf("%s: ALLOWED\n", what);
    } else {
        printf("%s: denied (%s)\n", what, error_names[ret[4]]);
    }
}

static void lookup(int32_t network, const char *name) {
    _Alignas(8) uint8_t ret[32];
    char what[128];
    snprintf(what, sizeof what, "resolve %s", name);
    resolve_addresses(network, name, strlen(name), ret);
    if (ret[0] != 0) {
        printf("%s: denied (%s)\n", what, error_names[ret[4]]);
        return;
    }
    int32_t stream = *(int32_t *)(ret + 4);
    // result<option<ip-address>, error-code>: tag at 0, error at 2.
    for (;;) {
        memset(ret, 0, sizeof ret);
        resolve_next_address(stream, ret);
        if (ret[0] == 0) {
            allowed++;
            printf("%s: ALLOWED\n", what);
            return;
        }
        if (ret[2] != ERROR_WOULD_BLOCK) {
            printf("%s: denied (%s)\n", what, error_names[ret[2]]);
            return;
        }
        pollable_block(resolve_subscribe(stream));
    }
}

// An IPv4 socket address "a.b.c.d", flattened as ip-socket-address's ipv4
// case: port, then the four octets.
static int parse_ipv4(const char *text, int32_t octets[4]) {
    unsigned a, b, c, d;
    if (sscanf(text, "%u.%u.%u.%u", &a, &b, &c, &d) != 4) return 0;
    octets[0] = a, octets[1] = b, octets[2] = c, octets[3] = d;
    return 1;
}

static int32_t new_tcp_socket(void) {
    _Alignas(8) uint8_t ret[16];
    create_tcp_socket(IPV4, ret);
    if (ret[0] != 0) {
        printf("tcp socket: denied (%s)\n", error_names[ret[4]]);
        return -1;
    }
    return *(int32_t *)(ret + 4);
}

// result<_, error-code>: tag at 0, error at 1.
static int connect_to(int32_t network, const char *address, int32_t port) {
    _Alignas(8) uint8_t ret[16];
    int32_t o[4];
    if (!parse_ipv4(address, o)) return printf("bad address %s\n", address), 2;
    int32_t socket = new_tcp_socket();
    if (socket < 0) return 1;
    start_connect(socket, network, IPV4, port, o[0], o[1], o[2], o[3], 0, 0, 0, 0, 0, 0, ret);
    if (ret[0] != 0) return printf("connect %s:%d: denied (%s)\n", address, port, error_names[ret[1]]), 1;
    for (;;) {
        memset(ret, 0, sizeof ret);
        finish_connect(socket, ret);
        if (ret[0] == 0) return printf("connect %s:%d: connected\n", address, port), 0;
        if (ret[4] != ERROR_WOULD_BLOCK)
            return printf("connect %s:%d: failed (%s)\n", address, port, error_names[ret[4]]), 1;
        pollable_block(tcp_subscribe(socket));
    }
}

static int bind_to(int32_t network, int32_t port) {
    _Alignas(8) uint8_t ret[16];
    int32_t socket = new_tcp_socket();
    if (socket < 0) return 1;
    start_bind(socket, network, IPV4, port, 127, 0, 0, 1, 0, 0, 0, 0, 0, 0, ret);
    if (ret[0] != 0) return printf("bind %d: denied (%s)\n", port, error_names[ret[1]]), 1;
    finish_bind(socket, ret);
    if (ret[0] != 0) return printf("bind %d: failed (%s)\n", port, error_names[ret[1]]), 1;
    return printf("bind %d: bound\n", port), 0;
}

static int serve(int32_t network, int32_t port) {
    _Alignas(8) uint8_t ret[16];
    int32_t socket = new_tcp_socket();
    if (socket < 0) return 1;
    start_bind(socket, network, IPV4, port, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, ret);
    if (ret[0] != 0) return printf("bind %d: denied (%s)\n", port, error_names[ret[1]]), 1;
    finish_bind(socket, ret);
    start_listen(socket, ret);
    if (ret[0] != 0) return printf("listen %d: failed (%s)\n", port, error_names[ret[1]]), 1;
    for (;;) {
        finish_listen(socket, ret);
        if (ret[0] == 0) break;
        if (ret[1] != ERROR_WOULD_BLOCK) return printf("listen %d: failed (%s)\n", port, error_names[ret[1]]), 1;
        pollable_block(tcp_subscribe(socket));
    }
    printf("listening on %d\n", port);
    fflush(stdout);
    char line[64];
    int length = snprintf(line, sizeof line, "hello from netprobe on port %d\n", port);
    for (;;) {
        // result<tuple<tcp-socket, input-stream, output-stream>, error-code>
        _Alignas(8) uint8_t accepted[16];
        tcp_accept(socket, accepted);
        if (accepted[0] != 0) {
            if (accepted[4] != ERROR_WOULD_BLOCK) return printf("accept: failed (%s)\n", error_names[accepted[4]]), 1;
            pollable_block(tcp_subscribe(socket));
            continue;
        }
        int32_t *handles = (int32_t *)(accepted + 4);
        blocking_write_and_flush(handles[2], line, length, ret);
        drop_input_stream(handles[1]);
        drop_output_stream(handles[2]);
        drop_tcp_socket(handles[0]);
    }
}

int main(int argc, char **argv) {
    int32_t network = instance_network();
    if (argc == 4 && strcmp(argv[1], "connect") == 0) return connect_to(network, argv[2], atoi(argv[3]));
    if (argc == 3 && strcmp(argv[1], "bind") == 0) return bind_to(network, atoi(argv[2]));
    if (argc == 3 && strcmp(argv[1], "serve") == 0) return serve(network, atoi(argv[2]));
    if (argc == 3 && strcmp(argv[1], "resolve") == 0) return lookup(network, argv[2]), allowed ? 0 : 1;
    _Alignas(8) uint8_t ret[16];
    create_tcp_socket(IPV4, ret);
    report_socket("tcp socket (ipv4)", ret);
    create_tcp_socket(IPV6, ret);
    report_socket("tcp socket (ipv6)", ret);
    create_udp_socket(IPV4, ret);
    report_socket("udp socket (ipv4)", ret);
    lookup(network, "localhost");
    lookup(network, "example.com");
    return allowed;
}
