// probe: one test guest with many modes, so the tests compile one program.
//   probe out N      write N bytes of every byte value 0..255 to stdout
//   probe err N      the same to stderr
//   probe cat        copy stdin to stdout
//   probe show FILE  copy FILE to stdout
//   probe write FILE TEXT  write TEXT to FILE (created or truncated)
//   probe args       print each argument, bracketed, one a line
//   probe env        print the environment, one a line
//   probe cwd        print the working directory
//   probe alloc MB   allocate and touch 1 MiB at a time up to MB; exit 3 when
//                    an allocation fails
//   probe spin       loop forever without calling the host
//   probe sleep S    sleep S seconds in the host
//   probe tick N     print "tick I" to stdout and "tock I" to stderr, I from 1
//                    to N, a tenth of a second apart; N 0 ticks forever
//   probe lines N MS print "line I ..." (I zero-padded; 101 bytes a line)
//                    to stdout, I from 1 to N (N 0: forever), as fast as it
//                    can, pausing MS milliseconds after every 100 lines
//   probe tty        print which of stdin, stdout, stderr are terminals: "010"
//   probe trap       execute `unreachable`
//   probe exit N     exit with N
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

// Buffers are static: wasm-ld gives the stack 64 KiB, and a frame that
// outgrows it writes over stdio's own buffers.
// Allocations are kept here so the compiler cannot elide them.
char *volatile kept[1 << 16];

static int write_pattern(FILE *f, long n) {
    unsigned char block[4096];
    for (int i = 0; i < (int)sizeof block; i++) block[i] = (unsigned char)i;
    while (n > 0) {
        size_t chunk = n < (long)sizeof block ? (size_t)n : sizeof block;
        if (fwrite(block, 1, chunk, f) != chunk) return 1;
        n -= chunk;
    }
    return fflush(f) != 0;
}

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "";
    const char *arg = argc > 2 ? argv[2] : "0";
    if (!strcmp(mode, "out")) return write_pattern(stdout, atol(arg));
    if (!strcmp(mode, "err")) return write_pattern(stderr, atol(arg));
    if (!strcmp(mode, "cat")) {
        static char buf[65536];
        size_t n;
        while ((n = fread(buf, 1, sizeof buf, stdin)) > 0) fwrite(buf, 1, n, stdout);
        return 0;
    }
    if (!strcmp(mode, "show")) {
        FILE *f = fopen(arg, "rb");
        if (!f) return perror(arg), 1;
        static char buf[65536];
        size_t n;
        while ((n = fread(buf, 1, sizeof buf, f)) > 0) fwrite(buf, 1, n, stdout);
        return 0;
    }
    if (!strcmp(mode, "write")) {
        FILE *f = fopen(arg, "wb");
        if (!f) return perror(arg), 1;
        fputs(argc > 3 ? argv[3] : "", f);
        return fclose(f) != 0 ? (perror(arg), 1) : 0;
    }
    if (!strcmp(mode, "args")) {
        for (int i = 0; i < argc; i++) printf("[%s]\n", argv[i]);
        return 0;
    }
    if (!strcmp(mode, "env")) {
        for (char **e = environ; *e; e++) printf("%s\n", *e);
        return 0;
    }
    if (!strcmp(mode, "cwd")) {
        char buf[512];
        printf("%s\n", getcwd(buf, sizeof buf) ? buf : "(none)");
        return 0;
    }
    if (!strcmp(mode, "alloc")) {
        long want = atol(arg), got = 0;
        for (; got < want && got < (long)(sizeof kept / sizeof *kept); got++) {
            char *p = malloc(1 << 20);
            if (!p) {
                printf("allocation failed after %ld MiB\n", got);
                return 3;
            }
            memset(p, 1, 1 << 20);
            kept[got] = p;
        }
        printf("allocated %ld MiB\n", got);
        return 0;
    }
    if (!strcmp(mode, "spin")) {
        volatile unsigned long i = 0;
        for (;;) i++;
    }
    if (!strcmp(mode, "sleep")) {
        sleep((unsigned)atoi(arg));
        return 0;
    }
    if (!strcmp(mode, "tick")) {
        long n = atol(arg);
        for (long i = 1; n == 0 || i <= n; i++) {
            printf("tick %ld\n", i);
            fflush(stdout);
            fprintf(stderr, "tock %ld\n", i);
            usleep(100000);
        }
        return 0;
    }
    if (!strcmp(mode, "lines")) {
        long n = atol(arg), pause = argc > 3 ? atol(argv[3]) : 0;
        for (long i = 1; n == 0 || i <= n; i++) {
            printf("line %010ld %.84s\n", i, "................................................................................................");
            if (pause > 0 && i % 100 == 0) {
                fflush(stdout);
                usleep((useconds_t)pause * 1000);
            }
        }
        return 0;
    }
    if (!strcmp(mode, "tty")) {
        printf("%d%d%d\n", isatty(0), isatty(1), isatty(2));
        return 0;
    }
    if (!strcmp(mode, "trap")) __builtin_trap();
    if (!strcmp(mode, "exit")) exit(atoi(arg));
    fprintf(stderr, "probe: unknown mode '%s'\n", mode);
    return 2;
}
