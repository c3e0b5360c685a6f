# Docker 20.10 has no heredocs: the same files, copied from the context.
FROM @BUSYBOX@
COPY docker-files/greeting.txt docker-files/raw.txt /texts/
COPY --chmod=755 docker-files/hi /usr/local/bin/hi
