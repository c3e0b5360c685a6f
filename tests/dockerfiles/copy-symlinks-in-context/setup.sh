ln -s target.txt tree/relative-link
ln -s /etc/passwd tree/absolute-link
ln -s missing tree/dangling-link
ln -s sub tree/dir-link
ln -s ../target.txt tree/sub/up-link
