chmod 0600 payload/hello.txt
tar --owner=1000 --group=1000 -cf plain.tar -C payload .
tar --owner=0 --group=0 -czf packed.tar.gz -C payload .
tar --owner=0 --group=0 -cJf packed.tar.xz -C payload .
tar --owner=0 --group=0 -cjf packed.tar.bz2 -C payload .
rm -r payload
