chmod 0711 tree
chmod 0700 tree/private
chmod 0775 tree/shared
chmod 0600 tree/private/secret.txt
chmod 0664 tree/shared/open.txt
