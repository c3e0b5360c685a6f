// hello: prints a greeting (from $GREETING), its arguments, and exits with
// the code given by `--exit N`.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
    const char *greeting = getenv("GREETING");
    printf("%s from wbox!\n", greeting ? greeting : "Hello");
    int code = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--exit") == 0 && i + 1 < argc) {
            code = atoi(argv[++i]);
            continue;
        }
        printf("arg %d: %s\n", i, argv[i]);
    }
    return code;
}
