tar --owner=0 --group=0 -cf etc.tar -C payload etc
rm -r payload
