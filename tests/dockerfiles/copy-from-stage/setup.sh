chmod 0640 hello.txt
