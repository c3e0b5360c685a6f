// netprobe: tries the network through WASI 0.2 sockets and prints what each
// attempt got. Built as a component (examples/build.sh); the imports below
// are the canonical ABI of the interfaces in netprobe.wit.
#include <stdint.h>
#include <stdio.h>
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

int main(void) {
    _Alignas(8) uint8_t ret[16];
    int32_t network = instance_network();
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
