// wc: counts the lines, words and bytes of a file (or of stdin, for "-") and
// prints them; with a second argument, also writes them to that file.
//
//   wbox run -v ./data:/data:ro -v ./out:/out wc.wasm /data/in.txt /out/count.txt
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv) {
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: wc FILE|- [OUT]\n");
        return 2;
    }
    FILE *in = strcmp(argv[1], "-") == 0 ? stdin : fopen(argv[1], "rb");
    if (!in) {
        fprintf(stderr, "wc: %s: %s\n", argv[1], strerror(errno));
        return 1;
    }
    unsigned long lines = 0, words = 0, bytes = 0;
    int c, in_word = 0;
    while ((c = getc(in)) != EOF) {
        bytes++;
        if (c == '\n') lines++;
        if (isspace(c)) {
            in_word = 0;
        } else if (!in_word) {
            in_word = 1;
            words++;
        }
    }
    char result[128];
    snprintf(result, sizeof result, "%lu %lu %lu %s\n", lines, words, bytes, argv[1]);
    fputs(result, stdout);
    if (argc == 3) {
        FILE *out = fopen(argv[2], "w");
        if (!out || fputs(result, out) < 0 || fclose(out) != 0) {
            fprintf(stderr, "wc: %s: %s\n", argv[2], strerror(errno));
            return 1;
        }
    }
    return 0;
}
