ln tree/first.txt tree/second.txt
