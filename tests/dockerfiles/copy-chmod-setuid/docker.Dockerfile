# Docker 20.10 drops the setuid, setgid and sticky digits of --chmod (it builds COPY --chmod=4755 as 0755):
# the image the reference describes, made with chmod in a busybox stage and copied, modes and all.
FROM @BUSYBOX@ AS modes
COPY app.sh /setuid
COPY app.sh /setgid
COPY app.sh /sticky
RUN chmod 4755 /setuid && chmod 2711 /setgid && chmod 1777 /sticky

FROM scratch
COPY --from=modes /setuid /setuid
COPY --from=modes /setgid /setgid
COPY --from=modes /sticky /sticky
