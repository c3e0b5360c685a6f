chmod 0600 app.sh
chmod 0777 file.txt
