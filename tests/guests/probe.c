// probe: one test guest with many modes, so the tests compile one program.
//   probe out N      write N bytes of every byte value 0..255 to stdout
//   probe err N      the same to stderr
//   probe cat        copy stdin to stdout as it comes
//   probe show FILE  copy FILE to stdout
//   probe write FILE TEXT  write TEXT to FILE (created or truncated)
//   probe link TARGET PATH  make a symlink PATH that points at TARGET
//   probe args       print each argument, bracketed, one a line
//   probe env        print the environment, one a line
//   probe cwd        print the working directory
//   probe ls DIR     print the names in DIR, sorted, one a line
//   probe alloc MB [S]  allocate and touch 1 MiB at a time up to MB; exit 3
//                    when an allocation fails; then sleep S seconds (none
//                    unless given)
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
//
// Built with -DHONOUR_INITIAL_CWD (as a component only: see build.sh), it
// first moves to the working directory WASI 0.2 gives it (wasi:cli's
// initial-cwd), which wasi-libc itself never reads. It is linked as a
// reactor with its own _start: a command module's exports, cabi_realloc
// among them, would run the constructors (which call the host) again from
// inside the host's call.
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef HONOUR_INITIAL_CWD
__attribute__((import_module("wasi:cli/environment@0.2.12"), import_name("initial-cwd")))
extern void initial_cwd(void *ret);

// The canonical ABI allocates the returned string through this export.
__attribute__((export_name("cabi_realloc")))
void *cabi_realloc(void *ptr, size_t old_size, size_t align, size_t new_size) {
    (void)old_size, (void)align;
    return realloc(ptr, new_size);
}

int __main_void(void);
static void enter_initial_cwd(void);

__attribute__((export_name("_start"))) void start(void) {
    enter_initial_cwd();
    exit(__main_void());
}

static void enter_initial_cwd(void) {
    // option<string>: tag at 0, pointer at 4, length at 8.
    _Alignas(4) uint8_t ret[12];
    initial_cwd(ret);
    if (ret[0] != 1) return;
    char *text;
    size_t len;
    memcpy(&text, ret + 4, sizeof text);
    memcpy(&len, ret + 8, sizeof len);
    char *path = strndup(text, len);
    if (path && chdir(path) != 0) perror(path);
    free(path);
    free(text);
}
#endif

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
        // Unbuffered: each line typed comes back at once.
        static char buf[65536];
        ssize_t n;
        while ((n = read(0, buf, sizeof buf)) > 0) {
            for (ssize_t done = 0, w; done < n; done += w)
                if ((w = write(1, buf + done, (size_t)(n - done))) < 0) return 1;
        }
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
    if (!strcmp(mode, "link")) {
        if (argc < 4) return fputs("probe link TARGET PATH\n", stderr), 2;
        return symlink(arg, argv[3]) != 0 ? (perror(argv[3]), 1) : 0;
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
    if (!strcmp(mode, "ls")) {
        struct dirent **names;
        int n = scandir(arg, &names, NULL, alphasort);
        if (n < 0) return perror(arg), 1;
        for (int i = 0; i < n; i++) {
            if (strcmp(names[i]->d_name, ".") && strcmp(names[i]->d_name, "..")) printf("%s\n", names[i]->d_name);
        }
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
        fflush(stdout);
        if (argc > 3) sleep((unsigned)atoi(argv[3]));
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
