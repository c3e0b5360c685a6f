# Docker 20.10 has no heredocs: the same image, written without them. A
# script with #! runs as a file of its own under /dev/pipes (the reference).
FROM @BUSYBOX@
RUN echo one > /lines && echo two >> /lines
RUN echo indented >> /lines
RUN echo "run as /dev/pipes/EOF" > /script
