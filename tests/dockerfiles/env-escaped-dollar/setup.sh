echo 'a file named $FOO' > '$FOO'
