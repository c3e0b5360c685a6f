chmod 0600 secret.txt
chmod 0750 tool.sh
chmod 4755 setuid-tool
chmod 0040 group-only
chmod 1777 sticky
chmod 2755 setgid
