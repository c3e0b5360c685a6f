// escape: tries to get out of its grants and prints what each attempt got.
// Run it with a read-write grant at DIR and a read-only grant at RO:
//
//   wbox run -v ./rw:/rw -v ./ro:/ro:ro escape.wasm /rw /ro
//
// DIR may hold symlinks that point out of the grant: `outside` (absolute) and
// `outside-rel` (relative); RO should hold a file `existing`. Every attempt
// should print "denied"; the exit code is the number of attempts that were
// allowed.
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int allowed;
static char path[512], path2[512];

static void report(const char *what, int ok) {
    if (ok) {
        allowed++;
        printf("%s: ALLOWED\n", what);
    } else {
        printf("%s: denied (%s)\n", what, strerror(errno));
    }
}

static void try_read(const char *what, const char *file) {
    char buf[64];
    int fd = open(file, O_RDONLY);
    int ok = fd >= 0 && read(fd, buf, sizeof buf) >= 0;
    if (fd >= 0) close(fd);
    report(what, ok);
}

static void try_write(const char *what, const char *file, int flags) {
    int fd = open(file, O_WRONLY | flags, 0644);
    int ok = fd >= 0 && write(fd, "escaped\n", 8) == 8;
    if (fd >= 0) close(fd);
    report(what, ok);
}

int main(int argc, char **argv) {
    const char *dir = argc > 1 ? argv[1] : "/rw";
    const char *ro = argc > 2 ? argv[2] : "/ro";

    try_read("read /etc/passwd", "/etc/passwd");
    snprintf(path, sizeof path, "%s/../../../../../etc/passwd", dir);
    try_read("read DIR/../../../../../etc/passwd", path);
    snprintf(path, sizeof path, "%s/outside", dir);
    try_read("read through absolute symlink DIR/outside", path);
    try_write("write through absolute symlink DIR/outside", path, O_TRUNC);
    snprintf(path, sizeof path, "%s/outside-rel", dir);
    try_read("read through relative symlink DIR/outside-rel", path);
    try_write("write through relative symlink DIR/outside-rel", path, O_TRUNC);

    snprintf(path, sizeof path, "%s/made-link", dir);
    unlink(path);
    if (symlink("/etc/passwd", path) == 0) {
        try_read("read through a new symlink to /etc/passwd", path);
    } else {
        report("make a symlink to /etc/passwd", 0);
    }
    snprintf(path, sizeof path, "%s/made-link-up", dir);
    unlink(path);
    if (symlink("../../../../../etc/passwd", path) == 0) {
        try_read("read through a new symlink to ../../../../../etc/passwd", path);
    } else {
        report("make a symlink to ../../../../../etc/passwd", 0);
    }

    snprintf(path, sizeof path, "%s/existing", ro);
    try_write("write RO/existing", path, O_TRUNC);
    try_write("append to RO/existing", path, O_APPEND);
    errno = 0;
    report("unlink RO/existing", unlink(path) == 0);
    snprintf(path2, sizeof path2, "%s/renamed", ro);
    report("rename RO/existing", rename(path, path2) == 0);
    report("set times of RO/existing", utimensat(AT_FDCWD, path, NULL, 0) == 0);
    snprintf(path, sizeof path, "%s/new", ro);
    try_write("create RO/new", path, O_CREAT | O_EXCL);
    snprintf(path, sizeof path, "%s/newdir", ro);
    report("mkdir RO/newdir", mkdir(path, 0755) == 0);

    DIR *root = opendir("/");
    report("list /", root != NULL);
    if (root) closedir(root);

    return allowed;
}
